// Neighbourhoods as FEP-1b12 groups: threads are Pages and replies Notes; the group announces what is
// posted in it to its followers; posts, edits, deletions and likes from other servers come in through
// the same domain functions as ours (remote authors are member rows named `name@host`).
import type { Context, InboxContext, RequestContext } from '@fedify/fedify';
import {
  type Activity,
  Announce,
  Article,
  Collection,
  CollectionPage,
  Create,
  Delete,
  Dislike,
  Event,
  Group,
  Image,
  Like,
  Link,
  Mention,
  Note,
  Object as APObject,
  OrderedCollectionPage,
  Page,
  PUBLIC_COLLECTION,
  Place,
  Source,
  Tombstone,
  Undo,
  Update,
  Video,
} from '@fedify/vocab';
import { LanguageString } from '@fedify/vocab-runtime';
import { Temporal } from '@js-temporal/polyfill';
import type { Viewer } from '../server/accounts/domain.ts';
import { remoteMember } from '../server/accounts/domain.ts';
import type { Database, StoredAttachment } from '../server/database.ts';
import { AppError, badRequest } from '../server/errors.ts';
import type { RemoteNeighbourhoods } from '../server/follows/domain.ts';
import { actorByUri } from '../server/remote-actors/domain.ts';
import type { LiveEvent } from '../server/live/bus.ts';
import { escapeHtml, plainText, renderMarkdown } from '../server/markdown.ts';
import * as neighbourhoods from '../server/neighbourhoods/domain.ts';
import { countAcceptedFollows, isAdmittedFollower } from '../server/remote-follows/domain.ts';
import * as threads from '../server/threads/domain.ts';
import { actingAs, type FederationData, neighbourhoodActor } from './actors.ts';
import { findRemoteActor, recipientOf, rememberRemoteActor, sendActivity } from './delivery.ts';
import { type InboxHandler, on } from './inbox.ts';
import type { FederationService } from './service.ts';
import { undoHandlers } from './inbox.ts';
import { mirrorModerators, receiveAnnouncedModeration } from './moderation.ts';
import { memberIdentifier, neighbourhoodIdentifier } from './vocabulary.ts';

type Ctx = Context<FederationData>;

const threadUri = (ctx: Ctx, id: number) => new URL(`/threads/${id}`, ctx.origin);
const replyUri = (ctx: Ctx, id: number) => new URL(`/replies/${id}`, ctx.origin);
/** FEP-7888: a thread's context is its collection of posts. */
const contextUri = (ctx: Ctx, threadId: number) => new URL(`/threads/${threadId}/context`, ctx.origin);
/** The group a thread is in: ours, or the one on another server we follow. */
const groupUri = (ctx: Ctx, thread: threads.Thread) =>
  thread.neighbourhood_ap_id ? new URL(thread.neighbourhood_ap_id) : ctx.getActorUri(neighbourhoodIdentifier(thread.neighbourhood_handle));
const postUri = (ctx: Ctx, post: { id: number; ap_id: string | null }, kind: 'thread' | 'reply') =>
  post.ap_id ? new URL(post.ap_id) : kind === 'thread' ? threadUri(ctx, post.id) : replyUri(ctx, post.id);
const authorUri = (ctx: Ctx, post: { author_ap_id: string | null; author_username: string | null }) =>
  post.author_ap_id ? new URL(post.author_ap_id) : post.author_username ? ctx.getActorUri(memberIdentifier(post.author_username)) : null;

// ---------------------------------------------------------------------------------------------------
// Our posts as objects

export function pageOf(ctx: Ctx, thread: threads.Thread): Page | Event {
  const group = groupUri(ctx, thread);
  const fields = {
    id: postUri(ctx, thread, 'thread'),
    url: postUri(ctx, thread, 'thread'),
    attribution: authorUri(ctx, thread),
    audience: group,
    contexts: [contextUri(ctx, thread.id)],
    tos: [PUBLIC_COLLECTION, group],
    ccs: thread.neighbourhood_ap_id ? [] : [ctx.getFollowersUri(neighbourhoodIdentifier(thread.neighbourhood_handle))],
    name: thread.title,
    content: thread.body_html,
    mediaType: 'text/html',
    source: thread.ap_id ? null : new Source({ content: thread.body_source, mediaType: 'text/markdown' }),
    sensitive: thread.sensitive,
    published: Temporal.Instant.from(thread.created_at.toISOString()),
    updated: thread.edited_at ? Temporal.Instant.from(thread.edited_at.toISOString()) : null,
    replies: new URL(`/threads/${thread.id}/context`, ctx.origin),
  };
  if (thread.kind === 'event' && thread.event_starts_at) {
    // Mobilizon's shape, which Mastodon also shows as a post with a title.
    return new Event({
      ...fields,
      startTime: Temporal.Instant.from(thread.event_starts_at.toISOString()),
      endTime: thread.event_ends_at ? Temporal.Instant.from(thread.event_ends_at.toISOString()) : null,
      location: thread.event_place ? new Place({ name: thread.event_place }) : null,
    });
  }
  return new Page(fields);
}

