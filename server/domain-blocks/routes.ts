// HTTP routes for blocked servers (instance staff): list, block, unblock, and CSV in Mastodon's format.
import type { FastifyPluginAsync } from 'fastify';
import { errorSchema } from '../errors.ts';
import { dateTime, requireViewer } from '../http.ts';
import * as blocks from './domain.ts';

const errors = { 400: errorSchema, 401: errorSchema, 403: errorSchema, 404: errorSchema, 409: errorSchema };
const blockProperties = {
  domain: { type: 'string', minLength: 1, maxLength: 253 },
  severity: { type: 'string', enum: ['silence', 'suspend', 'noop'] },
  rejectMedia: { type: 'boolean' },
  rejectReports: { type: 'boolean' },
  publicComment: { type: 'string', maxLength: 1000 },
  obfuscate: { type: 'boolean' },
} as const;
const blockSchema = { type: 'object', properties: { ...blockProperties, createdAt: dateTime } } as const;

const present = (b: blocks.DomainBlock) => ({
  domain: b.domain,
  severity: b.severity,
  rejectMedia: b.reject_media,
  rejectReports: b.reject_reports,
  publicComment: b.public_comment,
  obfuscate: b.obfuscate,
  createdAt: b.created_at,
});

const domainBlockRoutes: FastifyPluginAsync = async (app) => {
  // The CSV arrives as text/csv; the API otherwise refuses anything but JSON.
  app.addContentTypeParser('text/csv', { parseAs: 'string' }, (_request, body, done) => done(null, body));

  app.get('/admin/domain-blocks', {
    schema: { summary: 'Blocked servers (instance staff)', response: { 200: { type: 'object', properties: { blocks: { type: 'array', items: blockSchema } } }, ...errors } },
  }, async (request) => ({ blocks: (await blocks.domainBlocks(app.db, requireViewer(request.viewer))).map(present) }));

  app.post<{ Body: blocks.BlockInput }>('/admin/domain-blocks', {
    schema: {
      summary: 'Block a server: its activities are refused and nothing is sent to it (instance staff)',
      body: { type: 'object', required: ['domain', 'severity'], additionalProperties: false, properties: blockProperties },
      response: { 204: { type: 'null' }, ...errors },
    },
  }, async (request, reply) => {
    await blocks.blockDomain(app.db, requireViewer(request.viewer), request.body);
    request.log.info({ domain: request.body.domain, severity: request.body.severity }, 'domain blocked');
    return reply.status(204).send();
  });

  app.delete<{ Params: { domain: string } }>('/admin/domain-blocks/:domain', {
    schema: {
      summary: 'Lift a domain block (instance staff)',
      params: { type: 'object', required: ['domain'], properties: { domain: { type: 'string', minLength: 1, maxLength: 253 } } },
      response: { 204: { type: 'null' }, ...errors },
    },
  }, async (request, reply) => {
    await blocks.unblockDomain(app.db, requireViewer(request.viewer), request.params.domain);
    return reply.status(204).send();
  });

  app.get('/admin/domain-allows', {
    schema: {
      summary: 'Servers federated with in allowlist mode (instance staff)',
      response: { 200: { type: 'object', properties: { domains: { type: 'array', items: { type: 'string' } } } }, ...errors },
    },
  }, async (request) => ({ domains: (await blocks.domainAllows(app.db, requireViewer(request.viewer))).map((a) => a.domain) }));

  app.post<{ Body: { domain: string } }>('/admin/domain-allows', {
    schema: {
      summary: 'Add a server to the allowlist (instance staff)',
      body: { type: 'object', required: ['domain'], additionalProperties: false, properties: { domain: blockProperties.domain } },
      response: { 204: { type: 'null' }, ...errors },
    },
  }, async (request, reply) => {
    await blocks.allowDomain(app.db, requireViewer(request.viewer), request.body.domain);
    return reply.status(204).send();
  });

  app.delete<{ Params: { domain: string } }>('/admin/domain-allows/:domain', {
    schema: {
      summary: 'Take a server off the allowlist (instance staff)',
      params: { type: 'object', required: ['domain'], properties: { domain: blockProperties.domain } },
      response: { 204: { type: 'null' }, ...errors },
    },
  }, async (request, reply) => {
    await blocks.disallowDomain(app.db, requireViewer(request.viewer), request.params.domain);
    return reply.status(204).send();
  });

  app.get('/admin/domain-blocks.csv', {
    schema: { summary: 'Export the domain blocks as Mastodon CSV (instance staff)', response: { 200: { type: 'string' }, ...errors } },
  }, async (request, reply) =>
    reply.type('text/csv; charset=utf-8').header('content-disposition', 'attachment; filename="domain_blocks.csv"').send(await blocks.exportCsv(app.db, requireViewer(request.viewer))));

  app.post<{ Body: string }>('/admin/domain-blocks.csv', {
    schema: {
      summary: 'Import domain blocks from Mastodon CSV (instance staff)',
      body: { type: 'string', maxLength: 1_000_000 },
      response: { 200: { type: 'object', properties: { imported: { type: 'integer' } } }, ...errors },
    },
  }, async (request) => ({ imported: await blocks.importCsv(app.db, requireViewer(request.viewer), request.body) }));
};

export default domainBlockRoutes;
