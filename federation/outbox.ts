// ActivityPub client-to-server: a member's app POSTs activities to their outbox with a bearer token, and
// reads their inbox and outbox. Each activity is translated into the same domain functions the pages, the
// API and the Mastodon API call, so the rules (who may post where, who may edit) and the federation that
// follows (the group announcing, the post going to a remote group) are the same whichever way a post comes.
import type { Context } from '@fedify/fedify';
import {
  Activity,
  Article,
  Create,
  Delete,
  Event,
  Follow,
  Like,
  Note,
  Object as APObject,
  OrderedCollectionPage,
  Page,
  Place,
  Tombstone,
  Undo,
  Update,
} from '@fedify/vocab';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { Viewer } from '../server/accounts/domain.ts';
import { badRequest, forbidden, notFound } from '../server/errors.ts';
import * as feeds from '../server/feeds/domain.ts';
import * as follows from '../server/follows/domain.ts';
import { type Cursor, decodeCursor, encodeCursor } from '../server/http.ts';
import { threadFromText } from '../server/mastodon/domain.ts';
import { plainText } from '../server/markdown.ts';
import * as neighbourhoods from '../server/neighbourhoods/domain.ts';
import * as oauth from '../server/oauth/domain.ts';
import * as profilePosts from '../server/profile-posts/domain.ts';
import * as threads from '../server/threads/domain.ts';
import type { FederationData } from './actors.ts';
import { newActivityId } from './delivery.ts';
import { addressedNeighbourhood, knownPost, noteOf, pageOf, remoteNeighbourhoods } from './groups.ts';
import { maxNesting, nestsDeeperThan } from './nesting.ts';
import { profilePostActivity, publishProfilePost } from './profile-posts.ts';
import type { FederationService } from './service.ts';
import { memberIdentifier } from './vocabulary.ts';

type Ctx = Context<FederationData>;
const asContext = 'https://www.w3.org/ns/activitystreams';
const invalid = (message: string) => badRequest(message, 'invalid_activity');

// ---------------------------------------------------------------------------------------------------
// Our posts as the activities that made them: the outbox, and what an inbox holds

const stampOf = (post: { created_at: Date; edited_at: Date | null }, edited = false) => ((edited && post.edited_at) || post.created_at).getTime().toString(36);

/** The Create of a thread or reply, with the id the group's announcements and our deliveries use. */
export async function createOf(ctx: Ctx, item: { thread: threads.Thread; reply?: threads.Reply }): Promise<Create> {
  const { thread, reply } = item;
  const parent = reply?.parent_id ? await threads.replyById(ctx.data.db, reply.parent_id) : null;
  const object = reply ? noteOf(ctx, reply, thread, parent) : pageOf(ctx, thread);
  return new Create({
    id: new URL(`${object.id!.href}#create-${stampOf(reply ?? thread)}`),
    actor: object.attributionId,
    object,
    tos: object.toIds,
    ccs: object.ccIds,
    published: object.published,
  });
}

const pageSize = 20;

function readCursor(text: string | null | undefined): Cursor | undefined {
  if (!text) return undefined;
  const cursor = decodeCursor(text);
  if (!cursor || typeof cursor.sort !== 'string') throw badRequest('That cursor is not one of ours.', 'invalid_cursor');
  return cursor;
}

/** Fedify's name for the outbox's first page. */
export const firstOutboxPage = 'first';

/**
 * One page of a member's outbox, newest first: the Creates of their threads and replies in public
 * neighbourhoods and of their own posts. Two lists are merged, so the cursor holds a position in each.
 */
export async function outboxPage(ctx: Ctx, memberId: number, cursor: string | null) {
  const [inFeed, inPosts] = cursor && cursor !== firstOutboxPage ? cursor.split('.') : [];
  const feedAfter = readCursor(inFeed);
  const postAfter = readCursor(inPosts);
  const { items } = await feeds.postsBy(ctx.data.db, memberId, { limit: pageSize, after: feedAfter });
  const posts = await profilePosts.postsBy(ctx.data.db, memberId, pageSize, postAfter && { at: new Date(postAfter.sort), id: postAfter.id });
  const merged = [
    ...items.map((item) => ({ at: item.at, make: () => createOf(ctx, item), position: { feed: { sort: item.at.toISOString(), id: item.key } } })),
    ...posts.map((post) => ({ at: post.created_at, make: () => profilePostActivity(ctx, post.id, 'created'), position: { post: { sort: post.created_at.toISOString(), id: post.id } } })),
  ].sort((x, y) => y.at.getTime() - x.at.getTime()).slice(0, pageSize);
  let next = { feed: feedAfter, post: postAfter };
  for (const entry of merged) next = { ...next, ...entry.position };
  const created = await Promise.all(merged.map((entry) => entry.make()));
  return {
    items: created.filter((activity) => activity !== null),
    nextCursor: merged.length === pageSize ? [next.feed, next.post].map((at) => (at ? encodeCursor(at) : '')).join('.') : null,
  };
}