export function noteOf(ctx: Ctx, reply: threads.Reply, thread: threads.Thread, parent: threads.Reply | null): Note {
  const group = groupUri(ctx, thread);
  const id = postUri(ctx, reply, 'reply');
  return new Note({
    id,
    url: id,
    attribution: authorUri(ctx, reply),
    audience: group,
    contexts: [contextUri(ctx, thread.id)],
    replyTarget: parent ? postUri(ctx, parent, 'reply') : postUri(ctx, thread, 'thread'),
    tos: [PUBLIC_COLLECTION, group],
    content: reply.body_html,
    mediaType: 'text/html',
    source: reply.ap_id ? null : new Source({ content: reply.body_source, mediaType: 'text/markdown' }),
    published: Temporal.Instant.from(reply.created_at.toISOString()),
    updated: reply.edited_at ? Temporal.Instant.from(reply.edited_at.toISOString()) : null,
  });
}

// ---------------------------------------------------------------------------------------------------
// The group announces

/**
 * What the group sends its followers when something changes in it. Lemmy-family servers get the
 * activity wrapped (`Announce(Create(Page))`); for microblog followers (Mastodon & co.) a new thread is
 * also boosted as `Announce(Page)`, but replies, edits and deletions are not, so a neighbourhood does not
 * flood their timelines (the choice Lemmy and NodeBB made after LemmyNet/lemmy#2224, mastodon#18069).
 */
export async function announceChange(ctx: Ctx, event: LiveEvent): Promise<void> {
  const db = ctx.data.db;
  const neighbourhood = await neighbourhoods.neighbourhoodById(db, event.neighbourhood.id);
  if (neighbourhood.ap_id) return sendToRemoteGroup(ctx, neighbourhood.ap_id, event);
  const actor = neighbourhoodActor(neighbourhood);
  if ((await countAcceptedFollows(db, actor.owner, 'inbound')) === 0) return;
  // Signing as the group and listing its followers reuse this lookup.
  ctx = actingAs(ctx, actor);
  const groupId = actor.identifier;
  const group = ctx.getActorUri(groupId);
  const followers = ctx.getFollowersUri(groupId);
  const announce = async (inner: Activity | APObject, tag: string) =>
    sendActivity(ctx, groupId, 'followers', new Announce({ id: new URL(`${group.href}/announces/${tag}`), actor: group, object: inner, tos: [PUBLIC_COLLECTION], ccs: [followers] }));

  let object: APObject;
  let stamp: string;
  if (event.event === 'thread.deleted' || event.event === 'reply.deleted') {
    const deleted = await threads.deletedPost(db, event.replyId !== undefined ? { replyId: event.replyId } : { threadId: event.threadId });
    // A moderator's removal is announced from the moderation log, as the moderator's Delete.
    if (!deleted || deleted.removed_at) return;
    const uri = postUri(ctx, deleted, event.replyId !== undefined ? 'reply' : 'thread');
    const del = new Delete({ id: new URL(`${uri.href}#delete`), actor: authorUri(ctx, deleted) ?? group, object: new Tombstone({ id: uri }), audience: group, tos: [PUBLIC_COLLECTION], ccs: [group] });
    await announce(del, `${event.event}-${event.replyId ?? event.threadId}`);
    return;
  }
  const thread = await threads.threadById(db, event.threadId);
  if (event.replyId !== undefined) {
    const reply = await threads.replyById(db, event.replyId);
    object = noteOf(ctx, reply, thread, await parentOf(ctx, reply));
    stamp = (reply.edited_at ?? reply.created_at).getTime().toString(36);
  } else {
    object = pageOf(ctx, thread);
    stamp = (thread.edited_at ?? thread.created_at).getTime().toString(36);
  }
  const author = (object as Note).attributionId ?? group;
  const Wrapper = event.event.endsWith('.created') ? Create : Update;
  const activity = new Wrapper({
    // Deterministic, so a second process hearing the same change sends an id receivers drop as a repeat.
    id: new URL(`${object.id!.href}#${Wrapper === Create ? 'create' : 'update'}-${stamp}`),
    actor: author,
    object,
    audience: group,
    tos: [PUBLIC_COLLECTION, group],
    ccs: [followers],
  });
  await announce(activity, `${event.event}-${event.replyId ?? event.threadId}-${stamp}`);
  if (event.event === 'thread.created') await announce(object, `boost-${event.threadId}`);
}

