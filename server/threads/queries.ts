// Every SQL statement about threads, replies and likes.
import type { Insertable, Selectable, Updateable } from 'kysely';
import { jsonArrayFrom } from 'kysely/helpers/postgres';
import type { Database, RepliesTable, ThreadKind, ThreadsTable } from '../database.ts';
import { type Reader, readableNeighbourhoods } from '../feeds/visibility.ts';
import { roleOf } from '../neighbourhoods/queries.ts';

export type ThreadRow = Selectable<ThreadsTable>;
export type ReplyRow = Selectable<RepliesTable>;

// Each thread's neighbourhood is looked up by its key. As a plain join, PostgreSQL (at its default
// random_page_cost) hashes the whole neighbourhoods table to join a page of 20 threads, which on an instance
// of 1,000 neighbourhoods cost twice what the lookups do; OFFSET 0 keeps the subquery from being merged
// into a join, so each row takes the index.
function threadsWithAuthors(db: Database) {
  return db
    .selectFrom('threads')
    .innerJoinLateral(
      (eb) => eb.selectFrom('neighbourhoods').select(['handle', 'name', 'ap_id', 'visibility']).whereRef('neighbourhoods.id', '=', 'threads.neighbourhood_id').offset(0).as('neighbourhood'),
      (join) => join.onTrue(),
    )
    .leftJoin('members', 'members.id', 'threads.author_id')
    .selectAll('threads')
    .select([
      'neighbourhood.handle as neighbourhood_handle',
      'neighbourhood.name as neighbourhood_name',
      'neighbourhood.ap_id as neighbourhood_ap_id',
      'neighbourhood.visibility as neighbourhood_visibility',
      'members.username as author_username',
      'members.display_name as author_display_name',
      'members.ap_id as author_ap_id',
    ]);
}

export type ThreadWithNames = Awaited<ReturnType<typeof findThread>> & {};

export function findThread(db: Database, id: number) {
  return threadsWithAuthors(db).where('threads.id', '=', id).where('threads.deleted_at', 'is', null).executeTakeFirst();
}

/** One page of a neighbourhood's threads that are not pinned, or (`pinned`) all its pinned ones. */
export function listThreads(
  db: Database,
  filter: { neighbourhoodId: number; kind?: ThreadKind; limit: number; after?: { at: Date; id: number }; pinned?: boolean },
) {
  const { after } = filter;
  return threadsWithAuthors(db)
    .where('threads.neighbourhood_id', '=', filter.neighbourhoodId)
    .where('threads.deleted_at', 'is', null)
    .where('threads.pinned_at', filter.pinned ? 'is not' : 'is', null)
    .$if(!!filter.pinned, (qb) => qb.orderBy('threads.pinned_at', 'desc'))
    .$if(!!filter.kind, (qb) => qb.where('threads.kind', '=', filter.kind!))
    .$if(!!after, (qb) =>
      qb.where((eb) => eb(eb.refTuple('threads.last_activity_at', 'threads.id'), '<', eb.tuple(after!.at, after!.id))),
    )
    .orderBy('threads.last_activity_at', 'desc')
    .orderBy('threads.id', 'desc')
    .limit(filter.limit)
    .execute();
}

export function insertThread(db: Database, values: Insertable<ThreadsTable>) {
  return db.transaction().execute(async (trx) => {
    const row = await trx.insertInto('threads').values(values).returning(['id', 'created_at']).executeTakeFirstOrThrow();
    await trx.updateTable('neighbourhoods').set({ last_activity_at: row.created_at }).where('id', '=', values.neighbourhood_id).execute();
    return row.id;
  });
}

export function updateThread(db: Database, id: number, changes: Updateable<ThreadsTable>) {
  return db.updateTable('threads').set(changes).where('id', '=', id).execute();
}

export function markThreadDeleted(db: Database, id: number) {
  return db.updateTable('threads').set({ deleted_at: new Date() }).where('id', '=', id).execute();
}

