// Threads and replies: what neighbours post, edit, delete and like.
import type { Viewer } from '../accounts/domain.ts';
import { BoundedMap } from '../bounded-map.ts';
import type { ExchangeStatus, StoredAttachment, ThreadKind } from '../database.ts';
import type { Database } from '../database.ts';
import { badRequest, forbidden, notFound } from '../errors.ts';
import type { Cursor } from '../http.ts';
import { plainText, renderMarkdown, sanitizeHtml } from '../markdown.ts';
import * as neighbourhoods from '../neighbourhoods/domain.ts';
import { holdIfNeeded } from '../premoderation/holding.ts';
import * as q from './queries.ts';

export type Thread = q.ThreadWithNames;

/**
 * A post's attachments as shown: an image (by its type or media type) with its alt text, else a link.
 * Images load from their server only over HTTPS, which is what the pages' CSP allows (img-src https:).
 */
export function attachmentsOf(post: { attachments: StoredAttachment[] }) {
  return post.attachments.map((a) => {
    const image = a.type === 'Image' || !!a.mediaType?.startsWith('image/');
    return { url: a.url, mediaType: a.mediaType, description: a.name, image, shown: image && a.url.startsWith('https:') };
  });
}
export type Reply = q.ReplyWithNames;
export const threadKinds: readonly ThreadKind[] = ['discussion', 'event', 'offer', 'want', 'story'];

export interface EventDetails {
  startsAt: Date;
  endsAt: Date | null;
  place: string | null;
}

export interface ExchangeDetails {
  item: string;
  expiresAt: Date | null;
  status?: ExchangeStatus;
}

export interface NewThread {
  kind: ThreadKind;
  title: string;
  body: string;
  event?: EventDetails;
  exchange?: ExchangeDetails;
  remote?: RemotePost;
}

export interface ThreadChanges {
  title?: string;
  body?: string;
  event?: EventDetails;
  exchange?: Partial<ExchangeDetails>;
  /** A remote post's new HTML, sanitized here like every other body. */
  html?: string;
}

/** What a post from another server brings besides its text: its id there, and HTML rather than Markdown. */
export interface RemotePost {
  apId: string;
  html: string;
  language?: string | null;
  sensitive?: boolean;
  attachments?: StoredAttachment[];
  publishedAt?: Date | null;
}

/**
 * Source and HTML of a body: Markdown written here, or sanitized HTML from another server. A thread from
 * another server (`titled`) may be its title alone, as Lemmy allows.
 */
function bodyColumns(body: string, html: string | undefined, titled = false) {
  if (html === undefined) return { body_source: checkBody(body), body_html: renderMarkdown(body) };
  const clean = sanitizeHtml(html);
  if (!plainText(clean) && !body.trim() && !titled) throw badRequest('Write something first.', 'invalid_body');
  return { body_source: body.trim() ? body : plainText(clean), body_html: clean };
}

function remoteColumns(remote: RemotePost | undefined) {
  if (!remote) return {};
  return {
    ap_id: remote.apId,
    language: remote.language ?? null,
    sensitive: remote.sensitive ?? false,
    attachments: JSON.stringify(remote.attachments ?? []) as never,
    ...(remote.publishedAt && remote.publishedAt < new Date() && { created_at: remote.publishedAt }),
  };
}

function checkTitle(title: string): string {
  const trimmed = title.trim();
  if (!trimmed) throw badRequest('A thread needs a title.', 'invalid_title');
  return trimmed;
}

function checkBody(body: string): string {
  if (!body.trim()) throw badRequest('Write something first.', 'invalid_body');
  return body;
}

function eventColumns(kind: ThreadKind, event: EventDetails | undefined) {
  if (kind !== 'event') {
    if (event) throw badRequest('Only an event thread has event details.', 'invalid_event');
    return {};
  }
  if (!event) throw badRequest('An event needs a start time.', 'invalid_event');
  if (event.endsAt && event.endsAt < event.startsAt) throw badRequest('An event cannot end before it starts.', 'invalid_event');
  return { event_starts_at: event.startsAt, event_ends_at: event.endsAt, event_place: event.place?.trim() || null };
}

