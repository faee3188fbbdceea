// Every SQL statement about pre-moderation: a neighbourhood's holding settings and the posts it holds.
import type { Insertable } from 'kysely';
import type { Database, HeldPostsTable } from '../database.ts';

export function findSettings(db: Database, neighbourhoodId: number) {
  return db.selectFrom('premoderation_settings').select(['hold_first_posts', 'hold_words']).where('neighbourhood_id', '=', neighbourhoodId).executeTakeFirst();
}

export function saveSettings(db: Database, neighbourhoodId: number, settings: { hold_first_posts: number; hold_words: string[] }) {
  const values = { hold_first_posts: settings.hold_first_posts, hold_words: JSON.stringify(settings.hold_words) as never };
  return db
    .insertInto('premoderation_settings')
    .values({ neighbourhood_id: neighbourhoodId, ...values })
    .onConflict((oc) => oc.column('neighbourhood_id').doUpdateSet(values))
    .execute();
}

/** How many posts (threads and replies, in any state) an author has had published in a neighbourhood. */
export async function publishedPostCount(db: Database, neighbourhoodId: number, authorId: number): Promise<number> {
  const row = await db
    .selectNoFrom((eb) => [
      eb.selectFrom('threads').select((s) => s.fn.countAll<number>().as('n')).where('neighbourhood_id', '=', neighbourhoodId).where('author_id', '=', authorId).as('threads'),
      eb
        .selectFrom('replies')
        .innerJoin('threads', 'threads.id', 'replies.thread_id')
        .select((s) => s.fn.countAll<number>().as('n'))
        .where('threads.neighbourhood_id', '=', neighbourhoodId)
        .where('replies.author_id', '=', authorId)
        .as('replies'),
    ])
    .executeTakeFirstOrThrow();
  return Number(row.threads) + Number(row.replies);
}

export const authorApId = async (db: Database, memberId: number) =>
  (await db.selectFrom('members').select('ap_id').where('id', '=', memberId).executeTakeFirst())?.ap_id ?? null;

/** Stores a held post; a post from another server that is already held is not held twice. Returns its id. */
export async function insertHeldPost(db: Database, values: Insertable<HeldPostsTable>): Promise<number> {
  const inserted = await db
    .insertInto('held_posts')
    .values(values)
    .onConflict((oc) => oc.column('ap_id').doNothing())
    .returning('id')
    .executeTakeFirst();
  if (inserted) return inserted.id;
  return (await db.selectFrom('held_posts').select('id').where('ap_id', '=', values.ap_id!).executeTakeFirstOrThrow()).id;
}

function heldWithNames(db: Database) {
  return db
    .selectFrom('held_posts')
    .innerJoin('neighbourhoods', 'neighbourhoods.id', 'held_posts.neighbourhood_id')
    .innerJoin('members', 'members.id', 'held_posts.author_id')
    .leftJoin('threads', 'threads.id', 'held_posts.thread_id')
    .select([
      'held_posts.id', 'held_posts.neighbourhood_id', 'held_posts.author_id', 'held_posts.thread_id', 'held_posts.kind', 'held_posts.title',
      'held_posts.body_html', 'held_posts.reason', 'held_posts.ap_id', 'held_posts.input', 'held_posts.created_at',
      'neighbourhoods.handle as neighbourhood_handle', 'neighbourhoods.name as neighbourhood_name',
      'members.username as author_username', 'members.display_name as author_display_name',
      'threads.title as thread_title',
    ]);
}

export type HeldPostRow = Awaited<ReturnType<typeof findHeldPost>> & {};

export function findHeldPost(db: Database, id: number) {
  return heldWithNames(db).where('held_posts.id', '=', id).executeTakeFirst();
}

export const heldIdByApId = async (db: Database, apId: string) =>
  (await db.selectFrom('held_posts').select('id').where('ap_id', '=', apId).executeTakeFirst())?.id;

export function heldPosts(db: Database, filter: { neighbourhoodId?: number; authorId?: number; threadId?: number }, limit = 200) {
  return heldWithNames(db)
    .$if(filter.neighbourhoodId !== undefined, (qb) => qb.where('held_posts.neighbourhood_id', '=', filter.neighbourhoodId!))
    .$if(filter.authorId !== undefined, (qb) => qb.where('held_posts.author_id', '=', filter.authorId!))
    .$if(filter.threadId !== undefined, (qb) => qb.where('held_posts.thread_id', '=', filter.threadId!))
    .orderBy('held_posts.id')
    .limit(limit)
    .execute();
}

/** Takes a held post out of the queue; false when someone else decided it first. */
export async function deleteHeldPost(db: Database, id: number): Promise<boolean> {
  const result = await db.deleteFrom('held_posts').where('id', '=', id).executeTakeFirst();
  return result.numDeletedRows > 0n;
}

/** Puts a post back in the queue after its approval failed, as it was. */
export async function restoreHeldPost(db: Database, row: HeldPostRow) {
  await db
    .insertInto('held_posts')
    .values({
      id: row.id, neighbourhood_id: row.neighbourhood_id, author_id: row.author_id, thread_id: row.thread_id, kind: row.kind, title: row.title,
      body_html: row.body_html, reason: row.reason, ap_id: row.ap_id, input: JSON.stringify(row.input) as never, created_at: row.created_at,
    })
    .execute();
}
