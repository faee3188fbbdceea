// HTTP routes for threads and replies.
import type { FastifyPluginAsync } from 'fastify';
import type { ExchangeStatus, ThreadKind } from '../database.ts';
import { errorSchema } from '../errors.ts';
import { dateTime, decodeCursor, encodeCursor, nullable, pageQuerySchema, requireViewer } from '../http.ts';
import * as threads from './domain.ts';

const personSchema = nullable({
  type: 'object',
  properties: { username: { type: 'string' }, displayName: { type: 'string' } },
});

const attachmentsSchema = {
  type: 'array',
  items: {
    type: 'object',
    properties: { url: { type: 'string' }, mediaType: nullable({ type: 'string' }), description: nullable({ type: 'string' }), image: { type: 'boolean' } },
  },
} as const;

/** Likes, and dislikes (which only other servers send), and the score they make. */
const voteProperties = { likeCount: { type: 'integer' }, dislikeCount: { type: 'integer' }, score: { type: 'integer' } } as const;
const votes = (post: { like_count: number; dislike_count: number }) => ({ likeCount: post.like_count, dislikeCount: post.dislike_count, score: post.like_count - post.dislike_count });
const attachments = (post: { attachments: threads.Thread['attachments'] }) =>
  threads.attachmentsOf(post).map(({ url, mediaType, description, image }) => ({ url, mediaType, description, image }));

export const threadSchema = {
  type: 'object',
  properties: {
    id: { type: 'integer' },
    neighbourhood: { type: 'object', properties: { handle: { type: 'string' }, name: { type: 'string' } } },
    author: personSchema,
    kind: { type: 'string', enum: threads.threadKinds },
    title: { type: 'string' },
    body: { type: 'string' },
    bodyHtml: { type: 'string' },
    event: nullable({
      type: 'object',
      properties: { startsAt: dateTime, endsAt: nullable(dateTime), place: nullable({ type: 'string' }) },
    }),
    exchange: nullable({
      type: 'object',
      properties: { item: { type: 'string' }, expiresAt: nullable(dateTime), status: { type: 'string', enum: ['open', 'fulfilled'] } },
    }),
    replyCount: { type: 'integer' },
    ...voteProperties,
    attachments: attachmentsSchema,
    createdAt: dateTime,
    editedAt: nullable(dateTime),
    lastActivityAt: dateTime,
    pinned: { type: 'boolean' },
    locked: { type: 'boolean' },
  },
} as const;

export const replySchema = {
  type: 'object',
  properties: {
    id: { type: 'integer' },
    threadId: { type: 'integer' },
    parentId: nullable({ type: 'integer' }),
    depth: { type: 'integer' },
    author: personSchema,
    body: { type: 'string' },
    bodyHtml: { type: 'string' },
    deleted: { type: 'boolean' },
    ...voteProperties,
    attachments: attachmentsSchema,
    createdAt: dateTime,
    editedAt: nullable(dateTime),
  },
} as const;

const person = (username: string | null, displayName: string | null) => (username ? { username, displayName: displayName ?? '' } : null);

export function presentThread(t: threads.Thread) {
  return {
    id: t.id,
    neighbourhood: { handle: t.neighbourhood_handle, name: t.neighbourhood_name },
    author: person(t.author_username, t.author_display_name),
    kind: t.kind,
    title: t.title,
    body: t.body_source,
    bodyHtml: t.body_html,
    event: t.event_starts_at ? { startsAt: t.event_starts_at, endsAt: t.event_ends_at, place: t.event_place } : null,
    exchange: t.exchange_status ? { item: t.exchange_item ?? '', expiresAt: t.exchange_expires_at, status: t.exchange_status } : null,
    replyCount: t.reply_count,
    ...votes(t),
    attachments: attachments(t),
    createdAt: t.created_at,
    editedAt: t.edited_at,
    lastActivityAt: t.last_activity_at,
    pinned: !!t.pinned_at,
    locked: !!t.locked_at,
  };
}

export function presentReply(r: threads.Reply & { depth?: number }) {
  return {
    id: r.id,
    threadId: r.thread_id,
    parentId: r.parent_id,
    depth: r.depth ?? 0,
    author: r.deleted_at ? null : person(r.author_username, r.author_display_name),
    // A removed reply keeps its text for a restore, but shows none of it.
    body: r.deleted_at ? '' : r.body_source,
    bodyHtml: r.deleted_at ? '' : r.body_html,
    deleted: !!r.deleted_at,
    ...votes(r),
    attachments: r.deleted_at ? [] : attachments(r),
    createdAt: r.created_at,
    editedAt: r.edited_at,
  };
}