async function parentOf(ctx: Ctx, reply: threads.Reply) {
  return reply.parent_id === null ? null : threads.replyById(ctx.data.db, reply.parent_id);
}

/**
 * A post by one of our members in a neighbourhood on another server goes to that group (FEP-1b12), which
 * announces it to its followers, us included. Posts that came from elsewhere are not ours to send.
 */
async function sendToRemoteGroup(ctx: Ctx, groupApId: string, event: LiveEvent): Promise<void> {
  const db = ctx.data.db;
  const group = await actorByUri(db, groupApId);
  if (!group) return;
  if (event.event === 'thread.deleted' || event.event === 'reply.deleted') {
    const deleted = await threads.deletedPost(db, event.replyId !== undefined ? { replyId: event.replyId } : { threadId: event.threadId });
    if (!deleted || deleted.removed_at || deleted.ap_id || !deleted.author_username || deleted.author_ap_id) return;
    const identifier = memberIdentifier(deleted.author_username);
    const uri = event.replyId !== undefined ? replyUri(ctx, event.replyId) : threadUri(ctx, event.threadId);
    const actor = ctx.getActorUri(identifier);
    await sendActivity(ctx, identifier, recipientOf(group), new Delete({ id: new URL(`${uri.href}#delete`), actor, object: new Tombstone({ id: uri }), audience: new URL(groupApId), tos: [PUBLIC_COLLECTION, new URL(groupApId)] }));
    return;
  }
  const thread = await threads.threadById(db, event.threadId);
  const post = event.replyId !== undefined ? await threads.replyById(db, event.replyId) : thread;
  if (post.ap_id || post.author_ap_id || !post.author_username) return;
  const object = event.replyId !== undefined ? noteOf(ctx, post as threads.Reply, thread, await parentOf(ctx, post as threads.Reply)) : pageOf(ctx, thread);
  const identifier = memberIdentifier(post.author_username);
  const Wrapper = event.event.endsWith('.created') ? Create : Update;
  const stamp = (post.edited_at ?? post.created_at).getTime().toString(36);
  await sendActivity(ctx, identifier, recipientOf(group), new Wrapper({
    id: new URL(`${object.id!.href}#${Wrapper === Create ? 'create' : 'update'}-${stamp}`),
    actor: ctx.getActorUri(identifier),
    object,
    audience: new URL(groupApId),
    tos: [PUBLIC_COLLECTION, new URL(groupApId)],
  }));
}

// ---------------------------------------------------------------------------------------------------
// Posts from other servers

// A PeerTube Video (announced by a channel followed as a neighbourhood) becomes a thread linking to it.
const postTypes = [Page, Article, Note, Event, Video] as const;
type Post = Page | Article | Note | Event | Video;
const isPost = (object: unknown): object is Post => postTypes.some((type) => object instanceof type);

/** How far we follow `inReplyTo` up to fill in a thread we do not have (and how many fetches per post). */
const backfillDepth = 8;

function toDate(instant: Temporal.Instant | null | undefined): Date | null {
  return instant ? new Date(instant.epochMilliseconds) : null;
}

/** The local (or followed remote) neighbourhood a post is addressed to, mentions, or names as audience. */
export async function addressedNeighbourhood(ctx: Ctx, post: Post): Promise<neighbourhoods.Neighbourhood | null> {
  const candidates: URL[] = [...post.audienceIds, ...post.toIds, ...post.ccIds];
  for await (const tag of post.getTags({ suppressError: true })) if (tag instanceof Mention && tag.href) candidates.push(tag.href);
  for (const uri of candidates) {
    const parsed = ctx.parseUri(uri);
    if (parsed?.type === 'actor') {
      const match = /^neighbourhoods\/(.+)$/.exec(parsed.identifier);
      if (match) {
        try {
          return await neighbourhoods.neighbourhoodByHandle(ctx.data.db, match[1]!);
        } catch (error) {
          if (!(error instanceof AppError)) throw error;
        }
      }
    }
    const remote = await neighbourhoods.neighbourhoodByApId(ctx.data.db, uri.href);
    if (remote) return remote;
  }
  return null;
}

