// Builds the HTTP application from its parts; main.ts and the tests both start here.
import cookie from '@fastify/cookie';
import swagger from '@fastify/swagger';
import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest, LogController } from 'fastify';
import { sql } from 'kysely';
import federation from '../federation/index.ts';
import { remoteNeighbourhoods } from '../federation/groups.ts';
import authentication from './accounts/authentication.ts';
import accountRoutes from './accounts/routes.ts';
import { DatabaseHealth } from './availability.ts';
import type { Config } from './config.ts';
import type { Database } from './database.ts';
import domainBlockRoutes from './domain-blocks/routes.ts';
import { AppError, badRequest, errorSchema, installErrorHandling } from './errors.ts';
import { containsNul } from './http.ts';
import mastodonRoutes from './mastodon/routes.ts';
import moderationRoutes from './moderation/routes.ts';
import neighbourhoodRoutes from './neighbourhoods/routes.ts';
import oauthRoutes from './oauth/routes.ts';
import postingLimits from './posting-limits.ts';
import premoderationRoutes from './premoderation/routes.ts';
import pages from './pages/index.ts';
import remoteFollowRoutes from './remote-follows/routes.ts';
import threadRoutes from './threads/routes.ts';
import networkWeaving from './weaving.ts';

export interface AppOptions {
  config: Config;
  db: Database;
  logger: FastifyBaseLogger | false;
}

import { version } from './version.ts';

/**
 * Bodies are checked strictly (a number is not a string); query strings and paths arrive as text,
 * so they are coerced to the types their schemas name.
 */
function validators() {
  const make = (coerceTypes: boolean | 'array') => {
    const ajv = new Ajv.default({ coerceTypes, useDefaults: true, removeAdditional: false, allErrors: false, strict: false });
    addFormats.default(ajv);
    return ajv;
  };
  const strict = make(false);
  const coercing = make('array');
  return ({ schema, httpPart }: { schema: object; httpPart?: string }) =>
    (httpPart === 'body' ? strict : coercing).compile(schema) as (data: unknown) => boolean;
}

const unavailable = (code: string) =>
  new AppError(503, code, 'The database is not reachable; try again shortly.', { 'retry-after': '5' });

declare module 'fastify' {
  interface FastifyInstance {
    databaseHealth: DatabaseHealth;
  }
}

/** One log line per request, written once it is answered, instead of Fastify's two (received, answered). */
class OneLinePerRequest extends LogController {
  override incomingRequest() {}
  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply) {
    if (error) reply.log.error({ req: request, res: reply, err: error, responseTime: reply.elapsedTime }, 'request errored');
    else reply.log.info({ req: request, res: reply, responseTime: reply.elapsedTime }, 'request completed');
  }
}

export async function buildApp({ config, db, logger }: AppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: logger || undefined,
    logger: logger ? undefined : false,
    bodyLimit: config.bodyLimit,
    requestIdHeader: 'x-request-id',
    trustProxy: true,
    routerOptions: { ignoreTrailingSlash: true },
    return503OnClosing: true,
    logController: new OneLinePerRequest(),
  });
  app.setValidatorCompiler(validators());
  // The API speaks JSON; anything else is refused with 415 rather than half-parsed.
  app.removeContentTypeParser('text/plain');
  app.decorate('db', db);
  app.decorate('config', config);
  installErrorHandling(app);
  const health = new DatabaseHealth(db, { onChange: (up) => app.log[up ? 'info' : 'warn'](up ? 'the database is back' : 'the database is unreachable') });
  app.decorate('databaseHealth', health);
  app.addHook('onClose', () => health.close());
  app.addHook('preValidation', async (request) => {
    if (containsNul(request.params) || containsNul(request.query) || containsNul(request.body)) {
      throw badRequest('Text may not contain NUL characters.', 'invalid_text');
    }
  });

  await app.register(cookie);
  // While the database is away every request that could need it is refused at once, so none piles up.
  // (After the cookie parser, which error pages read; before anything that reads the database.)
  app.addHook('onRequest', async (request) => {
    if (health.down && request.url !== '/healthz' && request.url !== '/readyz') throw unavailable('database_unavailable');
  });
  app.addHook('onError', async (_request, _reply, error) => void health.note(error));
  await app.register(swagger, {
    openapi: {
      info: { title: `${config.instanceName} API`, version },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
  });
  await app.register(authentication);
  await app.register(postingLimits);
  await app.register(federation);

  const statusSchema = { type: 'object', properties: { status: { type: 'string' } } } as const;
  app.get('/healthz', { schema: { hide: true, response: { 200: statusSchema } } }, async () => ({ status: 'ok' }));
  app.get('/readyz', {
    schema: { hide: true, response: { 200: statusSchema, 503: errorSchema } },
  }, async () => {
    // While the database is known to be away, say so without waiting out another connection attempt.
    if (health.down) throw unavailable('not_ready');
    try {
      await sql`select 1`.execute(app.db);
    } catch (error) {
      health.note(error);
      throw unavailable('not_ready');
    }
    return { status: 'ready' };
  });
  if (config.role === 'worker') return app;

  await app.register(
    async (api) => {
      await api.register(accountRoutes);
      await api.register(neighbourhoodRoutes);
      await api.register(threadRoutes);
      await api.register(remoteFollowRoutes);
      await api.register(moderationRoutes);
      await api.register(domainBlockRoutes);
      await api.register(premoderationRoutes);
      api.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
    },
    { prefix: '/api' },
  );
  await app.register(networkWeaving, { remote: remoteNeighbourhoods(app.federation) });
  await app.register(pages);
  await app.register(oauthRoutes);
  await app.register(mastodonRoutes);
  return app;
}