function exchangeColumns(kind: ThreadKind, exchange: Partial<ExchangeDetails> | undefined, creating: boolean) {
  if (kind !== 'offer' && kind !== 'want') {
    if (exchange) throw badRequest('Only offers and wants say what is exchanged.', 'invalid_exchange');
    return {};
  }
  if (creating && !exchange?.item?.trim()) throw badRequest(`Say what is ${kind === 'offer' ? 'offered' : 'wanted'}.`, 'invalid_exchange');
  if (!exchange) return {};
  return {
    ...(exchange.item !== undefined && { exchange_item: exchange.item.trim() }),
    ...(exchange.expiresAt !== undefined && { exchange_expires_at: exchange.expiresAt }),
    ...(exchange.status !== undefined && { exchange_status: exchange.status }),
    ...(creating && { exchange_status: exchange.status ?? 'open' }),
  };
}

/**
 * Local members post where they belong. Like a Lemmy community, a neighbourhood takes posts from the
 * fediverse without a local membership, and a neighbourhood on another server decides there who posts.
 */
function requireNotSuspended(viewer: Viewer) {
  if (viewer.suspended) throw forbidden('This account is suspended.', 'account_suspended');
}

async function requirePoster(db: Database, neighbourhood: neighbourhoods.Neighbourhood, viewer: Viewer, remote: RemotePost | undefined) {
  // A suspension and a ban hold whichever way the post arrives, and a ban here too for a neighbourhood
  // elsewhere that banned them.
  requireNotSuspended(viewer);
  await neighbourhoods.requireNotBanned(db, neighbourhood, viewer);
  if (remote || neighbourhood.ap_id) return;
  await neighbourhoods.requireMember(db, neighbourhood, viewer);
}

/** `approved`: a moderator let a held post through, so it is not held again. */
export interface Posting {
  approved?: boolean;
}

/** Starts a thread, or throws `HeldForApproval` when the neighbourhood holds it for its moderators. */
export async function startThread(db: Database, viewer: Viewer, handle: string, input: NewThread, { approved = false }: Posting = {}): Promise<Thread> {
  const neighbourhood = await neighbourhoods.neighbourhoodByHandle(db, handle);
  await requirePoster(db, neighbourhood, viewer, input.remote);
  const values = {
    neighbourhood_id: neighbourhood.id,
    author_id: viewer.id,
    kind: input.kind,
    title: checkTitle(input.title),
    ...bodyColumns(input.body, input.remote?.html, true),
    ...eventColumns(input.kind, input.event),
    ...exchangeColumns(input.kind, input.exchange, true),
    ...remoteColumns(input.remote),
  };
  if (!approved) {
    await holdIfNeeded(db, { neighbourhood, author: viewer, kind: input.kind, title: values.title, bodyHtml: values.body_html, apId: input.remote?.apId, input });
  }
  const id = await q.insertThread(db, values);
  return threadById(db, id);
}

export async function threadById(db: Database, id: number): Promise<Thread> {
  const thread = await q.findThread(db, id);
  if (!thread) throw notFound('That thread');
  return thread;
}

/** A thread for someone to read: a members-only neighbourhood's threads are not found by anyone else. */
export async function readableThread(db: Database, viewer: Viewer | null, id: number): Promise<Thread> {
  const thread = await threadById(db, id);
  await neighbourhoods.requireReader(db, { id: thread.neighbourhood_id, visibility: thread.neighbourhood_visibility }, viewer, 'That thread');
  return thread;
}

