// A member's own posts: what they write on their profile rather than in a neighbourhood, as on any
// microblog. Public, shown on their profile, and sent to their followers on other servers (federation
// does the sending; see federation/profile-posts.ts). Only the author edits or deletes one.
import type { Viewer } from '../accounts/domain.ts';
import type { Database } from '../database.ts';
import { badRequest, forbidden, notFound } from '../errors.ts';
import { renderMarkdown } from '../markdown.ts';
import * as q from './queries.ts';

export type ProfilePost = q.ProfilePostWithAuthor;

function bodyColumns(body: string) {
  if (!body.trim()) throw badRequest('Write something first.', 'invalid_body');
  return { body_source: body, body_html: renderMarkdown(body) };
}

export async function postById(db: Database, id: number): Promise<ProfilePost> {
  const post = await q.findPost(db, id);
  if (!post) throw notFound('That post');
  return post;
}

/** A post that may be gone, for telling other servers it is. */
export const postEvenDeleted = q.findPostEvenDeleted;

export async function createPost(db: Database, viewer: Viewer, body: string): Promise<ProfilePost> {
  return postById(db, await q.insertPost(db, { author_id: viewer.id, ...bodyColumns(body) }));
}

async function ownPost(db: Database, viewer: Viewer, id: number): Promise<ProfilePost> {
  const post = await postById(db, id);
  if (post.author_id !== viewer.id) throw forbidden('Only the author can change this post.', 'not_the_author');
  return post;
}

export async function editPost(db: Database, viewer: Viewer, id: number, body: string): Promise<ProfilePost> {
  await ownPost(db, viewer, id);
  await q.updatePost(db, id, bodyColumns(body));
  return postById(db, id);
}

export async function deletePost(db: Database, viewer: Viewer, id: number): Promise<void> {
  await ownPost(db, viewer, id);
  await q.markPostDeleted(db, id);
}

/** A member's own posts, newest first (after a keyset position, for paging). */
export const postsBy = (db: Database, authorId: number, limit: number, after?: { at: Date; id: number }) => q.postsBy(db, authorId, limit, after);
