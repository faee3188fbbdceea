// Every SQL statement about members' own (profile) posts.
import { sql } from 'kysely';
import type { Database } from '../database.ts';

function postsWithAuthors(db: Database) {
  return db
    .selectFrom('profile_posts')
    .innerJoin('members', 'members.id', 'profile_posts.author_id')
    .selectAll('profile_posts')
    .select(['members.username as author_username', 'members.display_name as author_display_name']);
}

export type ProfilePostWithAuthor = NonNullable<Awaited<ReturnType<typeof findPost>>>;

export function findPost(db: Database, id: number) {
  return postsWithAuthors(db).where('profile_posts.id', '=', id).where('profile_posts.deleted_at', 'is', null).executeTakeFirst();
}

export function findPostEvenDeleted(db: Database, id: number) {
  return postsWithAuthors(db).where('profile_posts.id', '=', id).executeTakeFirst();
}

export async function insertPost(db: Database, values: { author_id: number; body_source: string; body_html: string }) {
  return (await db.insertInto('profile_posts').values(values).returning('id').executeTakeFirstOrThrow()).id;
}

export function updatePost(db: Database, id: number, changes: { body_source: string; body_html: string }) {
  return db.updateTable('profile_posts').set({ ...changes, edited_at: new Date() }).where('id', '=', id).execute();
}

export function markPostDeleted(db: Database, id: number) {
  return db.updateTable('profile_posts').set({ deleted_at: new Date() }).where('id', '=', id).where('deleted_at', 'is', null).execute();
}

// Cut to milliseconds so that a cursor, which travels as an ISO string, compares exactly.
const postAt = sql<Date>`date_trunc('milliseconds', profile_posts.created_at)`;

/** A member's posts, newest first, from after the keyset position `after` when given. */
export function postsBy(db: Database, authorId: number, limit: number, after?: { at: Date; id: number }) {
  return postsWithAuthors(db)
    .where('profile_posts.author_id', '=', authorId)
    .where('profile_posts.deleted_at', 'is', null)
    .$if(!!after, (qb) => qb.where((eb) => eb(eb.tuple(postAt, eb.ref('profile_posts.id')), '<', eb.tuple(after!.at, after!.id))))
    .orderBy(postAt, 'desc')
    .orderBy('profile_posts.id', 'desc')
    .limit(limit)
    .execute();
}