export async function listThreads(
  db: Database,
  viewer: Viewer | null,
  handle: string,
  filter: { kind?: ThreadKind; limit: number; after?: Cursor },
) {
  const neighbourhood = await neighbourhoods.neighbourhoodByHandle(db, handle);
  await neighbourhoods.requireReader(db, neighbourhood, viewer, 'That neighbourhood’s threads');
  if (filter.after && typeof filter.after.sort !== 'string') throw badRequest('That cursor belongs to a different listing.', 'invalid_cursor');
  const after = filter.after && { at: new Date(filter.after.sort), id: filter.after.id };
  // Pinned threads head the first page, read beside it; the cursor pages through the rest by activity.
  const [rows, pinned] = await Promise.all([
    q.listThreads(db, { neighbourhoodId: neighbourhood.id, kind: filter.kind, limit: filter.limit, after }),
    after ? [] : q.listThreads(db, { neighbourhoodId: neighbourhood.id, kind: filter.kind, limit: 50, pinned: true }),
  ]);
  const last = rows.length === filter.limit ? rows[rows.length - 1] : undefined;
  return { rows: [...pinned, ...rows], next: last && { sort: last.last_activity_at.toISOString(), id: last.id } };
}

function requireAuthor(authorId: number | null, viewer: Viewer, what: string): void {
  if (authorId !== viewer.id) throw forbidden(`Only the author can change this ${what}.`, 'not_the_author');
}

export async function editThread(db: Database, viewer: Viewer, id: number, changes: ThreadChanges): Promise<Thread> {
  const thread = await threadById(db, id);
  requireAuthor(thread.author_id, viewer, 'thread');
  const event = changes.event && eventColumns(thread.kind, changes.event);
  await q.updateThread(db, id, {
    ...(changes.title !== undefined && { title: checkTitle(changes.title) }),
    ...((changes.body !== undefined || changes.html !== undefined) && bodyColumns(changes.body ?? '', changes.html, true)),
    ...event,
    ...exchangeColumns(thread.kind, changes.exchange, false),
    edited_at: new Date(),
  });
  return threadById(db, id);
}

export async function deleteThread(db: Database, viewer: Viewer, id: number): Promise<void> {
  const thread = await threadById(db, id);
  requireAuthor(thread.author_id, viewer, 'thread');
  await q.markThreadDeleted(db, id);
}

/**
 * An author's account is gone with its posts (Lemmy's `removeData`): each thread and reply is deleted as
 * its author would delete it, replies leaving their place in the conversation.
 */
export async function deleteAllByAuthor(db: Database, author: Viewer): Promise<void> {
  const { threads, replies } = await q.postsOfAuthor(db, author.id);
  for (const thread of threads) await q.markThreadDeleted(db, thread.id);
  for (const reply of replies) await q.markReplyDeleted(db, reply);
}

export type ReplyInThread = Readonly<Reply & { depth: number }>;

export async function threadWithReplies(db: Database, viewer: Viewer | null, id: number): Promise<{ thread: Thread; replies: readonly ReplyInThread[] }> {
  const thread = await readableThread(db, viewer, id);
  const cache = repliesCaches.get(db) ?? repliesCaches.set(db, new BoundedMap({ weightAtMost: repliesCacheBytes })).get(db)!;
  const kept = cache.get(id, true);
  if (kept?.revision === thread.replies_revision) return { thread, replies: kept.replies };
  // Read after the thread, so these are at least as new as its revision: kept under it, they are only
  // ever newer than their key says, and the next change of revision replaces them.
  const replies = inTreeOrder(await q.repliesOf(db, id));
  const bytes = replies.reduce((sum, r) => sum + r.body_source.length + r.body_html.length + replyOverheadBytes, 0);
  // A thread too long to leave room for others is read afresh each time instead.
  if (bytes > repliesCacheBytes / 4) cache.delete(id);
  else {
    for (const reply of replies) Object.freeze(reply);
    cache.set(id, { revision: thread.replies_revision, replies: Object.freeze(replies) }, bytes);
  }
  return { thread, replies };
}

/** Roughly what keeping a reply costs beyond its texts: its other fields and the objects holding them. */
const replyOverheadBytes = 400;
const repliesCacheBytes = 16 * 1024 * 1024;