function repliesWithAuthors(db: Database) {
  return db
    .selectFrom('replies')
    .leftJoin('members', 'members.id', 'replies.author_id')
    .selectAll('replies')
    .select(['members.username as author_username', 'members.display_name as author_display_name', 'members.ap_id as author_ap_id']);
}

export type ReplyWithNames = Awaited<ReturnType<typeof findReply>> & {};

export function findReply(db: Database, id: number) {
  return repliesWithAuthors(db).where('replies.id', '=', id).executeTakeFirst();
}

/** Several threads (not deleted) and replies at once, for listings that would otherwise load them one by one. */
export function findThreads(db: Database, ids: readonly number[]) {
  return ids.length ? threadsWithAuthors(db).where('threads.id', 'in', ids).where('threads.deleted_at', 'is', null).execute() : Promise.resolve([]);
}

export function findReplies(db: Database, ids: readonly number[]) {
  return ids.length ? repliesWithAuthors(db).where('replies.id', 'in', ids).execute() : Promise.resolve([]);
}

export function repliesOf(db: Database, threadId: number) {
  return repliesWithAuthors(db).where('replies.thread_id', '=', threadId).orderBy('replies.created_at').orderBy('replies.id').execute();
}

export function insertReply(db: Database, values: Insertable<RepliesTable>, neighbourhoodId: number) {
  return db.transaction().execute(async (trx) => {
    const row = await trx.insertInto('replies').values(values).returning(['id', 'created_at']).executeTakeFirstOrThrow();
    await trx
      .updateTable('threads')
      .set((eb) => ({ reply_count: eb('reply_count', '+', 1), last_activity_at: row.created_at }))
      .where('id', '=', values.thread_id)
      .execute();
    await trx.updateTable('neighbourhoods').set({ last_activity_at: row.created_at }).where('id', '=', neighbourhoodId).execute();
    return row.id;
  });
}

export function updateReply(db: Database, id: number, changes: Updateable<RepliesTable>) {
  return db.updateTable('replies').set(changes).where('id', '=', id).execute();
}

/** A deleted reply keeps its place in the tree, so the replies under it still make sense. */
export function markReplyDeleted(db: Database, reply: { id: number; thread_id: number }) {
  return db.transaction().execute(async (trx) => {
    const marked = await trx
      .updateTable('replies')
      .set({ deleted_at: new Date(), body_source: '', body_html: '' })
      .where('id', '=', reply.id)
      .where('deleted_at', 'is', null)
      .executeTakeFirst();
    if (marked.numUpdatedRows > 0n) {
      await trx.updateTable('threads').set((eb) => ({ reply_count: eb('reply_count', '-', 1) })).where('id', '=', reply.thread_id).execute();
    }
  });
}

/** Every thread and reply of one author not yet deleted. */
export async function postsOfAuthor(db: Database, authorId: number) {
  const [threads, replies] = await Promise.all([
    db.selectFrom('threads').select('id').where('author_id', '=', authorId).where('deleted_at', 'is', null).execute(),
    db.selectFrom('replies').select(['id', 'thread_id']).where('author_id', '=', authorId).where('deleted_at', 'is', null).execute(),
  ]);
  return { threads, replies };
}

export type LikeTarget = { thread_id: number } | { reply_id: number };
export type VoteDirection = 1 | -1;
const countColumn = (direction: VoteDirection) => (direction === 1 ? 'like_count' : 'dislike_count');

/**
 * Gives one member's vote on a post `direction` (a like, or a dislike from another server), or with
 * `on` false takes back their vote; keeps the post's counts in step and returns them, with `voted_at`:
 * when the vote given or taken back was first cast (null when nothing changed), which names it elsewhere.
 */
