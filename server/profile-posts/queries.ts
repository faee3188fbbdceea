// Every SQL statement about members' own (profile) posts.
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

export function postsBy(db: Database, authorId: number, limit: number) {
  return postsWithAuthors(db)
    .where('profile_posts.author_id', '=', authorId)
    .where('profile_posts.deleted_at', 'is', null)
    .orderBy('profile_posts.created_at', 'desc')
    .orderBy('profile_posts.id', 'desc')
    .limit(limit)
    .execute();
}
