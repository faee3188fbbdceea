// Mastodon's streaming API over the live bus: one websocket at `/api/v1/streaming` that carries any number of
// streams (`?stream=` or `{"type":"subscribe",...}` messages), and the same streams as server-sent events at
// `/api/v1/streaming/<stream>`. Connections are kept by the live streams' own machinery (heartbeats, bounded
// send buffers, token rechecks); this file only says which bus scopes a stream reads and how events look.
// Registered inside the Mastodon plugin, so refusals take its error shape and its hook reads the Authorization header.
import type { FastifyBaseLogger, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type WebSocket from 'ws';
import { AppError } from '../errors.ts';
import type { LiveEvent, LiveScope } from '../live/bus.ts';
import { eventStreamSocket, keepStream, type StreamSocket } from '../live/stream.ts';
import * as oauth from '../oauth/domain.ts';
import * as mastodon from './domain.ts';

/** What one bus event becomes for apps, worked out once however many streams carry it. */
interface Rendered {
  event: 'update' | 'status.update' | 'delete';
  statusId: string;
  /** Absent for deletions. */
  status?: mastodon.Status;
}

/** A message as Mastodon's streaming server sends it: the payload is JSON text itself, or the bare id for `delete`. */
interface Message {
  stream: string[];
  event: 'update' | 'status.update' | 'delete' | 'notification';
  payload: string;
}

/** One bus subscription behind a stream, and which messages it makes of an event. */
interface Feed {
  scope: LiveScope;
  pick: (rendered: Rendered) => Omit<Message, 'stream'>[];
}

interface Channel {
  stream: string[];
  feeds: Feed[];
}

/** Refusals inside an open websocket are messages, as Mastodon sends them: `{"error":…,"status":…}`. */
class StreamRefusal extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

const scopeRefusal = () => new StreamRefusal(403, 'Access token does not have the required scopes');
const allowed = (access: oauth.Access, scope: string) => oauth.allows(access.scopes, scope);

const asUpdate = (rendered: Rendered): Omit<Message, 'stream'> => ({
  event: rendered.event,
  payload: rendered.status ? JSON.stringify(mastodon.publicStatus(rendered.status)) : rendered.statusId,
});

/**
 * The streams this server has. Everything here is local and nothing carries media, so the remote and media
 * variants are real streams that stay quiet rather than errors an app would have to handle.
 */
function channelFor(name: string, tag: string | undefined, access: oauth.Access): Channel {
  const everything: Feed = { scope: { instance: true }, pick: (r) => [asUpdate(r)] };
  const notifications = (): Feed => {
    const viewer = access.viewer!;
    return {
      scope: { instance: true },
      pick: (r) =>
        r.event === 'update' && r.status && mastodon.mentions(r.status, viewer)
          ? [{
            event: 'notification',
            payload: JSON.stringify({
              id: mastodon.mentionNotificationId(r.statusId),
              type: 'mention',
              created_at: r.status.created_at,
              account: r.status.account,
              status: mastodon.publicStatus(r.status),
            }),
          }]
          : [],
    };
  };
  const member = () => {
    if (!access.viewer) throw new StreamRefusal(401, 'This stream requires an authenticated user.');
  };
  switch (name) {
    case 'user': {
      member();
      if (!allowed(access, 'read:statuses')) throw scopeRefusal();
      const home: Feed = { scope: { home: access.viewer!.id }, pick: (r) => [asUpdate(r)] };
      return { stream: [name], feeds: allowed(access, 'read:notifications') ? [home, notifications()] : [home] };
    }
    case 'user:notification':
      member();
      if (!allowed(access, 'read:notifications')) throw scopeRefusal();
      return { stream: [name], feeds: [notifications()] };
    case 'public':
    case 'public:local':
    case 'public:remote':
    case 'public:media':
    case 'public:local:media':
    case 'public:remote:media':
      if (!allowed(access, 'read:statuses')) throw scopeRefusal();
      return { stream: [name], feeds: name === 'public' || name === 'public:local' ? [everything] : [] };
    case 'hashtag':
    case 'hashtag:local': {
      if (!allowed(access, 'read:statuses')) throw scopeRefusal();
      const wanted = tag?.replace(/^#/, '').toLowerCase();
      if (!wanted) throw new StreamRefusal(400, 'No tag for stream provided');
      return {
        stream: [name, tag!],
        // A deletion no longer says its tags; apps drop ids they never had.
        feeds: [{ scope: { instance: true }, pick: (r) => (!r.status || r.status.tags.some((t) => t.name === wanted) ? [asUpdate(r)] : []) }],
      };
    }
    default:
      throw new StreamRefusal(400, 'Unknown stream type');
  }
}

/** The streams served as server-sent events, by path under /api/v1/streaming. */
const eventStreams = ['user', 'user:notification', 'public', 'public:local', 'public:remote', 'hashtag', 'hashtag:local'];

const maxPendingEvents = 1000;

const mastodonStreaming: FastifyPluginAsync = async (app) => {
  const ctx: mastodon.Context = { db: app.db, config: app.config, viewer: null };
  // The bus hands every subscriber the same event object, so each event is loaded once per process.
  const rendered = new WeakMap<LiveEvent, Promise<Rendered | null>>();
  const render = (event: LiveEvent) => {
    let found = rendered.get(event);
    if (!found) {
      found = renderEvent(event);
      rendered.set(event, found);
    }
    return found;
  };
  async function renderEvent(event: LiveEvent): Promise<Rendered | null> {
    const ref = event.replyId !== undefined ? { kind: 'reply' as const, id: event.replyId } : { kind: 'thread' as const, id: event.threadId };
    if (event.event.endsWith('.deleted')) {
      const statusId = await mastodon.statusIdOf(ctx, ref);
      return statusId ? { event: 'delete', statusId } : null;
    }
    // Read without a viewer: `favourited` is per member and a new post has no likes yet.
    const [status] = await mastodon.statusesOf(ctx, ref.kind === 'thread' ? { threads: [ref.id], replies: [] } : { threads: [], replies: [ref.id] });
    if (!status) return null; // deleted again before we read it
    return { event: event.event.endsWith('.created') ? 'update' : 'status.update', statusId: status.id, status };
  }

  const open = new Set<StreamSocket>();
  app.addHook('preClose', async () => {
    // Server-sent events are plain responses: without this, closing would wait for every reader to hang up.
    for (const socket of open) socket.close();
  });

  /** Serves one connection: any number of streams, messages in the order the bus committed them. */
  function connect(socket: StreamSocket, request: FastifyRequest, access: oauth.Access, token: string, format: (message: Message) => string) {
    const log: FastifyBaseLogger = request.log;
    const kept = keepStream(socket, {
      name: 'mastodon',
      heartbeatMs: app.config.liveHeartbeatSeconds * 1000,
      maxBufferedBytes: app.config.liveSendBufferBytes,
      stillAllowed: async () => (await oauth.accessFor(app.db, token)) !== undefined,
      log,
    });
    open.add(socket);
    const subscriptions = new Map<string, (() => void)[]>();
    kept.onEnd(() => {
      open.delete(socket);
      for (const stops of subscriptions.values()) for (const stop of stops) stop();
      subscriptions.clear();
    });
    let queue = Promise.resolve();
    let pending = 0;
    const reader = access.viewer?.id ?? null;

    const deliver = (channel: Channel, feed: Feed) => (event: LiveEvent) => {
      if (++pending > maxPendingEvents) {
        // Events are loaded in order; if that falls this far behind, the connection is dropped like a slow reader.
        log.warn({ pending }, 'mastodon stream fell behind: dropped');
        socket.terminate();
        return;
      }
      queue = queue
        .then(async () => {
          const shown = await render(event);
          if (shown) for (const message of feed.pick(shown)) kept.send(format({ stream: channel.stream, ...message }));
        })
        .catch((error: unknown) => log.warn({ err: error }, 'mastodon stream: could not send an event'))
        .finally(() => pending--);
    };

    return {
      kept,
      async subscribe(name: string, tag: string | undefined) {
        const channel = channelFor(name, tag, access);
        const key = channel.stream.join('\n');
        if (subscriptions.has(key)) return;
        const stops: (() => void)[] = [];
        subscriptions.set(key, stops);
        for (const feed of channel.feeds) {
          const stop = await app.live.subscribe(feed.scope, reader, deliver(channel, feed));
          // Closed, or unsubscribed, while the bus was getting ready.
          if (subscriptions.get(key) !== stops) stop();
          else stops.push(stop);
        }
      },
      unsubscribe(name: string, tag: string | undefined) {
        const key = channelFor(name, tag, access).stream.join('\n');
        for (const stop of subscriptions.get(key) ?? []) stop();
        subscriptions.delete(key);
      },
    };
  }

  /** The token from the Authorization header (read by the Mastodon hook), `?access_token=`, or the websocket protocol. */
  const authenticate = async (request: FastifyRequest<{ Querystring: StreamQuery }>) => {
    let token = /^Bearer\s/i.test(request.headers.authorization ?? '') ? request.headers.authorization!.slice(7).trim() : undefined;
    if (!request.access) {
      token = request.query.access_token ?? String(request.headers['sec-websocket-protocol'] ?? '').split(',')[0]?.trim();
      if (!token) throw new AppError(401, 'unauthorized', 'This method requires an access token.', { 'www-authenticate': 'Bearer' });
      request.access = (await oauth.accessFor(app.db, token)) ?? null;
      if (!request.access) throw oauth.invalidToken();
    }
    request.streamingToken = token!;
    return request.access;
  };

  const mastodonError = { type: 'object', required: ['error'], properties: { error: { type: 'string' }, message: { type: 'string' }, code: { type: 'string' } } };
  const refusals = { 400: mastodonError, 401: mastodonError, 403: mastodonError, 422: mastodonError, 426: mastodonError };
  const query = {
    type: 'object',
    properties: {
      access_token: { type: 'string', minLength: 1, maxLength: 200 },
      stream: { type: 'string', minLength: 1, maxLength: 100 },
      tag: { type: 'string', minLength: 1, maxLength: 100 },
    },
  } as const;

  app.get('/api/v1/streaming/health', {
    schema: { summary: 'Whether streaming is up (for apps that check before connecting)', tags: ['mastodon'], response: { 200: { type: 'string' } } },
  }, async (_request, reply) => reply.type('text/plain; charset=utf-8').send('OK'));

  app.route<{ Querystring: StreamQuery }>({
    method: 'GET',
    url: '/api/v1/streaming',
    schema: { summary: 'Mastodon streaming (websocket): subscribe to user, public, public:local, hashtag…', tags: ['mastodon'], querystring: query, response: refusals },
    preHandler: async (request) => {
      const access = await authenticate(request);
      // Every stream reads statuses or notifications; a token allowed neither could never receive anything.
      if (!allowed(access, 'read:statuses') && !allowed(access, 'read:notifications')) oauth.requireAccess(access, 'read:statuses', false);
    },
    handler: async (_request: FastifyRequest, reply: FastifyReply) => {
      const message = 'This is a websocket stream: connect with a websocket client, or use /api/v1/streaming/<stream> for server-sent events.';
      return reply.status(426).header('upgrade', 'websocket').send({ error: message, message, code: 'upgrade_required' });
    },
    wsHandler: (socket: WebSocket, request) => {
      const connection = connect(socket, request, request.access!, request.streamingToken!, (message) => JSON.stringify(message));
      const refuse = (error: unknown) => {
        if (!(error instanceof StreamRefusal)) return request.log.warn({ err: error }, 'mastodon stream: could not subscribe');
        connection.kept.send(JSON.stringify({ error: error.message, status: error.status }));
      };
      socket.on('message', (data, isBinary) => {
        let message: { type?: unknown; stream?: unknown; tag?: unknown };
        try {
          message = isBinary ? null : JSON.parse(String(data));
        } catch {
          message = {};
        }
        const { type, stream, tag } = message ?? {};
        if ((type !== 'subscribe' && type !== 'unsubscribe') || typeof stream !== 'string' || (tag !== undefined && typeof tag !== 'string')) {
          return refuse(new StreamRefusal(400, 'Expected {"type":"subscribe"|"unsubscribe","stream":…}'));
        }
        try {
          if (type === 'subscribe') connection.subscribe(stream, tag).catch(refuse);
          else connection.unsubscribe(stream, tag);
        } catch (error) {
          refuse(error);
        }
      });
      if (request.query.stream) connection.subscribe(request.query.stream, request.query.tag).catch(refuse);
    },
  });

  for (const name of eventStreams) {
    app.get<{ Querystring: StreamQuery }>(`/api/v1/streaming/${name.replace(':', '/')}`, {
      schema: { summary: `The ${name} stream as server-sent events`, tags: ['mastodon'], querystring: query, response: refusals },
      preHandler: async (request) => {
        const access = await authenticate(request);
        try {
          channelFor(name, request.query.tag, access);
        } catch (error) {
          if (!(error instanceof StreamRefusal)) throw error;
          // Refused before any event is sent, as an ordinary HTTP error (403 with the scope it lacks).
          if (error.status === 403) oauth.requireAccess(access, name === 'user:notification' ? 'read:notifications' : 'read:statuses', false);
          throw new AppError(error.status, error.status === 401 ? 'unauthorized' : 'invalid_stream', error.message);
        }
      },
    }, async (request, reply) => {
      reply.hijack();
      reply.raw.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-store',
        // Proxies such as nginx would otherwise hold events back to fill a buffer.
        'x-accel-buffering': 'no',
      });
      reply.raw.write(':)\n\n');
      const connection = connect(eventStreamSocket(reply.raw), request, request.access!, request.streamingToken!, (message) =>
        `event: ${message.event}\ndata: ${message.payload}\n\n`);
      await connection.subscribe(name, request.query.tag);
    });
  }
};

interface StreamQuery {
  access_token?: string;
  stream?: string;
  tag?: string;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The token a Mastodon stream opened with, rechecked at every heartbeat. */
    streamingToken?: string;
  }
}

export default mastodonStreaming;
