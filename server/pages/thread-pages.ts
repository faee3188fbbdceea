// Routes for threads and replies: reading, writing, editing, deleting, liking, and the Markdown preview.
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { ThreadKind } from '../database.ts';
import { notFound } from '../errors.ts';
import { requireViewer } from '../http.ts';
import { renderMarkdown } from '../markdown.ts';
import * as moderation from '../moderation/domain.ts';
import * as neighbourhoods from '../neighbourhoods/domain.ts';
import { HeldForApproval } from '../premoderation/holding.ts';
import * as threads from '../threads/domain.ts';
import { fromLocalInput, isTimeZone } from './format.ts';
import { given } from './forms.ts';
import { trusted } from './html.ts';
import { kindNames } from './neighbourhood-views.ts';
import { attempt, context, formBody, idParams, seeOther, send, text } from './respond.ts';
import { draftOf, type ThreadDraft, threadFormPage, threadPage, replyFormPage } from './thread-views.ts';

type Id = { Params: { id: number } };

const threadFields = formBody({
  kind: { type: 'string', enum: threads.threadKinds },
  title: text(200),
  body: text(20_000),
  startsAt: text(30),
  endsAt: text(30),
  place: text(300),
  timeZone: text(64),
  item: text(300),
  expiresAt: text(30),
}, ['kind']);

const replyFields = formBody({ body: text(20_000), parentId: { type: 'string', pattern: '^[0-9]{1,10}$' } });

const preview = (source: string | undefined) => (source?.trim() ? trusted(renderMarkdown(source)) : null);

/** Reads the kind-specific fields of a thread form; a string is what to tell the author. */
function kindFields(draft: ThreadDraft, fallbackZone: string): Pick<threads.NewThread, 'event' | 'exchange'> | string {
  const zone = isTimeZone(draft.timeZone) ? draft.timeZone : fallbackZone;
  const instant = (value: string | undefined, label: string) => {
    if (!given(value)) return null;
    return fromLocalInput(value!.trim(), zone) ?? `${label} is not a date and time we understand.`;
  };
  if (draft.kind === 'event') {
    const startsAt = instant(draft.startsAt, 'The start');
    const endsAt = instant(draft.endsAt, 'The end');
    if (startsAt === null) return 'An event needs a start time.';
    if (typeof startsAt === 'string') return startsAt;
    if (typeof endsAt === 'string') return endsAt;
    return { event: { startsAt, endsAt, place: given(draft.place) ?? null } };
  }
  if (draft.kind === 'offer' || draft.kind === 'want') {
    if (!given(draft.item)) return `Say what is ${draft.kind === 'offer' ? 'offered' : 'wanted'}.`;
    const expiresAt = instant(draft.expiresAt, 'The end date');
    if (typeof expiresAt === 'string') return expiresAt;
    return { exchange: { item: draft.item ?? '', expiresAt } };
  }
  return {};
}