/**
 * What a member's inbox holds, for them alone: what they received, which is what their home feed shows
 * (the threads and replies in the neighbourhoods they follow, here or elsewhere), as Create activities.
 */
async function inboxPage(ctx: Ctx, viewer: Viewer, cursor: string | undefined) {
  const inbox = ctx.getInboxUri(memberIdentifier(viewer.username));
  const { items, next } = await feeds.homeFeed(ctx.data.db, viewer, { limit: pageSize, after: readCursor(cursor) });
  const page = new OrderedCollectionPage({
    id: cursor ? new URL(`${inbox.href}?cursor=${cursor}`) : inbox,
    partOf: inbox,
    items: await Promise.all(items.map((item) => createOf(ctx, item))),
    next: next ? new URL(`${inbox.href}?cursor=${encodeCursor(next)}`) : null,
  });
  return page.toJsonLd({ format: 'compact', contextLoader: ctx.contextLoader });
}

// ---------------------------------------------------------------------------------------------------
// Activities from the member's app: a post addressed to a neighbourhood starts a thread there, one with
// `inReplyTo` replies, and one addressed to no neighbourhood is the member's own post on their profile.

const postTypes = [Note, Page, Article, Event] as const;
type Post = Note | Page | Article | Event;
const isPost = (object: unknown): object is Post => postTypes.some((type) => object instanceof type);

/** The scope each activity needs, as Mastodon names them. */
function scopeFor(activity: Activity, inner: APObject | null): string {
  if (activity instanceof Like || (activity instanceof Undo && inner instanceof Like)) return 'write:favourites';
  if (activity instanceof Follow || (activity instanceof Undo && inner instanceof Follow)) return 'write:follows';
  return 'write:statuses';
}

/** The text of a post as Markdown: its `source` when it is Markdown or plain text, else its HTML read as text. */
function textOf(post: Post): string {
  const source = post.source;
  if (source?.content && /^text\/(markdown|plain)\b/.test(source.mediaType ?? '')) return source.content.toString();
  const html = post.content?.toString() ?? '';
  return plainText(html.replace(/<\/(p|div|h\d|li|blockquote)>|<br\s*\/?>/gi, '\n')).replace(/\n{3,}/g, '\n\n').trim();
}

const dateOf = (instant: { epochMilliseconds: number } | null) => (instant ? new Date(instant.epochMilliseconds) : null);

/** A new thread or reply from a post object; returns the Create that made it. */
async function createPost(ctx: Ctx, viewer: Viewer, post: Post): Promise<Create> {
  const db = ctx.data.db;
  const body = textOf(post);
  if (!body.trim()) throw invalid('The post has no content (give `content`, or `source` in Markdown).');
  if (post.replyTargetId) {
    const parent = await knownPost(ctx, post.replyTargetId);
    if (!parent) throw invalid(`inReplyTo names no post known here: ${post.replyTargetId.href}`);
    const threadId = 'thread' in parent ? parent.thread.id : parent.reply.thread_id;
    const reply = await threads.reply(db, viewer, threadId, { body, parentId: 'reply' in parent ? parent.reply.id : undefined });
    return createOf(ctx, { thread: await threads.threadById(db, threadId), reply });
  }
  const neighbourhood = await addressedNeighbourhood(ctx, post);
  if (!neighbourhood) {
    // Addressed to no neighbourhood: the member's own post, on their profile and sent to their followers.
    const own = await profilePosts.createPost(db, viewer, body);
    return (await publishProfilePost(ctx, own.id, 'created')) as Create;
  }
  const named = post.name?.toString().trim();
  const { title, body: rest } = named ? { title: named, body } : threadFromText(body, neighbourhood.handle, ctx.data.config.domain);
  const startsAt = post instanceof Event ? dateOf(post.startTime) : null;
  let place: string | null = null;
  if (startsAt) {
    const location = await (post as Event).getLocation({ suppressError: true }).catch(() => null);
    place = location instanceof Place ? (location.name?.toString() ?? null) : null;
  }
  const thread = await threads.startThread(db, viewer, neighbourhood.handle, {
    kind: startsAt ? 'event' : 'discussion',
    title,
    body: rest,
    ...(startsAt && { event: { startsAt, endsAt: dateOf((post as Event).endTime), place } }),
  });
  return createOf(ctx, { thread });
}

