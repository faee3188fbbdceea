// Pre-moderation: a neighbourhood's moderators choose what waits for them (the first posts of members new to
// it, posts with certain words), then approve or reject what waits. An approved post is stored as if it had
// just been posted, so every read path, live stream and announcement to other servers sees it then, once.
import type { Viewer } from '../accounts/domain.ts';
import type { Database } from '../database.ts';
import { badRequest, conflict, notFound } from '../errors.ts';
import { canModerate, log } from '../moderation/domain.ts';
import * as neighbourhoods from '../neighbourhoods/domain.ts';
import * as threads from '../threads/domain.ts';
import { type Settings, settingsOf } from './holding.ts';
import * as q from './queries.ts';

export type HeldPost = q.HeldPostRow;

export async function premoderationSettings(db: Database, viewer: Viewer, handle: string): Promise<Settings> {
  const neighbourhood = await neighbourhoods.neighbourhoodByHandle(db, handle);
  await neighbourhoods.requireModerator(db, neighbourhood, viewer);
  return settingsOf(db, neighbourhood.id);
}

/** Cleans a moderator's word list: trimmed, lower case, no repeats, no empty entries. */
function checkWords(words: string[]): string[] {
  const cleaned = [...new Set(words.map((w) => w.trim().toLowerCase().replace(/\s+/g, ' ')).filter(Boolean))];
  if (cleaned.length > 200) throw badRequest('Hold at most 200 words or phrases.', 'invalid_settings');
  if (cleaned.some((w) => w.length > 100)) throw badRequest('A held word or phrase is at most 100 characters.', 'invalid_settings');
  return cleaned;
}

export async function setPremoderation(db: Database, moderator: Viewer, handle: string, settings: Settings): Promise<Settings> {
  const neighbourhood = await neighbourhoods.neighbourhoodByHandle(db, handle);
  await neighbourhoods.requireModerator(db, neighbourhood, moderator);
  if (neighbourhood.ap_id) throw badRequest('A neighbourhood on another server is moderated there.', 'remote_neighbourhood');
  if (!Number.isInteger(settings.holdFirstPosts) || settings.holdFirstPosts < 0 || settings.holdFirstPosts > 100) {
    throw badRequest('Hold between 0 and 100 first posts.', 'invalid_settings');
  }
  const words = checkWords(settings.holdWords);
  await q.saveSettings(db, neighbourhood.id, { hold_first_posts: settings.holdFirstPosts, hold_words: words });
  const summary = `first ${settings.holdFirstPosts} posts; ${words.length} held word${words.length === 1 ? '' : 's'}`;
  await log(db, moderator, 'set_premoderation', { neighbourhoodId: neighbourhood.id, reason: summary });
  return { holdFirstPosts: settings.holdFirstPosts, holdWords: words };
}

/** The posts waiting in a neighbourhood, for its moderators. */
export async function heldQueue(db: Database, moderator: Viewer, handle: string) {
  const neighbourhood = await neighbourhoods.neighbourhoodByHandle(db, handle);
  await neighbourhoods.requireModerator(db, neighbourhood, moderator);
  return q.heldPosts(db, { neighbourhoodId: neighbourhood.id });
}

/** An author's own posts that wait, in one neighbourhood or thread or everywhere. */
export const heldPostsBy = (db: Database, author: Viewer, where: { neighbourhoodId?: number; threadId?: number } = {}) =>
  q.heldPosts(db, { authorId: author.id, ...where });

/** A held post, for its author or the neighbourhood's moderators; to anyone else it does not exist. */
export async function heldPost(db: Database, viewer: Viewer, id: number): Promise<HeldPost> {
  const held = await q.findHeldPost(db, id);
  if (!held) throw notFound('That held post');
  if (held.author_id === viewer.id || (await canModerate(db, await neighbourhoods.neighbourhoodById(db, held.neighbourhood_id), viewer))) return held;
  throw notFound('That held post');
}

async function heldForModerator(db: Database, moderator: Viewer, id: number) {
  const held = await q.findHeldPost(db, id);
  if (!held) throw notFound('That held post');
  await neighbourhoods.requireModerator(db, await neighbourhoods.neighbourhoodById(db, held.neighbourhood_id), moderator);
  return held;
}

const dateFields = new Set(['startsAt', 'endsAt', 'expiresAt', 'publishedAt']);
/** The submitted post as its domain function takes it: JSON keeps dates as text. */
function revive<T>(input: unknown): T {
  return JSON.parse(JSON.stringify(input), (key, value) => (dateFields.has(key) && typeof value === 'string' ? new Date(value) : value)) as T;
}

const authorOf = (held: HeldPost): Viewer => ({ id: held.author_id, username: held.author_username, role: 'member', tokenId: 0 });

/**
 * Publishes a held post: stored now as a new thread or reply, which the live triggers turn into the usual
 * events and announcements. Taking it out of the queue first means two moderators cannot publish it twice.
 */
export async function approve(db: Database, moderator: Viewer, id: number, reason?: string): Promise<{ thread: threads.Thread } | { reply: threads.Reply }> {
  const held = await heldForModerator(db, moderator, id);
  if (!(await q.deleteHeldPost(db, held.id))) throw conflict('Another moderator decided that post first.', 'already_decided');
  let published: { thread: threads.Thread } | { reply: threads.Reply };
  try {
    published = held.thread_id === null
      ? { thread: await threads.startThread(db, authorOf(held), held.neighbourhood_handle, revive<threads.NewThread>(held.input), { approved: true }) }
      : { reply: await threads.reply(db, authorOf(held), held.thread_id, revive<threads.NewReply>(held.input), { approved: true }) };
  } catch (error) {
    // It can no longer be posted as it was (its thread locked, its author gone): it waits, for a rejection.
    await q.restoreHeldPost(db, held);
    throw error;
  }
  const where = 'thread' in published ? { threadId: published.thread.id } : { threadId: published.reply.thread_id, replyId: published.reply.id };
  await log(db, moderator, 'approve_post', { neighbourhoodId: held.neighbourhood_id, memberId: held.author_id, ...where, reason });
  return published;
}

/** Turns a held post away: it is dropped, and the log keeps who decided and why. */
export async function reject(db: Database, moderator: Viewer, id: number, reason?: string): Promise<HeldPost> {
  const held = await heldForModerator(db, moderator, id);
  if (!(await q.deleteHeldPost(db, held.id))) throw conflict('Another moderator decided that post first.', 'already_decided');
  await log(db, moderator, 'reject_post', { neighbourhoodId: held.neighbourhood_id, memberId: held.author_id, threadId: held.thread_id ?? undefined, reason });
  return held;
}

/** The author takes back a post that still waits (from the API, or a `Delete` from their server). */
export async function withdraw(db: Database, author: Viewer, id: number): Promise<void> {
  const held = await q.findHeldPost(db, id);
  if (!held || held.author_id !== author.id) throw notFound('Your held post');
  await q.deleteHeldPost(db, held.id);
}

/** The held post a remote post's id names, if it is waiting. */
export const heldIdByApId = q.heldIdByApId;