/** The member row for a remote actor, fetched (and cached) the first time. */
export async function authorOf(ctx: Ctx, actorUri: URL): Promise<Viewer | null> {
  const actor = await rememberRemoteActor(ctx, actorUri);
  if (!actor) return null;
  return remoteMember(ctx.data.db, { apId: actor.uri, handle: actor.handle ?? `${actor.uri.split('/').pop()}@${actor.host}`, displayName: actor.name });
}

/** The post an id names: ours by its URL, or one from elsewhere by its ActivityPub id. */
export async function knownPost(ctx: Ctx, uri: URL) {
  const local = new RegExp(`^/(threads|replies)/(\\d+)$`).exec(uri.origin === new URL(ctx.origin).origin ? uri.pathname : '');
  if (local) {
    try {
      return local[1] === 'threads' ? { thread: await threads.threadById(ctx.data.db, Number(local[2])) } : { reply: await threads.replyById(ctx.data.db, Number(local[2])) };
    } catch (error) {
      if (error instanceof AppError) return null;
      throw error;
    }
  }
  return threads.postByApId(ctx.data.db, uri.href);
}

async function remoteDetails(post: Post) {
  const attachments: StoredAttachment[] = [];
  for await (const item of post.getAttachments({ suppressError: true })) {
    const href = item instanceof Link ? item.href : item && 'url' in item ? (item.url instanceof URL ? item.url : (item.url as Link | null)?.href) : null;
    if (!href || !/^https?:$/.test(href.protocol)) continue;
    const type = (item.constructor as typeof APObject).typeId.href.split('#').pop()!;
    attachments.push({ url: href.href, mediaType: (item as Image).mediaType ?? null, name: item instanceof Link ? null : (item.name?.toString() ?? null), type });
    if (attachments.length >= 20) break;
  }
  // PeerTube writes Markdown (and says so); everyone else HTML.
  const content = post.mediaType === 'text/markdown' && post.content ? renderMarkdown(post.content.toString()) : post.content;
  const warning = post.summary?.toString();
  const link = post.url instanceof URL ? post.url : (post.url as Link | null)?.href;
  const watch = post instanceof Video && link && /^https?:$/.test(link.protocol) ? `<p><a href="${escapeHtml(link.href)}">Watch the video</a></p>` : '';
  // A content warning (Mastodon's `summary` on a Note) stays with the text; a Page without content (a
  // link post) shows its summary, else its link.
  const body = content?.toString().trim()
    || (post instanceof Note ? '' : warning)
    || (link && /^https?:$/.test(link.protocol) ? `<p><a href="${escapeHtml(link.href)}">${escapeHtml(link.href)}</a></p>` : '');
  const html = (warning && post instanceof Note ? `<p><strong>CW: ${plainText(warning)}</strong></p>` : '') + watch + body;
  return {
    apId: post.id!.href,
    html,
    language: post.content instanceof LanguageString ? post.content.locale.baseName : null,
    sensitive: post.sensitive ?? false,
    attachments,
    publishedAt: toDate(post.published),
  };
}

function titleOf(post: Post, html: string): string {
  const name = post.name?.toString().trim();
  if (name) return name.slice(0, 200);
  const firstLine = plainText(html.replace(/<\/(p|div|h\d|li)>|<br\s*\/?>/gi, '\n')).split('\n').find((line) => line.trim());
  return (firstLine?.trim() || 'Untitled').slice(0, 200);
}

/**
 * Stores a post from another server: a reply when it answers something we have (fetching missing
 * parents up to `backfillDepth`), otherwise a thread when it is addressed to one of our neighbourhoods
 * or one we follow. Returns what it became, or null when it belongs nowhere here.
 */
interface Receiving {
  /** How many `inReplyTo` steps up from the post that arrived. */
  depth?: number;
  /** The followed neighbourhood that announced it, if any. */
  announcedBy?: neighbourhoods.Neighbourhood;
  /** Inside a backfill already: do not start another. */
  backfilling?: boolean;
}

