// Feeds: the merged home feed of what a member follows, the public feeds of the instance and of each
// neighbourhood, and the revocable tokens that let a feed reader fetch a member's private feeds.
import { randomBytes } from 'node:crypto';
import { hashToken, type Viewer } from '../accounts/domain.ts';
import type { Database, ThreadKind } from '../database.ts';
import { badRequest, notFound } from '../errors.ts';
import * as follows from '../follows/domain.ts';
import type { Cursor } from '../http.ts';
import * as neighbourhoods from '../neighbourhoods/domain.ts';
import * as threads from '../threads/domain.ts';
import * as q from './queries.ts';

export type FeedItem = { type: 'thread'; key: number; at: Date; thread: threads.Thread } | { type: 'reply'; key: number; at: Date; thread: threads.Thread; reply: threads.Reply };

export interface FeedFilter {
  kind?: ThreadKind;
  setId?: number;
  near?: { latitude: number; longitude: number; withinMetres: number };
  placeName?: string;
  threadsOnly?: boolean;
  limit: number;
  after?: Cursor;
}

/** Loads the listed threads and replies (two queries); one removed between the listing and the load is left out. */
async function hydrate(db: Database, rows: q.ItemRow[]): Promise<FeedItem[]> {
  const posts = await threads.postsByIds(db, rows.map((row) => row.thread_id), rows.flatMap((row) => (row.reply_id === null ? [] : [row.reply_id])));
  return rows.flatMap((row): FeedItem[] => {
    const thread = posts.threads.get(row.thread_id);
    if (!thread) return [];
    if (row.type === 'thread') return [{ type: 'thread', key: row.item_key, at: row.at, thread }];
    const reply = posts.replies.get(row.reply_id!);
    return reply && !reply.deleted_at ? [{ type: 'reply', key: row.item_key, at: row.at, thread, reply }] : [];
  });
}

async function page(db: Database, scope: q.Scope, filter: FeedFilter) {
  if (filter.after && typeof filter.after.sort !== 'string') throw badRequest('That cursor belongs to a different listing.', 'invalid_cursor');
  const rows = await q.listItems(db, { ...scope, near: filter.near, placeName: filter.placeName }, {
    kind: filter.kind,
    threadsOnly: filter.threadsOnly,
    limit: filter.limit,
    after: filter.after && { at: new Date(filter.after.sort), key: filter.after.id },
  });
  const last = rows.length === filter.limit ? rows[rows.length - 1] : undefined;
  return { items: await hydrate(db, rows), next: last && { sort: last.at.toISOString(), id: last.item_key } };
}

/** New threads and replies across everything the member follows, newest first. */
export async function homeFeed(db: Database, member: Pick<Viewer, 'id'>, filter: FeedFilter) {
  if (filter.setId !== undefined) await follows.ownSet(db, member, filter.setId);
  return page(db, { reader: member.id, followedBy: member.id, setId: filter.setId }, filter);
}

/** A member's own threads and replies in public neighbourhoods, newest first: their ActivityPub outbox. */
export async function postsBy(db: Database, authorId: number, filter: FeedFilter) {
  return page(db, { reader: null, authorId }, filter);
}

export async function instanceFeed(db: Database, filter: FeedFilter) {
  return page(db, { reader: null }, filter);
}

export async function neighbourhoodFeed(db: Database, handle: string, filter: FeedFilter) {
  const neighbourhood = await neighbourhoods.neighbourhoodByHandle(db, handle);
  return { neighbourhood, ...(await page(db, { reader: null, neighbourhoodId: neighbourhood.id }, filter)) };
}

/** A neighbourhood's events, soonest first, for its calendar. */
export async function eventsOf(db: Database, handle: string) {
  const { neighbourhood, items } = await neighbourhoodFeed(db, handle, { kind: 'event', threadsOnly: true, limit: 100 });
  const events = items.map((item) => item.thread).sort((a, b) => a.event_starts_at!.getTime() - b.event_starts_at!.getTime());
  return { neighbourhood, events };
}

export async function createFeedToken(db: Database, viewer: Viewer, label: string) {
  const token = randomBytes(24).toString('base64url');
  const row = await q.insertFeedToken(db, viewer.id, hashToken(token), label.trim());
  return { row, token };
}

export const feedTokensOf = q.feedTokensOf;

export async function revokeFeedToken(db: Database, viewer: Viewer, id: number): Promise<void> {
  const result = await q.revokeFeedToken(db, viewer.id, id);
  if (result.numUpdatedRows === 0n) throw notFound('That feed token');
}

/** The member a private feed URL belongs to; a revoked or unknown token is a 404, as if the feed never existed. */
export async function memberByFeedToken(db: Database, token: string) {
  const member = await q.memberByFeedTokenHash(db, hashToken(token));
  if (!member) throw notFound('That feed');
  return member;
}