/** The thread or reply an activity's object names; only ours can be edited or deleted from here. */
async function targetOf(ctx: Ctx, id: URL | null) {
  if (!id) throw invalid('The activity needs an object.');
  const known = await knownPost(ctx, id);
  if (!known) throw notFound(`The post ${id.href}`);
  return known;
}

/** The id of one of our members' own posts, from its URL, if that is what `id` is. */
function profilePostId(ctx: Ctx, id: URL | null): number | null {
  const match = id && id.origin === new URL(ctx.origin).origin ? /^\/posts\/(\d{1,9})$/.exec(id.pathname) : null;
  return match ? Number(match[1]) : null;
}

async function update(ctx: Ctx, viewer: Viewer, post: APObject | null, actor: URL): Promise<Activity> {
  if (!isPost(post) || !post.id) throw invalid('Update takes the changed Note, Page or Event, with its id.');
  const body = textOf(post);
  const db = ctx.data.db;
  const own = profilePostId(ctx, post.id);
  if (own !== null) {
    await profilePosts.editPost(db, viewer, own, body);
    return (await publishProfilePost(ctx, own, 'edited'))!;
  }
  const known = await targetOf(ctx, post.id);
  let object: APObject;
  if ('thread' in known) {
    const thread = await threads.editThread(db, viewer, known.thread.id, { ...(post.name && { title: post.name.toString() }), ...(body && { body }) });
    object = pageOf(ctx, thread);
  } else {
    const reply = await threads.editReply(db, viewer, known.reply.id, body);
    object = noteOf(ctx, reply, await threads.threadById(db, reply.thread_id), reply.parent_id ? await threads.replyById(db, reply.parent_id) : null);
  }
  return new Update({ id: newActivityId(ctx), actor, object, tos: object.toIds, ccs: object.ccIds });
}

async function remove(ctx: Ctx, viewer: Viewer, activity: Delete, actor: URL): Promise<Activity> {
  const own = profilePostId(ctx, activity.objectId);
  if (own !== null) {
    await profilePosts.deletePost(ctx.data.db, viewer, own);
    return (await publishProfilePost(ctx, own, 'deleted'))!;
  }
  const known = await targetOf(ctx, activity.objectId);
  if ('thread' in known) await threads.deleteThread(ctx.data.db, viewer, known.thread.id);
  else await threads.deleteReply(ctx.data.db, viewer, known.reply.id);
  return new Delete({ id: new URL(`${activity.objectId!.href}#delete`), actor, object: new Tombstone({ id: activity.objectId }) });
}

// A like's and a follow's ids say what they were of, so an Undo naming only the id can be carried out.
const likeId = (actor: URL, target: { threadId: number } | { replyId: number }) =>
  new URL(`${actor.href}#likes/${'threadId' in target ? `threads/${target.threadId}` : `replies/${target.replyId}`}`);
const followId = (actor: URL, neighbourhoodId: number) => new URL(`${actor.href}#follows/${neighbourhoodId}`);

async function setLike(ctx: Ctx, service: FederationService, viewer: Viewer, actor: URL, objectId: URL | null, liked: boolean): Promise<URL> {
  const known = await targetOf(ctx, objectId);
  const target = 'thread' in known ? { threadId: known.thread.id } : { replyId: known.reply.id };
  await service.like(viewer, target, liked);
  return likeId(actor, target);
}

/** A follow of a neighbourhood, here or on another server, as the follows feature does it. */
async function follow(ctx: Ctx, service: FederationService, viewer: Viewer, actor: URL, objectId: URL | null): Promise<URL> {
  if (!objectId) throw invalid('Follow needs the neighbourhood to follow as its object.');
  const reference = follows.parseReference(objectId.href, ctx.data.config);
  const neighbourhood = await follows.resolveNeighbourhood(ctx.data.db, reference, remoteNeighbourhoods(service), viewer);
  await follows.follow(ctx.data.db, viewer, neighbourhood.id);
  return followId(actor, neighbourhood.id);
}