export async function receivePost(ctx: Ctx, post: Post, { depth = 0, announcedBy, backfilling = false }: Receiving = {}): Promise<{ thread: threads.Thread } | { reply: threads.Reply } | null> {
  if (!post.id || !post.attributionId) return null;
  const existing = await knownPost(ctx, post.id);
  if (existing) return existing;
  const author = await authorOf(ctx, post.attributionId);
  if (!author) return null;
  const details = await remoteDetails(post);
  const db = ctx.data.db;

  if (post.replyTargetId) {
    let parent = await knownPost(ctx, post.replyTargetId);
    if (!parent && depth < backfillDepth) {
      const fetched = await lookup(ctx, post.replyTargetId);
      if (isPost(fetched)) parent = await receivePost(ctx, fetched, { depth: depth + 1, announcedBy, backfilling });
    }
    if (!parent) return null;
    // Filling in the thread may have brought this very post already.
    const meanwhile = await knownPost(ctx, post.id);
    if (meanwhile) return meanwhile;
    const threadId = 'thread' in parent ? parent.thread.id : parent.reply.thread_id;
    const parentId = 'reply' in parent ? parent.reply.id : undefined;
    return { reply: await threads.reply(db, author, threadId, { body: '', parentId, remote: details }) };
  }

  const neighbourhood = announcedBy ?? (await addressedNeighbourhood(ctx, post));
  if (!neighbourhood) return null;
  const event = post instanceof Event && post.startTime
    ? { startsAt: toDate(post.startTime)!, endsAt: toDate(post.endTime), place: await placeName(ctx, post) }
    : undefined;
  const thread = await threads.startThread(db, author, neighbourhood.handle, {
    kind: event ? 'event' : 'discussion',
    title: titleOf(post, details.html),
    body: '',
    ...(event && { event: event.endsAt && event.endsAt < event.startsAt ? { ...event, endsAt: null } : event }),
    remote: details,
  });
  if (!backfilling) await backfillThread(ctx, post, neighbourhood);
  return { thread };
}

/** At most this many posts are fetched to fill in one thread we see for the first time. */
const backfillLimit = 100;

/**
 * A thread new to us may already have replies: we read its context (FEP-7888 / FEP-f228: the collection
 * of the thread's posts, parents before children) or else its `replies`, and store what we lack.
 */
async function backfillThread(ctx: Ctx, post: Post, neighbourhood: neighbourhoods.Neighbourhood) {
  const source = post.contextIds[0] ?? post.repliesId;
  if (!source) return;
  const collection = await lookup(ctx, source);
  if (!(collection instanceof Collection)) return;
  const loader = { documentLoader: await ctx.getDocumentLoader({ identifier: 'actor' }), contextLoader: ctx.contextLoader, suppressError: true };
  let seen = 0;
  let page: Collection | null = collection;
  for (let pages = 0; page && pages < 10 && seen < backfillLimit; pages++) {
    for (const id of page.itemIds) {
      if (++seen > backfillLimit) break;
      if (id.href === post.id?.href || (await knownPost(ctx, id))) continue;
      const item = await lookup(ctx, id);
      if (isPost(item)) await receivePost(ctx, item, { announcedBy: neighbourhood, backfilling: true }).catch((error: unknown) => ctx.data.log.info({ err: error, id: id.href }, 'backfill skipped a post'));
    }
    const next: APObject | null = pages === 0 ? await page.getFirst(loader).catch(() => null) : page instanceof CollectionPage || page instanceof OrderedCollectionPage ? await page.getNext(loader).catch(() => null) : null;
    page = next instanceof Collection ? next : null;
  }
}

async function placeName(ctx: Ctx, event: Event): Promise<string | null> {
  try {
    const location = await event.getLocation(ctx);
    return location instanceof Place ? (location.name?.toString() ?? null) : null;
  } catch {
    return null;
  }
}

export async function lookup(ctx: Ctx, uri: URL): Promise<APObject | null> {
  try {
    return await ctx.lookupObject(uri, { documentLoader: await ctx.getDocumentLoader({ identifier: 'actor' }) });
  } catch {
    return null;
  }
}

/** An activity's object, or null when it cannot be had (Fedify refetches objects from another origin). */
async function objectOf(ctx: Ctx, activity: Activity): Promise<APObject | null> {
  try {
    return await activity.getObject(ctx);
  } catch {
    return null;
  }
}

/** Errors our domain raises for bad remote input (4xx) are logged and dropped, never retried. */
export async function tolerant(ctx: InboxContext<FederationData>, activity: Activity, work: () => Promise<unknown>) {
  try {
    await work();
  } catch (error) {
    if (error instanceof AppError && error.status < 500) {
      ctx.data.log.info({ activity: activity.id?.href, reason: error.message }, 'refused a remote activity');
      return;
    }
    throw error;
  }
}