const eventInput = {
  type: 'object',
  required: ['startsAt'],
  additionalProperties: false,
  properties: { startsAt: dateTime, endsAt: nullable(dateTime), place: nullable({ type: 'string', maxLength: 300 }) },
} as const;

const exchangeProperties = {
  item: { type: 'string', minLength: 1, maxLength: 300 },
  expiresAt: nullable(dateTime),
  status: { type: 'string', enum: ['open', 'fulfilled'] },
} as const;

const titleInput = { type: 'string', minLength: 1, maxLength: 200 } as const;
const bodyInput = { type: 'string', minLength: 1, maxLength: 20_000 } as const;

interface EventBody {
  startsAt: string;
  endsAt?: string | null;
  place?: string | null;
}
interface ExchangeBody {
  item?: string;
  expiresAt?: string | null;
  status?: ExchangeStatus;
}
interface ThreadBody {
  kind: ThreadKind;
  title: string;
  body: string;
  event?: EventBody;
  exchange?: ExchangeBody;
}

const toEvent = (e: EventBody | undefined) => e && { startsAt: new Date(e.startsAt), endsAt: e.endsAt ? new Date(e.endsAt) : null, place: e.place ?? null };
const toExchange = (e: ExchangeBody | undefined) =>
  e && {
    ...(e.item !== undefined && { item: e.item }),
    ...(e.expiresAt !== undefined && { expiresAt: e.expiresAt ? new Date(e.expiresAt) : null }),
    ...(e.status !== undefined && { status: e.status }),
  };

const idParams = { type: 'object', required: ['id'], properties: { id: { type: 'integer', minimum: 1, maximum: 2_147_483_647 } } } as const;
const handleParams = { type: 'object', required: ['handle'], properties: { handle: { type: 'string', minLength: 1, maxLength: 64 } } } as const;
const errors = { 400: errorSchema, 401: errorSchema, 403: errorSchema, 404: errorSchema, 409: errorSchema };
const likeResponse = { 200: { type: 'object', properties: { liked: { type: 'boolean' }, likeCount: { type: 'integer' } } }, ...errors };