async function unfollow(ctx: Ctx, viewer: Viewer, objectId: URL | null): Promise<void> {
  if (!objectId) throw invalid('Undo of a Follow needs what was followed.');
  const local = ctx.parseUri(objectId);
  const handle = local?.type === 'actor' ? /^neighbourhoods\/(.+)$/.exec(local.identifier)?.[1] : undefined;
  const neighbourhood = handle
    ? await neighbourhoods.neighbourhoodByHandle(ctx.data.db, handle)
    : await neighbourhoods.neighbourhoodByApId(ctx.data.db, objectId.href);
  if (!neighbourhood) throw notFound(`The neighbourhood ${objectId.href}`);
  await follows.unfollow(ctx.data.db, viewer, neighbourhood.id);
}

/** What an Undo undoes: its embedded Like or Follow, or one of the ids we hand out for them. */
async function undo(ctx: Ctx, service: FederationService, viewer: Viewer, activity: Undo, inner: APObject | null, actor: URL): Promise<Activity> {
  const own = activity.objectId?.href.startsWith(`${actor.href}#`) ? activity.objectId.hash.slice(1) : undefined;
  const liked = own && /^likes\/(threads|replies)\/(\d+)$/.exec(own);
  const followed = own && /^follows\/(\d+)$/.exec(own);
  if (liked) {
    const id = Number(liked[2]);
    await service.like(viewer, liked[1] === 'threads' ? { threadId: id } : { replyId: id }, false);
  } else if (followed) {
    await follows.unfollow(ctx.data.db, viewer, Number(followed[1]));
  } else if (inner instanceof Like) {
    await setLike(ctx, service, viewer, actor, inner.objectId, false);
  } else if (inner instanceof Follow) {
    await unfollow(ctx, viewer, inner.objectId);
  } else {
    throw invalid('Undo takes a Like or a Follow (embedded, or by the id we gave it).');
  }
  return new Undo({ id: newActivityId(ctx), actor, object: activity.objectId });
}

const loaders = (ctx: Ctx) => ({ documentLoader: ctx.documentLoader, contextLoader: ctx.contextLoader });
const notFetched = () => Promise.reject(new Error('Objects named by id are not fetched here.'));

/** Reads the body as an activity, wrapping a bare post in a Create. Anything unreadable is a 400 with a reason. */
async function readActivity(ctx: Ctx, json: unknown, actor: URL): Promise<{ activity: Activity; inner: APObject | null }> {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw invalid('The body must be one JSON object: an activity or a post.');
  const document = json as Record<string, unknown>;
  if (typeof document.type !== 'string') throw invalid('The activity needs a `type`.');
  // Apps often leave the context out; the ActivityStreams one is what they mean.
  const withContext = '@context' in document ? document : { '@context': asContext, ...document };
  let parsed: APObject;
  try {
    parsed = await APObject.fromJsonLd(withContext, loaders(ctx));
  } catch (error) {
    throw invalid(`The activity could not be read as ActivityStreams: ${(error as Error).message}`);
  }
  if (isPost(parsed)) return { activity: new Create({ actor, object: parsed, tos: parsed.toIds, ccs: parsed.ccIds }), inner: parsed };
  if (!(parsed instanceof Activity)) throw invalid(`A ${document.type} is neither an activity nor a post we take.`);
  if (parsed.actorIds.some((id) => id.href !== actor.href)) throw invalid('The activity’s actor must be the owner of this outbox.');
  // Only what the activity carries is read: nothing is fetched on the member's behalf.
  const inner = await parsed.getObject({ documentLoader: notFetched, contextLoader: ctx.contextLoader, crossOrigin: 'trust' }).catch(() => null);
  return { activity: parsed, inner };
}

/** Carries out one activity for the member; returns the activity as we record it (its id is the Location). */
async function perform(ctx: Ctx, service: FederationService, viewer: Viewer, activity: Activity, inner: APObject | null, actor: URL): Promise<Activity> {
  if (activity instanceof Create) {
    if (!isPost(inner)) throw invalid('Create takes a Note, Page, Article or Event.');
    return createPost(ctx, viewer, inner);
  }
  if (activity instanceof Update) return update(ctx, viewer, inner, actor);
  if (activity instanceof Delete) return remove(ctx, viewer, activity, actor);
  if (activity instanceof Like) {
    const id = await setLike(ctx, service, viewer, actor, activity.objectId, true);
    return new Like({ id, actor, object: activity.objectId });
  }
  if (activity instanceof Follow) {
    const id = await follow(ctx, service, viewer, actor, activity.objectId);
    return new Follow({ id, actor, object: activity.objectId });
  }
  if (activity instanceof Undo) return undo(ctx, service, viewer, activity, inner, actor);
  throw invalid(`${activity.constructor.name} is not an activity this outbox takes (Create, Update, Delete, Like, Follow, Undo).`);
}