/**
 * The replies of the threads read most recently, in conversation order, with the revision they were read
 * at: a thread's row carries its current revision, so a thread being read costs one query rather than two
 * while its replies are unchanged. At most about 16 MB of replies in all, the least recently read going
 * first; frozen, since every reader of the thread shares them. One per database: a process (or a test run)
 * may have several open, with the same thread ids in each.
 */
const repliesCaches = new WeakMap<Database, BoundedMap<number, { revision: number; replies: readonly ReplyInThread[] }>>();

/** Depth-first order with each reply's depth, so a flat list reads as the nested conversation. */
function inTreeOrder(replies: Reply[]): (Reply & { depth: number })[] {
  const children = new Map<number | null, Reply[]>();
  for (const reply of replies) {
    const siblings = children.get(reply.parent_id) ?? [];
    siblings.push(reply);
    children.set(reply.parent_id, siblings);
  }
  const ordered: (Reply & { depth: number })[] = [];
  const visit = (parentId: number | null, depth: number) => {
    for (const reply of children.get(parentId) ?? []) {
      ordered.push({ ...reply, depth });
      visit(reply.id, depth + 1);
    }
  };
  visit(null, 0);
  return ordered;
}

/** Threads and replies by id, in one query each; deleted threads are left out. */
export async function postsByIds(db: Database, threadIds: readonly number[], replyIds: readonly number[]) {
  const [threads, replies] = await Promise.all([q.findThreads(db, [...new Set(threadIds)]), q.findReplies(db, replyIds)]);
  return { threads: new Map(threads.map((t) => [t.id, t])), replies: new Map(replies.map((r) => [r.id, r])) };
}

export async function replyById(db: Database, id: number): Promise<Reply> {
  const reply = await q.findReply(db, id);
  if (!reply) throw notFound('That reply');
  return reply;
}

export interface NewReply {
  body: string;
  parentId?: number;
  remote?: RemotePost;
}

/** Replies in a thread, or throws `HeldForApproval` when the neighbourhood holds it for its moderators. */
export async function reply(db: Database, viewer: Viewer, threadId: number, input: NewReply, { approved = false }: Posting = {}): Promise<Reply> {
  const thread = await threadById(db, threadId);
  const neighbourhood = await neighbourhoods.neighbourhoodById(db, thread.neighbourhood_id);
  await requirePoster(db, neighbourhood, viewer, input.remote);
  if (thread.locked_at) throw forbidden('This thread is locked: it takes no new replies.', 'thread_locked');
  if (input.parentId !== undefined) {
    const parent = await q.findReply(db, input.parentId);
    if (!parent || parent.thread_id !== threadId) throw badRequest('That reply is not part of this thread.', 'invalid_parent');
  }
  const values = {
    thread_id: threadId,
    parent_id: input.parentId ?? null,
    author_id: viewer.id,
    ...bodyColumns(input.body, input.remote?.html),
    ...(input.remote && { ap_id: input.remote.apId, attachments: JSON.stringify(input.remote.attachments ?? []) as never }),
    ...(input.remote?.publishedAt && input.remote.publishedAt < new Date() && { created_at: input.remote.publishedAt }),
  };
  if (!approved) await holdIfNeeded(db, { neighbourhood, author: viewer, threadId, bodyHtml: values.body_html, apId: input.remote?.apId, input });
  const id = await q.insertReply(db, values, neighbourhood.id);
  return replyById(db, id);
}

export async function editReply(db: Database, viewer: Viewer, id: number, body: string, html?: string): Promise<Reply> {
  const existing = await replyById(db, id);
  if (existing.deleted_at) throw notFound('That reply');
  requireAuthor(existing.author_id, viewer, 'reply');
  await q.updateReply(db, id, { ...bodyColumns(body, html), edited_at: new Date() });
  return replyById(db, id);
}

export async function deleteReply(db: Database, viewer: Viewer, id: number): Promise<void> {
  const existing = await replyById(db, id);
  requireAuthor(existing.author_id, viewer, 'reply');
  await q.markReplyDeleted(db, existing);
}