async function onCreate(ctx: InboxContext<FederationData>, create: Create) {
  const post = await objectOf(ctx, create);
  if (!isPost(post) || post.attributionId?.href !== create.actorId?.href) return;
  await tolerant(ctx, create, () => receivePost(ctx, post));
}

/** An edit by the post's author: only posts from elsewhere are edited this way (ours are edited here). */
async function editPost(ctx: Ctx, post: Post) {
  if (!post.id || !post.attributionId) return;
  const known = await threads.postByApId(ctx.data.db, post.id.href);
  if (!known) return;
  const author = await authorOf(ctx, post.attributionId);
  if (!author) return;
  const { html } = await remoteDetails(post);
  if ('thread' in known) await threads.editThread(ctx.data.db, author, known.thread.id, { title: titleOf(post, html), html });
  else await threads.editReply(ctx.data.db, author, known.reply.id, '', html);
}

async function onUpdate(ctx: InboxContext<FederationData>, update: Update) {
  const post = await objectOf(ctx, update);
  if (!isPost(post) || !update.actorId || post.attributionId?.href !== update.actorId.href) return;
  await tolerant(ctx, update, () => editPost(ctx, post));
}

/**
 * What a neighbourhood on another server that members here follow distributes: `Announce(Create|Update|
 * Delete)` (Lemmy family) or `Announce(post)` (a boost). Announces from anyone else are ignored. Posts
 * from a third server are fetched again from their own id rather than trusted as embedded.
 */
async function onAnnounce(ctx: InboxContext<FederationData>, announce: Announce) {
  if (!announce.actorId) return;
  const neighbourhood = await neighbourhoods.neighbourhoodByApId(ctx.data.db, announce.actorId.href);
  if (!neighbourhood) return;
  // Deletions, removals, locks, bans, pins and moderators: checked against the group's moderators.
  if (await receiveAnnouncedModeration(ctx, announce, neighbourhood)) return;
  let inner: APObject | null;
  try {
    inner = await announce.getObject({ documentLoader: ctx.documentLoader, contextLoader: ctx.contextLoader, crossOrigin: 'trust' });
  } catch {
    return;
  }
  const authentic = async (post: APObject | null): Promise<Post | null> => {
    if (!post?.id) return null;
    const fetched = post.id.origin === announce.actorId!.origin ? post : await lookup(ctx, post.id);
    return isPost(fetched) ? fetched : null;
  };
  await tolerant(ctx, announce, async () => {
    if (inner instanceof Create || inner instanceof Update) {
      const post = await authentic(await inner.getObject({ documentLoader: ctx.documentLoader, contextLoader: ctx.contextLoader, crossOrigin: 'trust' }));
      if (!post) return;
      if (inner instanceof Create) await receivePost(ctx, post, { announcedBy: neighbourhood });
      else await editPost(ctx, post);
    } else {
      const post = await authentic(inner);
      if (post) await receivePost(ctx, post, { announcedBy: neighbourhood });
    }
  });
}

const metresPer = { m: 1, km: 1000, cm: 0.01, miles: 1609.344, feet: 0.3048, inches: 0.0254 } as const;

/**
 * A group's `location` as our locality: its name, and its point and radius when they make sense (a point
 * off the globe, or a radius in units we do not know, is left out rather than refused).
 */
function localityOf(place: Place | null, fallbackName: string) {
  const name = place?.name?.toString().trim() || fallbackName;
  const { latitude, longitude, radius, units } = place ?? {};
  const hasPoint = typeof latitude === 'number' && typeof longitude === 'number' && Math.abs(latitude) <= 90 && Math.abs(longitude) <= 180;
  // AS2: a radius without units is in metres.
  const factor = units === null || units === undefined ? 1 : typeof units === 'string' ? metresPer[units] : undefined;
  const metres = hasPoint && typeof radius === 'number' && factor !== undefined ? Math.round(radius * factor) : NaN;
  return {
    placeName: name,
    latitude: hasPoint ? latitude : null,
    longitude: hasPoint ? longitude : null,
    radiusMetres: metres > 0 && metres <= 2_000_000_000 ? metres : null,
  };
}

/**
 * A neighbourhood on another server, found by `@name@host` or URL, becomes a row members here can follow
 * and the directory lists: with its locality and, where its followers collection gives one, its size.
 */
