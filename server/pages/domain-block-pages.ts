// Blocked servers from the web, for the instance's staff: list, block, unblock, import and the allowlist.
// Each form calls the same domain function as the API, which checks who is acting.
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { Viewer } from '../accounts/domain.ts';
import * as blocks from '../domain-blocks/domain.ts';
import { badRequest } from '../errors.ts';
import { requireViewer } from '../http.ts';
import { domainBlocksPage } from './domain-block-views.ts';
import { attempt, context, formBody, seeOther, send, text } from './respond.ts';

const domainParams = { type: 'object', required: ['domain'], properties: { domain: text(253) } } as const;

/**
 * The fields of a multipart/form-data body, uploaded files as their text: enough for the CSV import form,
 * so it works without JavaScript.
 */
export function multipartFields(body: string, contentType: string): Record<string, string> {
  const boundary = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
  if (!boundary) throw badRequest('A multipart form needs its boundary.', 'invalid_request');
  const fields: Record<string, string> = {};
  for (const part of body.split(`--${boundary[1] ?? boundary[2]}`)) {
    const split = part.indexOf('\r\n\r\n');
    if (split < 0) continue;
    const name = /content-disposition:[^\r\n]*\bname="([^"]*)"/i.exec(part.slice(0, split))?.[1];
    if (name) fields[name] = part.slice(split + 4).replace(/\r\n$/, '');
  }
  return fields;
}

const domainBlockPages: FastifyPluginAsync = async (app) => {
  app.addContentTypeParser('multipart/form-data', { parseAs: 'string', bodyLimit: app.config.bodyLimit }, (request, body, done) => {
    try {
      done(null, multipartFields(body as string, String(request.headers['content-type'])));
    } catch (error) {
      done(error as Error, undefined);
    }
  });

  async function show(request: FastifyRequest, reply: FastifyReply, outcome: { error?: { status: number; message: string }; imported?: number } = {}) {
    const viewer = requireViewer(request.viewer);
    return send(reply, domainBlocksPage(context(request, reply), {
      blocks: await blocks.domainBlocks(app.db, viewer),
      allows: await blocks.domainAllows(app.db, viewer),
      limitedFederation: app.config.limitedFederation,
      error: outcome.error?.message,
      status: outcome.error?.status,
      imported: outcome.imported,
    }));
  }

  /** Runs a staff action; a refusal for who is acting is the page's error, a mistyped domain is shown with the forms. */
  async function act(request: FastifyRequest, reply: FastifyReply, run: (viewer: Viewer) => Promise<unknown>) {
    const done = await attempt(() => run(requireViewer(request.viewer)));
    if (done.error?.status === 401 || done.error?.status === 403) throw done.error;
    if (done.error) return show(request, reply, { error: done.error });
    request.log.info({ url: request.url }, 'domain blocks changed from the web');
    return seeOther(reply, '/admin/domain-blocks');
  }

  app.get('/admin/domain-blocks', async (request, reply) => show(request, reply));

  app.post<{ Body: { domain: string; severity: 'suspend' | 'silence' | 'noop'; publicComment?: string } }>('/admin/domain-blocks', {
    schema: { body: formBody({ domain: text(253), severity: { type: 'string', enum: ['suspend', 'silence', 'noop'] }, publicComment: text(1000) }, ['domain', 'severity']) },
  }, async (request, reply) => act(request, reply, (viewer) => blocks.blockDomain(app.db, viewer, request.body)));

  app.post<{ Params: { domain: string } }>('/admin/domain-blocks/:domain/remove', {
    schema: { params: domainParams, body: formBody({}) },
  }, async (request, reply) => act(request, reply, (viewer) => blocks.unblockDomain(app.db, viewer, request.params.domain)));

  app.post<{ Body: { csv?: string; file?: string } }>('/admin/domain-blocks/import', {
    schema: { body: formBody({ csv: text(1_000_000), file: text(1_000_000) }) },
  }, async (request, reply) => {
    const viewer = requireViewer(request.viewer);
    const csv = [request.body.file, request.body.csv].filter((part) => part?.trim()).join('\n');
    const imported = await attempt(() => {
      if (!csv) throw badRequest('Choose a CSV file or paste one.', 'invalid_csv');
      return blocks.importCsv(app.db, viewer, csv);
    });
    if (imported.error?.status === 401 || imported.error?.status === 403) throw imported.error;
    request.log.info({ imported: imported.value, error: imported.error?.message }, 'domain blocks imported from the web');
    return show(request, reply, imported.error ? { error: imported.error } : { imported: imported.value });
  });

  app.post<{ Body: { allow: string } }>('/admin/domain-allows', {
    schema: { body: formBody({ allow: text(253) }, ['allow']) },
  }, async (request, reply) => act(request, reply, (viewer) => blocks.allowDomain(app.db, viewer, request.body.allow)));

  app.post<{ Params: { domain: string } }>('/admin/domain-allows/:domain/remove', {
    schema: { params: domainParams, body: formBody({}) },
  }, async (request, reply) => act(request, reply, (viewer) => blocks.disallowDomain(app.db, viewer, request.params.domain)));
};

export default domainBlockPages;