// ---------------------------------------------------------------------------------------------------
// The routes: ActivityPub's, so they stay out of the API description like the ones Fedify answers.

const usernameParams = { type: 'object', required: ['username'], properties: { username: { type: 'string', maxLength: 40 } } } as const;
const errorBody = { type: 'object', required: ['error', 'message'], properties: { error: { type: 'string' }, message: { type: 'string' } } } as const;
const errors = { 400: errorBody, 401: errorBody, 403: errorBody, 404: errorBody, 409: errorBody, 413: errorBody } as const;
const activityJson = 'application/activity+json; charset=utf-8';

/** The member behind the bearer token, who must own the outbox or inbox asked for and hold `scope`. */
async function ownerOf(request: FastifyRequest<{ Params: { username: string } }>, db: FederationData['db']): Promise<{ viewer: Viewer; access: oauth.Access }> {
  const header = request.headers.authorization;
  const bearer = header && /^Bearer\s/i.test(header) ? header.slice(7).trim() : undefined;
  const access = bearer ? await oauth.accessFor(db, bearer) : undefined;
  if (bearer && !access) throw oauth.invalidToken();
  oauth.requireAccess(access ?? null, undefined, true);
  const viewer = access!.viewer!;
  if (viewer.username.toLowerCase() !== request.params.username.toLowerCase()) {
    throw forbidden('Only its owner may use this outbox or read this inbox.', 'not_the_owner');
  }
  return { viewer, access: access! };
}

export function clientToServer(service: FederationService): FastifyPluginAsync {
  return async (app) => {
    // Activities arrive as JSON-LD; the body is read whole (within the body limit) and checked for depth first.
    app.addContentTypeParser(['application/activity+json', 'application/ld+json'], { parseAs: 'buffer' }, (_request, body, done) => {
      const bytes = body as Buffer;
      if (nestsDeeperThan(bytes)) return done(invalid(`An activity may nest at most ${maxNesting} levels deep.`));
      try {
        done(null, JSON.parse(bytes.toString('utf8')));
      } catch {
        done(invalid('The body is not valid JSON.'));
      }
    });

    app.post<{ Params: { username: string }; Body: unknown }>('/members/:username/outbox', {
      schema: {
        summary: 'ActivityPub C2S: post an activity (or a bare post, wrapped in Create) as the member',
        hide: true,
        params: usernameParams,
        response: { 201: { type: 'object', additionalProperties: true }, ...errors },
      },
    }, async (request, reply) => {
      const { viewer, access } = await ownerOf(request, app.db);
      const ctx = service.context();
      const actor = ctx.getActorUri(memberIdentifier(viewer.username));
      const { activity, inner } = await readActivity(ctx, request.body, actor);
      oauth.requireAccess(access, scopeFor(activity, inner), true);
      const done = await perform(ctx, service, viewer, activity, inner, actor);
      request.log.info({ member: viewer.id, type: done.constructor.name, activity: done.id?.href }, 'activity posted to an outbox');
      const json = await done.toJsonLd({ format: 'compact', contextLoader: ctx.contextLoader });
      return reply.status(201).header('location', done.id!.href).type(activityJson).send(json);
    });

    app.get<{ Params: { username: string }; Querystring: { cursor?: string } }>('/members/:username/inbox', {
      schema: {
        summary: 'ActivityPub C2S: the member’s inbox (what their home feed shows), for them alone',
        hide: true,
        params: usernameParams,
        querystring: { type: 'object', properties: { cursor: { type: 'string', maxLength: 200 } } },
        response: { 200: { type: 'object', additionalProperties: true }, ...errors },
      },
    }, async (request, reply) => {
      const { viewer, access } = await ownerOf(request, app.db);
      oauth.requireAccess(access, 'read:statuses', true);
      return reply.type(activityJson).send(await inboxPage(service.context(), viewer, request.query.cursor));
    });
  };
}