const threadRoutes: FastifyPluginAsync = async (app) => {
  app.post<{ Params: { handle: string }; Body: ThreadBody }>('/neighbourhoods/:handle/threads', {
    schema: {
      summary: 'Start a thread: a discussion, event, offer, want or story',
      params: handleParams,
      body: {
        type: 'object',
        required: ['kind', 'title', 'body'],
        additionalProperties: false,
        properties: {
          kind: { type: 'string', enum: threads.threadKinds },
          title: titleInput,
          body: bodyInput,
          event: eventInput,
          exchange: { type: 'object', required: ['item'], additionalProperties: false, properties: exchangeProperties },
        },
      },
      // 202: held for the moderators' approval (`Location` names the held post).
      response: { 201: { type: 'object', properties: { thread: threadSchema } }, 202: errorSchema, ...errors },
    },
  }, async (request, reply) => {
    const { kind, title, body, event, exchange } = request.body;
    const thread = await threads.startThread(app.db, requireViewer(request.viewer), request.params.handle, {
      kind,
      title,
      body,
      event: toEvent(event),
      exchange: exchange && { item: exchange.item!, expiresAt: exchange.expiresAt ? new Date(exchange.expiresAt) : null, status: exchange.status },
    });
    return reply.status(201).send({ thread: presentThread(thread) });
  });

  app.get<{ Params: { handle: string }; Querystring: { kind?: ThreadKind; limit: number; cursor?: string } }>(
    '/neighbourhoods/:handle/threads',
    {
      schema: {
        summary: 'A neighbourhood\u2019s threads, newest activity first',
        params: handleParams,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { kind: { type: 'string', enum: threads.threadKinds }, ...pageQuerySchema },
        },
        response: {
          200: { type: 'object', properties: { threads: { type: 'array', items: threadSchema }, next: nullable({ type: 'string' }) } },
          ...errors,
        },
      },
    },
    async (request) => {
      const { kind, limit, cursor } = request.query;
      const { rows, next } = await threads.listThreads(app.db, request.viewer, request.params.handle, { kind, limit, after: decodeCursor(cursor) });
      return { threads: rows.map(presentThread), next: next ? encodeCursor(next) : null };
    },
  );

  app.get<{ Params: { id: number } }>('/threads/:id', {
    schema: {
      summary: 'A thread with its replies in conversation order',
      params: idParams,
      response: {
        200: { type: 'object', properties: { thread: threadSchema, replies: { type: 'array', items: replySchema } } },
        ...errors,
      },
    },
  }, async (request) => {
    const { thread, replies } = await threads.threadWithReplies(app.db, request.viewer, request.params.id);
    return { thread: presentThread(thread), replies: replies.map(presentReply) };
  });

  app.patch<{ Params: { id: number }; Body: { title?: string; body?: string; event?: EventBody; exchange?: ExchangeBody } }>('/threads/:id', {
    schema: {
      summary: 'Edit your thread, or mark your offer or want fulfilled',
      params: idParams,
      body: {
        type: 'object',
        additionalProperties: false,
        minProperties: 1,
        properties: {
          title: titleInput,
          body: bodyInput,
          event: eventInput,
          exchange: { type: 'object', additionalProperties: false, minProperties: 1, properties: exchangeProperties },
        },
      },
      response: { 200: { type: 'object', properties: { thread: threadSchema } }, ...errors },
    },
  }, async (request) => {
    const { title, body, event, exchange } = request.body;
    const thread = await threads.editThread(app.db, requireViewer(request.viewer), request.params.id, {
      title,
      body,
      event: toEvent(event),
      exchange: toExchange(exchange),
    });
    return { thread: presentThread(thread) };
  });

  app.delete<{ Params: { id: number } }>('/threads/:id', {
    schema: { summary: 'Delete your thread', params: idParams, response: { 204: { type: 'null' }, ...errors } },
  }, async (request, reply) => {
    await threads.deleteThread(app.db, requireViewer(request.viewer), request.params.id);
    return reply.status(204).send();
  });

  app.post<{ Params: { id: number }; Body: { body: string; parentId?: number } }>('/threads/:id/replies', {
    schema: {
      summary: 'Reply to a thread, or to a reply in it',
      params: idParams,
      body: {
        type: 'object',
        required: ['body'],
        additionalProperties: false,
        properties: { body: bodyInput, parentId: { type: 'integer', minimum: 1, maximum: 2_147_483_647 } },
      },
      response: { 201: { type: 'object', properties: { reply: replySchema } }, 202: errorSchema, ...errors },
    },
  }, async (request, reply) => {
    const created = await threads.reply(app.db, requireViewer(request.viewer), request.params.id, request.body);
    return reply.status(201).send({ reply: presentReply(created) });
  });

  app.patch<{ Params: { id: number }; Body: { body: string } }>('/replies/:id', {
    schema: {
      summary: 'Edit your reply',
      params: idParams,
      body: { type: 'object', required: ['body'], additionalProperties: false, properties: { body: bodyInput } },
      response: { 200: { type: 'object', properties: { reply: replySchema } }, ...errors },
    },
  }, async (request) => ({
    reply: presentReply(await threads.editReply(app.db, requireViewer(request.viewer), request.params.id, request.body.body)),
  }));

  app.delete<{ Params: { id: number } }>('/replies/:id', {
    schema: { summary: 'Delete your reply', params: idParams, response: { 204: { type: 'null' }, ...errors } },
  }, async (request, reply) => {
    await threads.deleteReply(app.db, requireViewer(request.viewer), request.params.id);
    return reply.status(204).send();
  });

  for (const [path, target] of [
    ['/threads/:id/like', (id: number) => ({ threadId: id })],
    ['/replies/:id/like', (id: number) => ({ replyId: id })],
  ] as const) {
    for (const [method, liked] of [['POST', true], ['DELETE', false]] as const) {
      app.route<{ Params: { id: number } }>({
        method,
        url: path,
        schema: { summary: liked ? 'Like' : 'Take back a like', params: idParams, response: likeResponse },
        handler: async (request) => {
          const counts = await app.federation.like(requireViewer(request.viewer), target(request.params.id), liked);
          return { liked, likeCount: counts.like_count };
        },
      });
    }
  }
};

export default threadRoutes;