export function remoteNeighbourhoods(service: FederationService): RemoteNeighbourhoods {
  return {
    async resolve(reference, follower) {
      const ctx = service.context();
      const account = 'remote' in reference ? `@${reference.remote.name}@${reference.remote.host}` : reference.remoteUrl.href;
      const remote = await findRemoteActor(ctx, account);
      if (remote.type !== 'Group') throw badRequest(`${account} is a person, not a neighbourhood or community.`, 'not_a_group');
      const group = await lookup(ctx, new URL(remote.uri));
      let location: Place | null = null;
      let memberCount: number | null = null;
      if (group instanceof Group) {
        const loader = { documentLoader: ctx.documentLoader, suppressError: true };
        const place = await group.getLocation(loader).catch(() => null);
        if (place instanceof Place) location = place;
        const followers = await group.getFollowers(loader).catch(() => null);
        const total = followers?.totalItems;
        if (typeof total === 'number' && Number.isSafeInteger(total) && total >= 0 && total <= 2_000_000_000) memberCount = total;
      }
      const known = await neighbourhoods.neighbourhoodByApId(ctx.data.db, remote.uri);
      // A group we know whose server does not answer now keeps what we last heard of it.
      const row = known && !(group instanceof Group) ? known : await neighbourhoods.rememberRemoteNeighbourhood(ctx.data.db, {
        apId: remote.uri,
        handle: remote.handle ?? `${remote.uri.split('/').pop()}@${remote.host}`,
        name: remote.name,
        description: group?.summary ? plainText(group.summary.toString()) : '',
        ...localityOf(location, remote.host),
        memberCount,
      });
      // Whose moderation to honour there: its moderators collection, kept up by its Add/Remove later.
      await mirrorModerators(ctx, await neighbourhoods.neighbourhoodById(ctx.data.db, row.id)).catch((error: unknown) => ctx.data.log.info({ err: error, group: remote.uri }, 'could not read a group\'s moderators'));
      if (follower) await service.follow(follower, remote.uri);
      return row.id;
    },
  };
}

/** A Like (up) or Dislike (down) from another server, or (`on` false) its Undo, counted on the post. */
async function setVote(ctx: InboxContext<FederationData>, vote: Activity, direction: 1 | -1, on: boolean) {
  if (!vote.objectId || !vote.actorId) return;
  const known = await knownPost(ctx, vote.objectId);
  if (!known) return;
  await tolerant(ctx, vote, async () => {
    const voter = await authorOf(ctx, vote.actorId!);
    if (!voter) return;
    await threads.vote(ctx.data.db, voter, 'thread' in known ? { threadId: known.thread.id } : { replyId: known.reply.id }, direction, on);
  });
}

/**
 * A member here liked a post from another server, or took the like back (`liked` false): the Like goes to
 * the post's group, which announces it (as Lemmy expects), and to its author. Its id names the vote by
 * when it was cast, so a like after an Undo is new to receivers, and the Undo embeds that same Like.
 */
export async function sendLike(ctx: Ctx, viewer: Viewer, target: { threadId: number } | { replyId: number }, votedAt: Date, liked: boolean): Promise<void> {
  const db = ctx.data.db;
  const post = 'threadId' in target ? await threads.threadById(db, target.threadId) : await threads.replyById(db, target.replyId);
  if (!post.ap_id) return;
  const thread = 'threadId' in target ? (post as threads.Thread) : await threads.threadById(db, (post as threads.Reply).thread_id);
  const recipients = [];
  for (const uri of [thread.neighbourhood_ap_id, post.author_ap_id]) {
    const remote = uri ? await actorByUri(db, uri) : null;
    if (remote) recipients.push(recipientOf(remote));
  }
  if (recipients.length === 0) return;
  const identifier = memberIdentifier(viewer.username);
  const actor = ctx.getActorUri(identifier);
  const group = groupUri(ctx, thread);
  const id = new URL(`${actor.href}#likes/${'threadId' in target ? 'threads' : 'replies'}/${post.id}/${votedAt.getTime().toString(36)}`);
  const like = new Like({ id, actor, object: new URL(post.ap_id), audience: group, tos: [group] });
  await sendActivity(ctx, identifier, recipients, liked ? like : new Undo({ id: new URL(`${id.href}/undo`), actor, object: like, audience: group, tos: [group] }));
}

undoHandlers.set(Like.typeId.href, (ctx, like) => setVote(ctx, like, 1, false));
undoHandlers.set(Dislike.typeId.href, (ctx, dislike) => setVote(ctx, dislike, -1, false));


