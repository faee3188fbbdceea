// The web pages: server-rendered HTML at the canonical URLs, for neighbours who use a browser.
// One encapsulated plugin, so its form parser, security headers and HTML error pages stay out of the API.
import { readFileSync } from 'node:fs';
import formbody from '@fastify/formbody';
import type { FastifyError, FastifyPluginAsync } from 'fastify';
import { sessionCookie } from '../accounts/authentication.ts';
import { viewerFromToken } from '../accounts/domain.ts';
import { isDatabaseUnavailable } from '../availability.ts';
import { AppError } from '../errors.ts';
import accountPages from './account-pages.ts';
import { checkCsrf } from './csrf.ts';
import domainBlockPages from './domain-block-pages.ts';
import homePages from './home-pages.ts';
import { errorPage } from './layout.ts';
import moderationPages from './moderation-pages.ts';
import neighbourhoodPages from './neighbourhood-pages.ts';
import oauthPages from './oauth-pages.ts';
import premoderationPages from './premoderation-pages.ts';
import { contentSecurityPolicy, context, send } from './respond.ts';
import threadPages from './thread-pages.ts';

const securityHeaders = {
  'content-security-policy': contentSecurityPolicy(),
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'same-origin',
  'x-frame-options': 'DENY',
  'permissions-policy': 'geolocation=(self), camera=(), microphone=()',
};

const staticFiles: Record<string, { type: string; body: Buffer }> = Object.fromEntries(
  [['site.css', 'text/css; charset=utf-8'], ['site.js', 'text/javascript; charset=utf-8']].map(([name, type]) => [
    name,
    { type: type!, body: readFileSync(new URL(`./static/${name}`, import.meta.url)) },
  ]),
);

const pages: FastifyPluginAsync = async (app) => {
  await app.register(formbody, { bodyLimit: app.config.bodyLimit });

  // Pages are for people; the OpenAPI document describes the JSON API only.
  app.addHook('onRoute', (route) => {
    route.schema = { ...route.schema, hide: true };
  });

  app.addHook('onSend', async (_request, reply, payload) => {
    // A route may have set a stricter value (a page showing a secret URL sends no Referer at all).
    for (const [name, value] of Object.entries(securityHeaders)) if (!reply.hasHeader(name)) reply.header(name, value);
    return payload;
  });

  // Every form post must carry its CSRF token; only then does the session cookie count as the viewer,
  // since the shared authentication hook ignores cookies on form bodies.
  app.addHook('preHandler', async (request) => {
    if (request.method !== 'POST') return;
    checkCsrf(request, (request.body as { _csrf?: string } | undefined)?._csrf);
    const session = request.cookies[sessionCookie];
    if (!request.viewer && session) request.viewer = await viewerFromToken(app.db, session);
  });

  app.setErrorHandler((error: FastifyError | AppError, request, reply) => {
    let status = 500;
    let message = 'Something went wrong on our side; it has been logged.';
    if (error instanceof AppError) {
      status = error.status;
      message = error.message;
      reply.headers(error.headers);
    } else if (isDatabaseUnavailable(error)) {
      status = 503;
      message = 'The database is not reachable; try again shortly.';
      reply.header('retry-after', '5');
    } else if ('validation' in error && error.validation) {
      status = 400;
      message = 'Some of what was sent is not in a shape this page accepts.';
    } else if (error.statusCode && error.statusCode >= 400 && error.statusCode < 500) {
      status = error.statusCode;
      message = error.statusCode === 413 ? 'That is more text than this form accepts.' : 'This request could not be read.';
    }
    if (status === 503) request.log.warn({ reason: error.message }, 'page refused: unavailable');
    else if (status >= 500) request.log.error({ err: error }, 'page failed');
    else request.log.info({ status, reason: error.message }, 'page request refused');
    if (status === 401 && request.method === 'GET') return reply.redirect(`/login?next=${encodeURIComponent(request.url)}`, 303);
    return send(reply, errorPage(context(request, reply), status, message));
  });

  app.get<{ Params: { file: string } }>('/static/:file', {
    schema: { params: { type: 'object', required: ['file'], properties: { file: { type: 'string', enum: Object.keys(staticFiles) } } } },
  }, async (request, reply) => {
    const file = staticFiles[request.params.file]!;
    return reply.type(file.type).header('cache-control', 'public, max-age=3600').send(file.body);
  });

  await app.register(accountPages);
  await app.register(neighbourhoodPages);
  await app.register(threadPages);
  await app.register(homePages);
  await app.register(moderationPages);
  await app.register(oauthPages);
  await app.register(premoderationPages);
  await app.register(domainBlockPages);
};

export default pages;
