// HTTP routes for pre-moderation: a neighbourhood's holding settings, its queue of held posts for
// moderators to approve or reject, and an author's own posts awaiting approval.
import type { FastifyPluginAsync } from 'fastify';
import { errorSchema } from '../errors.ts';
import { dateTime, nullable, requireViewer } from '../http.ts';
import { presentReply, presentThread, replySchema, threadSchema } from '../threads/routes.ts';
import * as premoderation from './domain.ts';

const idParams = { type: 'object', required: ['id'], properties: { id: { type: 'integer', minimum: 1, maximum: 2_147_483_647 } } } as const;
const handleParams = { type: 'object', required: ['handle'], properties: { handle: { type: 'string', minLength: 1, maxLength: 64 } } } as const;
const reasonBody = { type: 'object', additionalProperties: false, properties: { reason: { type: 'string', maxLength: 1000 } } } as const;
const errors = { 400: errorSchema, 401: errorSchema, 403: errorSchema, 404: errorSchema, 409: errorSchema };

const settingsProperties = {
  holdFirstPosts: { type: 'integer', minimum: 0, maximum: 100 },
  holdWords: { type: 'array', maxItems: 200, items: { type: 'string', maxLength: 100 } },
} as const;
const settingsSchema = { type: 'object', properties: settingsProperties } as const;

const heldSchema = {
  type: 'object',
  properties: {
    id: { type: 'integer' },
    neighbourhood: { type: 'string' },
    author: { type: 'string' },
    threadId: nullable({ type: 'integer' }),
    threadTitle: nullable({ type: 'string' }),
    kind: nullable({ type: 'string' }),
    title: nullable({ type: 'string' }),
    html: { type: 'string' },
    reason: { type: 'string' },
    status: { type: 'string', enum: ['awaiting_approval'] },
    createdAt: dateTime,
  },
} as const;
const heldList = { 200: { type: 'object', properties: { heldPosts: { type: 'array', items: heldSchema } } }, ...errors };

export const presentHeld = (h: premoderation.HeldPost) => ({
  id: h.id,
  neighbourhood: h.neighbourhood_handle,
  author: h.author_username,
  threadId: h.thread_id,
  threadTitle: h.thread_title,
  kind: h.kind,
  title: h.title,
  html: h.body_html,
  reason: h.reason,
  status: 'awaiting_approval' as const,
  createdAt: h.created_at,
});

const premoderationRoutes: FastifyPluginAsync = async (app) => {
  app.get<{ Params: { handle: string } }>('/neighbourhoods/:handle/premoderation', {
    schema: { summary: 'What a neighbourhood holds for approval (its moderators)', params: handleParams, response: { 200: settingsSchema, ...errors } },
  }, async (request) => premoderation.premoderationSettings(app.db, requireViewer(request.viewer), request.params.handle));

  app.put<{ Params: { handle: string }; Body: { holdFirstPosts: number; holdWords: string[] } }>('/neighbourhoods/:handle/premoderation', {
    schema: {
      summary: 'Hold the first posts of members new to the neighbourhood, and posts with these words, for approval (its moderators)',
      params: handleParams,
      body: { type: 'object', required: ['holdFirstPosts', 'holdWords'], additionalProperties: false, properties: settingsProperties },
      response: { 200: settingsSchema, ...errors },
    },
  }, async (request) => premoderation.setPremoderation(app.db, requireViewer(request.viewer), request.params.handle, request.body));

  app.get<{ Params: { handle: string } }>('/neighbourhoods/:handle/held-posts', {
    schema: { summary: 'Posts awaiting approval in a neighbourhood (its moderators)', params: handleParams, response: heldList },
  }, async (request) => ({ heldPosts: (await premoderation.heldQueue(app.db, requireViewer(request.viewer), request.params.handle)).map(presentHeld) }));

  app.get('/held-posts', {
    schema: { summary: 'Your own posts awaiting approval', response: heldList },
  }, async (request) => ({ heldPosts: (await premoderation.heldPostsBy(app.db, requireViewer(request.viewer))).map(presentHeld) }));

  app.get<{ Params: { id: number } }>('/held-posts/:id', {
    schema: { summary: 'A post awaiting approval (its author and the neighbourhood’s moderators)', params: idParams, response: { 200: heldSchema, ...errors } },
  }, async (request) => presentHeld(await premoderation.heldPost(app.db, requireViewer(request.viewer), request.params.id)));

  app.delete<{ Params: { id: number } }>('/held-posts/:id', {
    schema: { summary: 'Take back your own post while it awaits approval', params: idParams, response: { 204: { type: 'null' }, ...errors } },
  }, async (request, reply) => {
    await premoderation.withdraw(app.db, requireViewer(request.viewer), request.params.id);
    return reply.status(204).send();
  });

  app.post<{ Params: { id: number }; Body: { reason?: string } }>('/held-posts/:id/approve', {
    schema: {
      summary: 'Publish a held post: it appears and is announced as if just posted (the neighbourhood’s moderators)',
      params: idParams,
      body: reasonBody,
      response: { 200: { type: 'object', properties: { thread: threadSchema, reply: replySchema } }, ...errors },
    },
  }, async (request) => {
    const published = await premoderation.approve(app.db, requireViewer(request.viewer), request.params.id, request.body?.reason);
    request.log.info({ held: request.params.id }, 'held post approved');
    return 'thread' in published ? { thread: presentThread(published.thread) } : { reply: presentReply(published.reply) };
  });

  app.post<{ Params: { id: number }; Body: { reason?: string } }>('/held-posts/:id/reject', {
    schema: { summary: 'Turn a held post away (the neighbourhood’s moderators)', params: idParams, body: reasonBody, response: { 204: { type: 'null' }, ...errors } },
  }, async (request, reply) => {
    await premoderation.reject(app.db, requireViewer(request.viewer), request.params.id, request.body?.reason);
    request.log.info({ held: request.params.id }, 'held post rejected');
    return reply.status(204).send();
  });
};

export default premoderationRoutes;