export const groupHandlers: InboxHandler[] = [
  on(Create, onCreate),
  on(Update, onUpdate),
  on(Announce, onAnnounce),
  on(Like, (ctx, like) => setVote(ctx, like, 1, true)),
  on(Dislike, (ctx, dislike) => setVote(ctx, dislike, -1, true)),
];

/**
 * Whether this fetch may read a post: always in a public neighbourhood; in a members-only one only when
 * signed by the key of a remote actor the neighbourhood admitted as a follower (issue #7's members-only
 * rule: a non-member gets nothing by any path).
 */
async function mayFetch(ctx: RequestContext<FederationData>, thread: threads.Thread): Promise<boolean> {
  if (thread.neighbourhood_visibility === 'public') return true;
  const owner = await ctx.getSignedKeyOwner().catch(() => null);
  const remote = owner?.id ? await actorByUri(ctx.data.db, owner.id.href) : null;
  return !!remote && isAdmittedFollower(ctx.data.db, thread.neighbourhood_id, remote.id);
}

/** Our threads and replies as AS2 documents at their canonical URLs (HTML is served there otherwise). */
export function registerPosts(federation: import('@fedify/fedify').Federation<FederationData>): void {
  // FEP-7888: a thread's context is the ordered collection of its posts, the thread first and each reply
  // after its parent, so a server seeing the thread late can fill it in (FEP-f228).
  federation.setOrderedCollectionDispatcher('context', APObject, '/threads/{id}/context', async (ctx, values) => {
    if (!/^\d{1,9}$/.test(values.id)) return null;
    // Read as nobody in particular: a members-only neighbourhood's posts are never served to a fetch.
    const found = await threads.threadWithReplies(ctx.data.db, null, Number(values.id)).catch(() => null);
    if (!found) return null;
    const items = [postUri(ctx, found.thread, 'thread'), ...found.replies.filter((reply) => !reply.deleted_at).map((reply) => postUri(ctx, reply, 'reply'))];
    return { items: items.map((id) => new APObject({ id })) };
  });
  // A members-only neighbourhood's posts are served to a signed fetch by an admitted follower's key alone.
  const threadFor = (db: Database, id: string) => (/^\d{1,9}$/.test(id) ? threads.threadById(db, Number(id)).catch(() => null) : Promise.resolve(null));
  const replyFor = async (db: Database, id: string) => {
    const reply = /^\d{1,9}$/.test(id) ? await threads.replyById(db, Number(id)).catch(() => null) : null;
    return reply && !reply.ap_id && !reply.deleted_at ? reply : null;
  };
  // A neighbourhood's pinned threads (Lemmy's and Mastodon's `featured`), newest pin first.
  const pinned = async (db: FederationData['db'], handle: string) => {
    const neighbourhood = await neighbourhoods.neighbourhoodByHandle(db, handle).catch(() => null);
    return neighbourhood && !neighbourhood.ap_id ? threads.pinnedThreads(db, neighbourhood) : null;
  };
  federation
    .setOrderedCollectionDispatcher('featured', Page, '/neighbourhoods/{handle}/featured', async (ctx, values) => {
      const list = await pinned(ctx.data.db, values.handle);
      return list && { items: list.map((thread) => pageOf(ctx, thread) as Page) };
    })
    .setCounter(async (ctx, values) => (await pinned(ctx.data.db, values.handle))?.length ?? null);
  federation.setObjectDispatcher(Page, '/threads/{id}', async (ctx, values) => {
    const thread = await threadFor(ctx.data.db, values.id);
    return thread && !thread.ap_id ? (pageOf(ctx, thread) as Page) : null;
  }).authorize(async (ctx, values) => {
    const thread = await threadFor(ctx.data.db, values.id);
    return !!thread && mayFetch(ctx, thread);
  });
  federation.setObjectDispatcher(Note, '/replies/{id}', async (ctx, values) => {
    const reply = await replyFor(ctx.data.db, values.id);
    const thread = reply && (await threadFor(ctx.data.db, String(reply.thread_id)));
    return thread ? noteOf(ctx, reply, thread, await parentOf(ctx, reply)) : null;
  }).authorize(async (ctx, values) => {
    const reply = await replyFor(ctx.data.db, values.id);
    const thread = reply && (await threadFor(ctx.data.db, String(reply.thread_id)));
    return !!thread && mayFetch(ctx, thread);
  });
}
