// Websocket streams: a member's home stream, a neighbourhood's public stream, and the instance's.
// A token may come as `Authorization: Bearer`, `?access_token=`, or a Sec-WebSocket-Protocol entry (browsers
// cannot set headers on a websocket); the session cookie counts only from our own pages' origin, so another
// site cannot open a stream in a visitor's name.
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { type Viewer, viewerFromToken } from '../accounts/domain.ts';
import { sessionCookie } from '../accounts/authentication.ts';
import { errorSchema, unauthorized } from '../errors.ts';
import { type Neighbourhood, neighbourhoodByHandle } from '../neighbourhoods/domain.ts';
import type { LiveScope } from './bus.ts';
import { serveStream, type StreamSocket } from './stream.ts';

/** The protocol a client may name next to its token; we answer with it (or echo the token, Mastodon-style). */
export const streamProtocol = 'square-mile';

type StreamQuery = { access_token?: string; after?: number };

function tokenOf(request: FastifyRequest<{ Querystring: StreamQuery }>, ownOrigin: string): string | undefined {
  const header = request.headers.authorization;
  if (header?.startsWith('Bearer ')) return header.slice(7).trim();
  if (request.query.access_token) return request.query.access_token;
  const protocols = String(request.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim()).filter((p) => p && p !== streamProtocol);
  if (protocols.length) return protocols[0];
  if (request.headers.origin === ownOrigin) return request.cookies[sessionCookie];
  return undefined;
}

const streamQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    access_token: { type: 'string', minLength: 1, maxLength: 200 },
    // A client reconnecting names the last event it saw (its `id`) to be sent what it missed.
    after: { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER },
  },
} as const;
const refusals = { 400: errorSchema, 401: errorSchema, 404: errorSchema, 426: errorSchema };

declare module 'fastify' {
  interface FastifyRequest {
    streamToken?: string;
    streamNeighbourhood?: Neighbourhood;
  }
}

const liveRoutes: FastifyPluginAsync = async (app) => {
  // Runs after validation and before the upgrade, so a bad token is refused with an ordinary 401 and no socket is opened.
  const authenticate = async (request: FastifyRequest<{ Querystring: StreamQuery }>) => {
    const token = tokenOf(request, app.config.publicUrl.origin);
    request.viewer = null;
    if (token === undefined) return;
    request.viewer = await viewerFromToken(app.db, token);
    if (!request.viewer) throw unauthorized('That token is not valid (revoked, expired, or never issued).');
    request.streamToken = token;
  };

  const serve = (socket: StreamSocket, request: FastifyRequest<{ Querystring: StreamQuery }>, name: string, scope: LiveScope, viewer: Viewer | null) => {
    const token = request.streamToken;
    return serveStream(socket, {
      bus: app.live,
      scope,
      name,
      reader: viewer?.id ?? null,
      after: request.query.after,
      heartbeatMs: app.config.liveHeartbeatSeconds * 1000,
      maxBufferedBytes: app.config.liveSendBufferBytes,
      stillAllowed: async () => token === undefined || (await viewerFromToken(app.db, token)) !== null,
      log: request.log,
    });
  };

  // A plain GET (no upgrade) gets a JSON answer saying what to do instead of an empty 404.
  const upgradeRequired = async (_request: FastifyRequest, reply: FastifyReply) =>
    reply.status(426).header('upgrade', 'websocket').send({ error: 'upgrade_required', message: 'This is a websocket stream: connect with a websocket client.' });

  app.route<{ Querystring: StreamQuery }>({
    method: 'GET',
    url: '/streams/home',
    schema: { summary: 'Live events from everything you follow (websocket)', querystring: streamQuery, response: refusals },
    preHandler: async (request) => {
      await authenticate(request);
      if (!request.viewer) throw unauthorized('Your home stream needs a token.');
    },
    handler: upgradeRequired,
    wsHandler: (socket, request) => serve(socket, request, 'home', { home: request.viewer!.id }, request.viewer),
  });

  app.route<{ Querystring: StreamQuery }>({
    method: 'GET',
    url: '/streams/public',
    schema: { summary: 'Live events from every neighbourhood on this instance (websocket)', querystring: streamQuery, response: refusals },
    preHandler: authenticate,
    handler: upgradeRequired,
    wsHandler: (socket, request) => serve(socket, request, 'public', { instance: true }, request.viewer),
  });

  app.route<{ Params: { handle: string }; Querystring: StreamQuery }>({
    method: 'GET',
    url: '/streams/neighbourhoods/:handle',
    schema: {
      summary: 'Live events from one neighbourhood (websocket)',
      params: { type: 'object', required: ['handle'], properties: { handle: { type: 'string', minLength: 1, maxLength: 64 } } },
      querystring: streamQuery,
      response: refusals,
    },
    preHandler: async (request) => {
      await authenticate(request);
      request.streamNeighbourhood = await neighbourhoodByHandle(app.db, request.params.handle);
    },
    handler: upgradeRequired,
    wsHandler: (socket, request) => {
      const neighbourhood = request.streamNeighbourhood!;
      return serve(socket, request, `neighbourhood:${neighbourhood.handle}`, { neighbourhoodId: neighbourhood.id }, request.viewer);
    },
  });
};

export default liveRoutes;