export function setVote(db: Database, memberId: number, target: LikeTarget, direction: VoteDirection, on: boolean) {
  const table = 'thread_id' in target ? 'threads' : 'replies';
  const targetId = 'thread_id' in target ? target.thread_id : target.reply_id;
  const column = 'thread_id' in target ? 'thread_id' : 'reply_id';
  return db.transaction().execute(async (trx) => {
    const steps = { like_count: 0, dislike_count: 0 };
    let votedAt: Date | null = null;
    if (on) {
      const inserted = await trx
        .insertInto('likes')
        .values({ member_id: memberId, thread_id: null, reply_id: null, ...target, direction })
        .onConflict((oc) => oc.columns([column, 'member_id']).where(column, 'is not', null).doNothing())
        .returning('created_at')
        .executeTakeFirst();
      if (inserted) {
        steps[countColumn(direction)] = 1;
        votedAt = inserted.created_at;
      } else {
        // A member turning a like into a dislike (or back) moves their one vote across.
        const turned = await trx.updateTable('likes').set({ direction }).where('member_id', '=', memberId).where(column, '=', targetId)
          .where('direction', '=', -direction as VoteDirection).returning('created_at').executeTakeFirst();
        if (turned) {
          steps[countColumn(direction)] = 1;
          steps[countColumn(-direction as VoteDirection)] = -1;
          votedAt = turned.created_at;
        }
      }
    } else {
      // Lemmy undoes a dislike as `Undo(Like)`: taking a vote back takes it back whichever way it went.
      const removed = await trx.deleteFrom('likes').where('member_id', '=', memberId).where(column, '=', targetId).returning(['direction', 'created_at']).executeTakeFirst();
      if (removed) {
        steps[countColumn(removed.direction)] = -1;
        votedAt = removed.created_at;
      }
    }
    const counts = await trx
      .updateTable(table)
      .set((eb) => ({ like_count: eb('like_count', '+', steps.like_count), dislike_count: eb('dislike_count', '+', steps.dislike_count) }))
      .where('id', '=', targetId)
      .returning(['like_count', 'dislike_count'])
      .executeTakeFirstOrThrow();
    return { ...counts, voted_at: votedAt };
  });
}

/**
 * A member's standing in a thread, in one statement: their role in its neighbourhood, and which of the thread
 * and its replies they have liked, so pages can show the like buttons pressed.
 */
export function standingInThread(db: Database, memberId: number, thread: { id: number; neighbourhood_id: number }) {
  const likes = db
    .selectFrom('likes')
    .select(['likes.thread_id', 'likes.reply_id'])
    .where('likes.member_id', '=', memberId)
    .where('likes.direction', '=', 1)
    .where((eb) =>
      eb.or([
        eb('likes.thread_id', '=', thread.id),
        eb('likes.reply_id', 'in', eb.selectFrom('replies').select('replies.id').where('replies.thread_id', '=', thread.id)),
      ]),
    );
  return db
    .selectNoFrom([roleOf(db, thread.neighbourhood_id, memberId).as('role'), jsonArrayFrom(likes).as('likes')])
    .executeTakeFirstOrThrow();
}

export function threadsByAuthor(db: Database, authorId: number, limit: number, reader: Reader) {
  return threadsWithAuthors(db)
    .where('threads.author_id', '=', authorId)
    .where('threads.neighbourhood_id', 'in', readableNeighbourhoods(db, reader))
    .where('threads.deleted_at', 'is', null)
    .orderBy('threads.created_at', 'desc')
    .orderBy('threads.id', 'desc')
    .limit(limit)
    .execute();
}

export async function threadIdByApId(db: Database, apId: string) {
  return (await db.selectFrom('threads').select('id').where('ap_id', '=', apId).executeTakeFirst())?.id;
}

export async function replyIdByApId(db: Database, apId: string) {
  return (await db.selectFrom('replies').select('id').where('ap_id', '=', apId).executeTakeFirst())?.id;
}

export function findThreadEvenDeleted(db: Database, id: number) {
  return threadsWithAuthors(db).where('threads.id', '=', id).executeTakeFirst();
}