const threadPages: FastifyPluginAsync = async (app) => {
  const neighbourhoodOf = (thread: threads.Thread) => ({ handle: thread.neighbourhood_handle, name: thread.neighbourhood_name });

  async function showThread(request: FastifyRequest, reply: FastifyReply, id: number) {
    const { thread, replies } = await threads.threadWithReplies(app.db, request.viewer, id);
    // The viewer's role also says whether they moderate.
    const { role, likes } = await threads.standingInThread(app.db, request.viewer, thread);
    return send(reply, threadPage(context(request, reply), { thread, replies, likes, isMember: !!role, canModerate: moderation.moderatesAs(request.viewer, role) }));
  }

  app.get<Id>('/threads/:id', { schema: { params: idParams } }, async (request, reply) => showThread(request, reply, request.params.id));

  app.get<{ Params: { handle: string }; Querystring: { kind?: ThreadKind } }>('/neighbourhoods/:handle/threads/new', {
    schema: {
      params: { type: 'object', required: ['handle'], properties: { handle: text(64) } },
      querystring: { type: 'object', properties: { kind: { type: 'string', enum: threads.threadKinds } } },
    },
  }, async (request, reply) => {
    const viewer = requireViewer(request.viewer);
    const neighbourhood = await neighbourhoods.neighbourhoodByHandle(app.db, request.params.handle);
    await neighbourhoods.requireMember(app.db, neighbourhood, viewer);
    const kind = request.query.kind ?? 'discussion';
    return send(reply, threadFormPage(context(request, reply), { kind }, {
      action: `/neighbourhoods/${neighbourhood.handle}/threads`, heading: `New ${kindNames[kind].one.toLowerCase()} in ${neighbourhood.name}`,
      neighbourhood, editing: false, preview: null,
    }));
  });

  app.post<{ Params: { handle: string }; Body: ThreadDraft & { preview?: string } }>('/neighbourhoods/:handle/threads', {
    schema: { params: { type: 'object', required: ['handle'], properties: { handle: text(64) } }, body: threadFields },
  }, async (request, reply) => {
    const viewer = requireViewer(request.viewer);
    const neighbourhood = await neighbourhoods.neighbourhoodByHandle(app.db, request.params.handle);
    const draft = request.body;
    const ctx = context(request, reply);
    const again = (status: number, error?: string) => send(reply, threadFormPage(ctx, draft, {
      action: `/neighbourhoods/${neighbourhood.handle}/threads`, heading: `New ${kindNames[draft.kind].one.toLowerCase()} in ${neighbourhood.name}`,
      neighbourhood, editing: false, preview: preview(draft.body), error, status,
    }));
    if (draft.preview) return again(200);
    const specific = kindFields(draft, ctx.locale.timeZone);
    if (typeof specific === 'string') return again(400, specific);
    const started = await attempt(() => threads.startThread(app.db, viewer, neighbourhood.handle, {
      kind: draft.kind, title: draft.title ?? '', body: draft.body ?? '', ...specific,
    }));
    if (started.error instanceof HeldForApproval) return seeOther(reply, '/held-posts');
    if (started.error) return again(started.error.status, started.error.message);
    request.log.info({ thread: started.value.id }, 'thread started from the web');
    return seeOther(reply, `/threads/${started.value.id}`);
  });

  app.get<Id>('/threads/:id/edit', { schema: { params: idParams } }, async (request, reply) => {
    const viewer = requireViewer(request.viewer);
    const thread = await threads.threadById(app.db, request.params.id);
    const ctx = context(request, reply);
    if (thread.author_id !== viewer.id) throw notFound('Your thread');
    return send(reply, threadFormPage(ctx, draftOf(thread, ctx.locale.timeZone), {
      action: `/threads/${thread.id}/edit`, heading: 'Edit your thread', neighbourhood: neighbourhoodOf(thread), editing: true, preview: null,
    }));
  });

  app.post<Id & { Body: ThreadDraft & { preview?: string } }>('/threads/:id/edit', {
    schema: { params: idParams, body: threadFields },
  }, async (request, reply) => {
    const viewer = requireViewer(request.viewer);
    const thread = await threads.threadById(app.db, request.params.id);
    const ctx = context(request, reply);
    const draft = { ...request.body, kind: thread.kind };
    const again = (status: number, error?: string) => send(reply, threadFormPage(ctx, draft, {
      action: `/threads/${thread.id}/edit`, heading: 'Edit your thread', neighbourhood: neighbourhoodOf(thread), editing: true,
      preview: preview(draft.body), error, status,
    }));
    if (draft.preview) return again(200);
    const specific = kindFields(draft, ctx.locale.timeZone);
    if (typeof specific === 'string') return again(400, specific);
    const edited = await attempt(() => threads.editThread(app.db, viewer, thread.id, { title: draft.title ?? '', body: draft.body ?? '', ...specific }));
    if (edited.error) return again(edited.error.status, edited.error.message);
    return seeOther(reply, `/threads/${thread.id}`);
  });

  app.post<Id>('/threads/:id/delete', { schema: { params: idParams, body: formBody({}) } }, async (request, reply) => {
    const thread = await threads.threadById(app.db, request.params.id);
    await threads.deleteThread(app.db, requireViewer(request.viewer), thread.id);
    return seeOther(reply, `/neighbourhoods/${thread.neighbourhood_handle}`);
  });

  app.post<Id & { Body: { status: 'open' | 'fulfilled' } }>('/threads/:id/status', {
    schema: { params: idParams, body: formBody({ status: { type: 'string', enum: ['open', 'fulfilled'] } }, ['status']) },
  }, async (request, reply) => {
    await threads.editThread(app.db, requireViewer(request.viewer), request.params.id, { exchange: { status: request.body.status } });
    return seeOther(reply, `/threads/${request.params.id}`);
  });

  const likeBody = formBody({ liked: { type: 'string', enum: ['0', '1'] } }, ['liked']);

  app.post<Id & { Body: { liked: '0' | '1' } }>('/threads/:id/like', { schema: { params: idParams, body: likeBody } }, async (request, reply) => {
    await app.federation.like(requireViewer(request.viewer), { threadId: request.params.id }, request.body.liked === '1');
    return seeOther(reply, `/threads/${request.params.id}`);
  });

  app.post<Id & { Body: { body?: string; parentId?: string; preview?: string } }>('/threads/:id/replies', {
    schema: { params: idParams, body: replyFields },
  }, async (request, reply) => {
    const viewer = requireViewer(request.viewer);
    const thread = await threads.threadById(app.db, request.params.id);
    const parentId = request.body.parentId ? Number(request.body.parentId) : undefined;
    const body = request.body.body ?? '';
    const parent = parentId ? await threads.replyById(app.db, parentId).catch(() => null) : null;
    const again = (status: number, error?: string) => send(reply, replyFormPage(context(request, reply), {
      thread, context: parent, editing: null, body, preview: preview(body), error, status,
    }));
    if (request.body.preview) return again(200);
    const posted = await attempt(() => threads.reply(app.db, viewer, thread.id, { body, parentId }));
    if (posted.error instanceof HeldForApproval) return seeOther(reply, '/held-posts');
    if (posted.error) return again(posted.error.status, posted.error.message);
    request.log.info({ reply: posted.value.id }, 'reply posted from the web');
    return seeOther(reply, `/threads/${thread.id}#reply-${posted.value.id}`);
  });

  app.get<Id>('/replies/:id', { schema: { params: idParams } }, async (request, reply) => {
    const found = await threads.replyById(app.db, request.params.id);
    return seeOther(reply, `/threads/${found.thread_id}#reply-${found.id}`);
  });

  app.get<Id>('/replies/:id/reply', { schema: { params: idParams } }, async (request, reply) => {
    const viewer = requireViewer(request.viewer);
    const found = await threads.replyById(app.db, request.params.id);
    const thread = await threads.readableThread(app.db, viewer, found.thread_id);
    if (found.deleted_at) throw notFound('That reply');
    return send(reply, replyFormPage(context(request, reply), { thread, context: found, editing: null, body: '', preview: null }));
  });

  async function ownReply(request: FastifyRequest<Id>) {
    const viewer = requireViewer(request.viewer);
    const found = await threads.replyById(app.db, request.params.id);
    if (found.author_id !== viewer.id || found.deleted_at) throw notFound('Your reply');
    return { viewer, found, thread: await threads.threadById(app.db, found.thread_id) };
  }

  app.get<Id>('/replies/:id/edit', { schema: { params: idParams } }, async (request, reply) => {
    const { found, thread } = await ownReply(request);
    return send(reply, replyFormPage(context(request, reply), { thread, context: null, editing: found, body: found.body_source, preview: null }));
  });

  app.post<Id & { Body: { body?: string; preview?: string } }>('/replies/:id/edit', {
    schema: { params: idParams, body: formBody({ body: text(20_000) }) },
  }, async (request, reply) => {
    const { viewer, found, thread } = await ownReply(request);
    const body = request.body.body ?? '';
    const again = (status: number, error?: string) => send(reply, replyFormPage(context(request, reply), {
      thread, context: null, editing: found, body, preview: preview(body), error, status,
    }));
    if (request.body.preview) return again(200);
    const edited = await attempt(() => threads.editReply(app.db, viewer, found.id, body));
    if (edited.error) return again(edited.error.status, edited.error.message);
    return seeOther(reply, `/threads/${thread.id}#reply-${found.id}`);
  });

  app.post<Id>('/replies/:id/delete', { schema: { params: idParams, body: formBody({}) } }, async (request, reply) => {
    const viewer = requireViewer(request.viewer);
    const found = await threads.replyById(app.db, request.params.id);
    await threads.deleteReply(app.db, viewer, found.id);
    return seeOther(reply, `/threads/${found.thread_id}#reply-${found.id}`);
  });

  app.post<Id & { Body: { liked: '0' | '1' } }>('/replies/:id/like', { schema: { params: idParams, body: likeBody } }, async (request, reply) => {
    const found = await threads.replyById(app.db, request.params.id);
    await app.federation.like(requireViewer(request.viewer), { replyId: found.id }, request.body.liked === '1');
    return seeOther(reply, `/threads/${found.thread_id}#reply-${found.id}`);
  });

  // The page script's live preview: the same sanitized rendering the server will store.
  app.post<{ Body: { body?: string } }>('/preview', { schema: { body: formBody({ body: text(20_000) }) } }, async (request, reply) =>
    reply.type('text/html; charset=utf-8').header('cache-control', 'no-store').send(renderMarkdown(request.body.body ?? '')),
  );
};

export default threadPages;
