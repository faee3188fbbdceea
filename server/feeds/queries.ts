// Every SQL statement behind the feeds: one merged, newest-first list of threads and replies over a scope of
// neighbourhoods, and the private feed tokens.
import { sql } from 'kysely';
import { type Database, plannedAfresh, type ThreadKind } from '../database.ts';
import { distanceFrom } from '../neighbourhoods/queries.ts';
import { type Reader, readableNeighbourhoods } from './visibility.ts';

export interface Scope {
  reader: Reader;
  followedBy?: number;
  neighbourhoodId?: number;
  setId?: number;
  near?: { latitude: number; longitude: number; withinMetres: number };
  placeName?: string;
  /** Only this member's own threads and replies. */
  authorId?: number;
}

export interface ItemFilter {
  kind?: ThreadKind;
  threadsOnly?: boolean;
  limit: number;
  /** Keyset position: the time (to the millisecond) and item key of the last item of the previous page. */
  after?: { at: Date; key: number };
}

export interface ItemRow {
  type: 'thread' | 'reply';
  /** Threads and replies share one ordering: thread n is 2n, reply n is 2n+1. */
  item_key: number;
  at: Date;
  thread_id: number;
  reply_id: number | null;
}

/** The home rule, for every home listing (pages, API, Mastodon timeline, streams): what the member follows. */
export function followedNeighbourhoods(db: Database, memberId: number) {
  return db.selectFrom('neighbourhood_follows').select('neighbourhood_follows.neighbourhood_id').where('neighbourhood_follows.member_id', '=', memberId);
}

function scopeIds(db: Database, scope: Scope) {
  let query = db.selectFrom('neighbourhoods').select('neighbourhoods.id').where('neighbourhoods.id', 'in', readableNeighbourhoods(db, scope.reader));
  if (scope.followedBy !== undefined) {
    query = query.where('neighbourhoods.id', 'in', followedNeighbourhoods(db, scope.followedBy));
  }
  if (scope.neighbourhoodId !== undefined) query = query.where('neighbourhoods.id', '=', scope.neighbourhoodId);
  if (scope.setId !== undefined) {
    query = query.where('neighbourhoods.id', 'in', db.selectFrom('neighbourhood_set_entries').select('neighbourhood_id').where('set_id', '=', scope.setId));
  }
  if (scope.near) query = query.where(distanceFrom(scope.near.latitude, scope.near.longitude), '<=', scope.near.withinMetres);
  if (scope.placeName !== undefined) query = query.where(sql`lower(place_name)`, '=', scope.placeName.toLowerCase());
  return query;
}

// Posts keep their time to the millisecond (a trigger cuts it on write, migration 0013), so a cursor, which
// travels as an ISO string, compares exactly. Each branch orders by its table's own columns, which an index
// serves; (created_at, id) orders as (at, item_key) does, since item keys grow with ids.
const threadAt = sql<Date>`threads.created_at`;
const replyAt = sql<Date>`replies.created_at`;

// The scope is a common table expression that both branches read: planned once and run once, where the same
// subqueries inlined in each branch cost more to plan than the whole listing takes to run (a home feed of 500
// followed neighbourhoods: about 2.5 ms of planning before, 1.5 after), and were probed per post read.
const inScope = sql<number>`(select scope.id from scope)`;

export async function listItems(db: Database, scope: Scope, filter: ItemFilter): Promise<ItemRow[]> {
  const { after, kind, limit } = filter;
  // Item key 2n (thread n) is below the cursor's key k when n < ceil(k / 2); 2n + 1 (reply n) when n < floor(k / 2).
  const threadBefore = after && Math.ceil(after.key / 2);
  const replyBefore = after && Math.floor(after.key / 2);
  // Each branch is ordered and limited on its own first, so neither reads more than one page.
  const threadBranch = db
    .selectFrom('threads')
    .select([sql<'thread' | 'reply'>`'thread'`.as('type'), sql<number>`threads.id * 2`.as('item_key'), threadAt.as('at'), 'threads.id as thread_id', sql<number | null>`null::integer`.as('reply_id')])
    .where('threads.neighbourhood_id', 'in', inScope)
    .where('threads.deleted_at', 'is', null)
    .$if(scope.authorId !== undefined, (qb) => qb.where('threads.author_id', '=', scope.authorId!))
    .$if(!!kind, (qb) => qb.where('threads.kind', '=', kind!))
    .$if(!!after, (qb) => qb.where((eb) => eb(eb.tuple(eb.ref('threads.created_at'), eb.ref('threads.id')), '<', eb.tuple(after!.at, threadBefore!))))
    .orderBy('threads.created_at', 'desc')
    .orderBy('threads.id', 'desc')
    .limit(limit);
  const threadItems = db.selectFrom(threadBranch.as('thread_items')).selectAll();
  const items = filter.threadsOnly
    ? threadItems
    : threadItems.unionAll(
        db
          .selectFrom(
            db
              .selectFrom('replies')
              .innerJoin('threads', 'threads.id', 'replies.thread_id')
              .select([sql<'thread' | 'reply'>`'reply'`.as('type'), sql<number>`replies.id * 2 + 1`.as('item_key'), replyAt.as('at'), 'replies.thread_id', sql<number | null>`replies.id`.as('reply_id')])
              .where('threads.neighbourhood_id', 'in', inScope)
              .where('threads.deleted_at', 'is', null)
              .where('replies.deleted_at', 'is', null)
              .$if(scope.authorId !== undefined, (qb) => qb.where('replies.author_id', '=', scope.authorId!))
              .$if(!!kind, (qb) => qb.where('threads.kind', '=', kind!))
              .$if(!!after, (qb) => qb.where((eb) => eb(eb.tuple(eb.ref('replies.created_at'), eb.ref('replies.id')), '<', eb.tuple(after!.at, replyBefore!))))
              .orderBy('replies.created_at', 'desc')
              .orderBy('replies.id', 'desc')
              .limit(limit)
              .as('reply_items'),
          )
          .selectAll(),
      );
  return db
    .with('scope', () => scopeIds(db, scope))
    .selectFrom(items.as('items'))
    .selectAll()
    .orderBy('at', 'desc')
    .orderBy('item_key', 'desc')
    .limit(limit)
    .modifyEnd(sql.raw(plannedAfresh))
    .execute() as Promise<ItemRow[]>;
}

export function insertFeedToken(db: Database, memberId: number, tokenHash: string, label: string) {
  return db.insertInto('feed_tokens').values({ member_id: memberId, token_hash: tokenHash, label, revoked_at: null }).returningAll().executeTakeFirstOrThrow();
}

export function feedTokensOf(db: Database, memberId: number) {
  return db.selectFrom('feed_tokens').selectAll().where('member_id', '=', memberId).where('revoked_at', 'is', null).orderBy('id').execute();
}

export function revokeFeedToken(db: Database, memberId: number, id: number) {
  return db
    .updateTable('feed_tokens')
    .set({ revoked_at: new Date() })
    .where('id', '=', id)
    .where('member_id', '=', memberId)
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
}

/** The active member a live feed token stands for. */
export function memberByFeedTokenHash(db: Database, tokenHash: string) {
  return db
    .selectFrom('feed_tokens')
    .innerJoin('members', 'members.id', 'feed_tokens.member_id')
    .select(['members.id', 'members.username', 'members.display_name'])
    .where('feed_tokens.token_hash', '=', tokenHash)
    .where('feed_tokens.revoked_at', 'is', null)
    .where('members.status', '=', 'active')
    .executeTakeFirst();
}