/**
 * A member likes a post (or takes the like back); returns the post's new counts and `voted_at`, for
 * federation to tell the post's server (null when nothing changed).
 */
export function like(db: Database, viewer: Viewer, target: { threadId: number } | { replyId: number }, liked: boolean) {
  return vote(db, viewer, target, 1, liked);
}

/**
 * A vote up or down on a post, or (`on` false) taking it back. Downvotes come only from other servers
 * (Lemmy's Dislike): the pages here offer a like alone, and show the dislikes counted.
 */
export async function vote(db: Database, viewer: Viewer, target: { threadId: number } | { replyId: number }, direction: q.VoteDirection, on: boolean) {
  requireNotSuspended(viewer);
  if ('threadId' in target) {
    await readableThread(db, viewer, target.threadId);
    return q.setVote(db, viewer.id, { thread_id: target.threadId }, direction, on);
  }
  const existing = await replyById(db, target.replyId);
  if (existing.deleted_at) throw notFound('That reply');
  await readableThread(db, viewer, existing.thread_id);
  return q.setVote(db, viewer.id, { reply_id: target.replyId }, direction, on);
}

/** The viewer's role in a thread's neighbourhood (null for anyone else) and which of its posts they have liked. */
export async function standingInThread(db: Database, viewer: Viewer | null, thread: Pick<Thread, 'id' | 'neighbourhood_id'>) {
  const { role, likes } = viewer ? await q.standingInThread(db, viewer.id, thread) : { role: null, likes: [] };
  return {
    role,
    likes: { thread: likes.some((r) => r.thread_id !== null), replies: new Set(likes.flatMap((r) => (r.reply_id === null ? [] : [r.reply_id]))) },
  };
}

/** A member's latest threads, leaving out those in members-only neighbourhoods the viewer is not in. */
export const threadsByAuthor = (db: Database, authorId: number, limit: number, viewer: Viewer | null) =>
  q.threadsByAuthor(db, authorId, limit, viewer?.id ?? null);
/** A thread or reply by its ActivityPub id (ours or another server's), or null. */
export async function postByApId(db: Database, apId: string): Promise<{ thread: Thread } | { reply: Reply } | null> {
  const threadId = await q.threadIdByApId(db, apId);
  if (threadId !== undefined) {
    const thread = await q.findThread(db, threadId);
    return thread ? { thread } : null;
  }
  const replyId = await q.replyIdByApId(db, apId);
  const found = replyId === undefined ? undefined : await q.findReply(db, replyId);
  return found && !found.deleted_at ? { reply: found } : null;
}

/** A deleted thread or reply with its author, for telling other servers it is gone. */
export function deletedPost(db: Database, target: { threadId: number } | { replyId: number }) {
  return 'threadId' in target ? q.findThreadEvenDeleted(db, target.threadId) : q.findReply(db, target.replyId);
}

/** A public neighbourhood's pinned threads, for its featured collection; none for a members-only one. */
export async function pinnedThreads(db: Database, neighbourhood: neighbourhoods.Neighbourhood): Promise<Thread[]> {
  if (neighbourhood.visibility !== 'public') return [];
  return q.listThreads(db, { neighbourhoodId: neighbourhood.id, limit: 50, pinned: true });
}

/** A thread or reply by our id or its ActivityPub id, even deleted or removed (to restore it), or null. */
export async function postEvenRemoved(db: Database, target: { threadId: number } | { replyId: number } | { apId: string }): Promise<{ thread: Thread } | { reply: Reply } | null> {
  if ('apId' in target) {
    const threadId = await q.threadIdByApId(db, target.apId);
    if (threadId !== undefined) return postEvenRemoved(db, { threadId });
    const replyId = await q.replyIdByApId(db, target.apId);
    return replyId === undefined ? null : postEvenRemoved(db, { replyId });
  }
  if ('threadId' in target) {
    const thread = await q.findThreadEvenDeleted(db, target.threadId);
    return thread ? { thread } : null;
  }
  const reply = await q.findReply(db, target.replyId);
  return reply ? { reply } : null;
}
