// Every SQL statement the Mastodon client API needs beyond what the forum's own features ask.
//
// Status ids. Mastodon apps page with max_id/since_id/min_id and many compare ids, so a status id must
// be unique across threads and replies and must sort by time. It is a fixed-width decimal string:
//   13 digits: creation time in Unix milliseconds (zero-padded)
//    1 digit : 1 = thread, 2 = reply (3 and up are free for later kinds of post)
//   10 digits: the row id (zero-padded; ids are 32-bit)
// e.g. "1763780000123" + "1" + "0000000042". Equal width makes string order, numeric order and time order
// agree. Ids are always computed here, in SQL, so paging compares exactly what was handed out.
//
// Notification ids follow the same idea, 35 digits: 13 of time, 1 of type (1 mention, 2 favourite),
// 1 of status kind, 10 of the status's row id, 10 of the acting member (0 when the status says who).
import { type Expression, type ExpressionBuilder, type SqlBool, sql } from 'kysely';
import type { Database, StoredAttachment, Tables } from '../database.ts';
import { followedNeighbourhoods } from '../feeds/queries.ts';
import { type Reader, readableNeighbourhoods } from '../feeds/visibility.ts';

const millis = (column: string) => sql<string>`lpad(floor(extract(epoch from ${sql.ref(column)}) * 1000)::bigint::text, 13, '0')`;
const pad10 = (column: string) => sql<string>`lpad(${sql.ref(column)}::text, 10, '0')`;
const threadStatusId = sql<string>`${millis('threads.created_at')} || '1' || ${pad10('threads.id')}`;
const replyStatusId = sql<string>`${millis('replies.created_at')} || '2' || ${pad10('replies.id')}`;

const postStatusId = sql<string>`${millis('profile_posts.created_at')} || '3' || ${pad10('profile_posts.id')}`;

/** The kind digit: 1 thread, 2 reply, 3 a member's own (profile) post. */
export const statusIdPattern = /^(\d{13})([123])(\d{10})$/;

export interface StatusFilter {
  /** Home: the neighbourhoods this member follows. */
  followedBy?: number;
  neighbourhoodId?: number;
  authorId?: number;
  /** A hashtag without its `#`: letters, digits and underscores only. */
  tag?: string;
  /** Words to find in titles and bodies. */
  text?: string;
  threadsOnly?: boolean;
  /** Who is asking: members-only neighbourhoods' posts are left out for anyone else (and when unset). */
  reader?: Reader;
}

export interface IdPage {
  maxId?: string;
  sinceId?: string;
  minId?: string;
  limit: number;
}

const escapeLike = (text: string) => text.replace(/[\\%_]/g, (c) => `\\${c}`);
const hashtagPattern = (tag: string) => `(^|[^[:alnum:]_&/])#${tag}([^[:alnum:]_]|$)`;

/** Status ids matching `filter`, newest first (or, with minId, the ones just above it). */
export async function statusIds(db: Database, filter: StatusFilter, page: IdPage): Promise<string[]> {
  const inNeighbourhoods = (eb: ExpressionBuilder<Tables, 'threads'>) => {
    const conditions: Expression<SqlBool>[] = [
      eb('threads.deleted_at', 'is', null),
      eb('threads.neighbourhood_id', 'in', readableNeighbourhoods(db, filter.reader ?? null)),
    ];
    if (filter.followedBy !== undefined) conditions.push(eb('threads.neighbourhood_id', 'in', followedNeighbourhoods(db, filter.followedBy)));
    if (filter.neighbourhoodId !== undefined) conditions.push(eb('threads.neighbourhood_id', '=', filter.neighbourhoodId));
    return conditions;
  };
  const threads = db
    .selectFrom('threads')
    .select(threadStatusId.as('status_id'))
    .where((eb) => {
      const conditions = inNeighbourhoods(eb);
      if (filter.authorId !== undefined) conditions.push(eb('threads.author_id', '=', filter.authorId));
      if (filter.tag) {
        const pattern = hashtagPattern(filter.tag);
        conditions.push(eb.or([eb('threads.title', '~*', pattern), eb('threads.body_source', '~*', pattern)]));
      }
      if (filter.text) {
        const like = `%${escapeLike(filter.text)}%`;
        conditions.push(eb.or([eb('threads.title', 'ilike', like), eb('threads.body_source', 'ilike', like)]));
      }
      return eb.and(conditions);
    });
  const replies = db
    .selectFrom('replies')
    .innerJoin('threads', 'threads.id', 'replies.thread_id')
    .select(replyStatusId.as('status_id'))
    .where((eb) => {
      const conditions = [...inNeighbourhoods(eb), eb('replies.deleted_at', 'is', null)];
      if (filter.authorId !== undefined) conditions.push(eb('replies.author_id', '=', filter.authorId));
      if (filter.tag) conditions.push(eb('replies.body_source', '~*', hashtagPattern(filter.tag)));
      if (filter.text) conditions.push(eb('replies.body_source', 'ilike', `%${escapeLike(filter.text)}%`));
      return eb.and(conditions);
    });
  // A member's own posts are in no neighbourhood: they show on their account, in public and in search.
  const inProfiles = filter.neighbourhoodId === undefined && filter.followedBy === undefined;
  const posts = db
    .selectFrom('profile_posts')
    .select(postStatusId.as('status_id'))
    .where((eb) => {
      const conditions: Expression<SqlBool>[] = [eb('profile_posts.deleted_at', 'is', null)];
      if (!inProfiles) conditions.push(sql<boolean>`false`);
      if (filter.authorId !== undefined) conditions.push(eb('profile_posts.author_id', '=', filter.authorId));
      if (filter.tag) conditions.push(eb('profile_posts.body_source', '~*', hashtagPattern(filter.tag)));
      if (filter.text) conditions.push(eb('profile_posts.body_source', 'ilike', `%${escapeLike(filter.text)}%`));
      return eb.and(conditions);
    });
  const all = (filter.threadsOnly ? threads : threads.unionAll(replies)).unionAll(posts);
  const rows = await db
    .selectFrom(all.as('s'))
    .select('s.status_id')
    .$if(page.maxId !== undefined, (qb) => qb.where('s.status_id', '<', page.maxId!))
    .$if(page.sinceId !== undefined, (qb) => qb.where('s.status_id', '>', page.sinceId!))
    .$if(page.minId !== undefined, (qb) => qb.where('s.status_id', '>', page.minId!))
    .orderBy('s.status_id', page.minId !== undefined ? 'asc' : 'desc')
    .limit(page.limit)
    .execute();
  const ids = rows.map((r) => r.status_id);
  return page.minId !== undefined ? ids.reverse() : ids;
}

/**
 * Threads and replies as statuses: one uniform row per status, with what Mastodon's Status needs about
 * the post it answers. Deleted posts are left out.
 */
export async function statusRows(db: Database, refs: { threads: number[]; replies: number[] }, reader: Reader) {
  const none = [-1];
  const threads = db
    .selectFrom('threads')
    .select([
      threadStatusId.as('status_id'),
      sql<'thread' | 'reply'>`'thread'`.as('kind'),
      'threads.id',
      'threads.id as thread_id',
      'threads.author_id',
      'threads.neighbourhood_id',
      sql<string | null>`threads.title`.as('title'),
      'threads.kind as thread_kind',
      'threads.body_source',
      'threads.body_html',
      'threads.like_count',
      'threads.attachments',
      'threads.reply_count',
      'threads.created_at',
      'threads.edited_at',
      sql<string | null>`null::text`.as('parent_status_id'),
      sql<number | null>`null::integer`.as('parent_author_id'),
    ])
    .where('threads.id', 'in', refs.threads.length ? refs.threads : none)
    .where('threads.deleted_at', 'is', null)
    .where('threads.neighbourhood_id', 'in', readableNeighbourhoods(db, reader));
  const replies = db
    .selectFrom('replies')
    .innerJoin('threads', 'threads.id', 'replies.thread_id')
    .leftJoin('replies as parent', 'parent.id', 'replies.parent_id')
    .select([
      replyStatusId.as('status_id'),
      sql<'thread' | 'reply'>`'reply'`.as('kind'),
      'replies.id',
      'replies.thread_id',
      'replies.author_id',
      'threads.neighbourhood_id',
      sql<string | null>`null::text`.as('title'),
      'threads.kind as thread_kind',
      'replies.body_source',
      'replies.body_html',
      'replies.like_count',
      'replies.attachments',
      sql<number>`(select count(*)::integer from replies as child where child.parent_id = replies.id and child.deleted_at is null)`.as('reply_count'),
      'replies.created_at',
      'replies.edited_at',
      sql<string | null>`case when parent.id is null
        then ${threadStatusId}
        else ${millis('parent.created_at')} || '2' || ${pad10('parent.id')} end`.as('parent_status_id'),
      sql<number | null>`coalesce(parent.author_id, threads.author_id)`.as('parent_author_id'),
    ])
    .where('replies.id', 'in', refs.replies.length ? refs.replies : none)
    .where('replies.deleted_at', 'is', null)
    .where('threads.deleted_at', 'is', null)
    .where('threads.neighbourhood_id', 'in', readableNeighbourhoods(db, reader));
  return threads.unionAll(replies).execute();
}

export type StatusRow = Awaited<ReturnType<typeof statusRows>>[number];

/** Members' own posts as statuses, in the shape of `statusRows` (no neighbourhood, no parent, no likes). */
export function postStatusRows(db: Database, ids: number[]) {
  return db
    .selectFrom('profile_posts')
    .select([
      postStatusId.as('status_id'),
      sql<'post'>`'post'`.as('kind'),
      'profile_posts.id',
      'profile_posts.author_id',
      sql<null>`null`.as('neighbourhood_id'),
      sql<null>`null`.as('title'),
      'profile_posts.body_source',
      'profile_posts.body_html',
      sql<number>`0`.as('like_count'),
      sql<StoredAttachment[]>`'[]'::jsonb`.as('attachments'),
      sql<number>`0`.as('reply_count'),
      'profile_posts.created_at',
      'profile_posts.edited_at',
      sql<null>`null`.as('parent_status_id'),
      sql<null>`null`.as('parent_author_id'),
    ])
    .where('profile_posts.id', 'in', ids.length ? ids : [-1])
    .where('profile_posts.deleted_at', 'is', null)
    .execute();
}

/** A post's status id, deleted or not: what a deletion tells apps to take away. */
export async function statusIdOf(db: Database, ref: { kind: 'thread' | 'reply'; id: number }): Promise<string | undefined> {
  const row = ref.kind === 'thread'
    ? await db.selectFrom('threads').select(threadStatusId.as('status_id')).where('threads.id', '=', ref.id).executeTakeFirst()
    : await db.selectFrom('replies').select(replyStatusId.as('status_id')).where('replies.id', '=', ref.id).executeTakeFirst();
  return row?.status_id;
}

export async function postStatusIdOf(db: Database, id: number): Promise<string> {
  return (await db.selectFrom('profile_posts').select(postStatusId.as('status_id')).where('id', '=', id).executeTakeFirstOrThrow()).status_id;
}

/** Every reply of a thread (deleted ones too: they still join the tree), for context views. */
export function replyTree(db: Database, threadId: number) {
  return db.selectFrom('replies').select(['id', 'parent_id', 'deleted_at']).where('thread_id', '=', threadId).orderBy('created_at').orderBy('id').execute();
}

/** Which of these the member has liked. */
export async function likedBy(db: Database, memberId: number, refs: { threads: number[]; replies: number[] }) {
  if (!refs.threads.length && !refs.replies.length) return [];
  return db
    .selectFrom('likes')
    .select(['thread_id', 'reply_id'])
    .where('member_id', '=', memberId)
    .where('direction', '=', 1)
    .where((eb) =>
      eb.or([
        eb('thread_id', 'in', refs.threads.length ? refs.threads : [-1]),
        eb('reply_id', 'in', refs.replies.length ? refs.replies : [-1]),
      ]),
    )
    .execute();
}

const memberColumns = (eb: ExpressionBuilder<Tables, 'members'>) => [
  'members.id',
  'members.username',
  'members.display_name',
  'members.bio',
  'members.ap_id',
  'members.created_at',
  eb
    .selectFrom('memberships')
    .select((e) => e.fn.countAll<number>().as('n'))
    .whereRef('memberships.member_id', '=', 'members.id')
    .as('following_count'),
  sql<number>`(select count(*) from threads where threads.author_id = members.id and threads.deleted_at is null)
    + (select count(*) from replies where replies.author_id = members.id and replies.deleted_at is null)
    + (select count(*) from profile_posts where profile_posts.author_id = members.id and profile_posts.deleted_at is null)`.as('statuses_count'),
  sql<Date | null>`greatest(
    (select max(created_at) from threads where threads.author_id = members.id and threads.deleted_at is null),
    (select max(created_at) from replies where replies.author_id = members.id and replies.deleted_at is null))`.as('last_status_at'),
] as const;

export function membersByIds(db: Database, ids: number[]) {
  return db
    .selectFrom('members')
    .select(memberColumns)
    .where('members.id', 'in', ids.length ? ids : [-1])
    .where('members.status', '=', 'active')
    .execute();
}

export type MemberAccountRow = Awaited<ReturnType<typeof membersByIds>>[number];

const neighbourhoodColumns = [
  'neighbourhoods.id',
  'neighbourhoods.handle',
  'neighbourhoods.name',
  'neighbourhoods.description',
  'neighbourhoods.place_name',
  'neighbourhoods.member_count',
  'neighbourhoods.created_at',
  sql<number>`(select count(*) from threads where threads.neighbourhood_id = neighbourhoods.id and threads.deleted_at is null)`.as('statuses_count'),
  sql<Date | null>`(select max(created_at) from threads where threads.neighbourhood_id = neighbourhoods.id and threads.deleted_at is null)`.as('last_status_at'),
] as const;

export function neighbourhoodsByIds(db: Database, ids: number[]) {
  return db.selectFrom('neighbourhoods').select(neighbourhoodColumns).where('neighbourhoods.id', 'in', ids.length ? ids : [-1]).execute();
}

export type NeighbourhoodAccountRow = Awaited<ReturnType<typeof neighbourhoodsByIds>>[number];

/** Members and neighbourhoods whose name contains `text`, for search. */
export async function searchAccounts(db: Database, text: string, limit: number) {
  const like = `%${escapeLike(text.toLowerCase())}%`;
  const members = await db
    .selectFrom('members')
    .select('id')
    .where('status', '=', 'active')
    .where((eb) => eb.or([eb('username_key', 'like', like), eb(eb.fn('lower', ['display_name']), 'like', like)]))
    .orderBy('id')
    .limit(limit)
    .execute();
  const neighbourhoods = await db
    .selectFrom('neighbourhoods')
    .select('id')
    .where((eb) => eb.or([eb('handle_key', 'like', like), eb('name_key', 'like', like), eb(eb.fn('lower', ['place_name']), 'like', like)]))
    .orderBy('id')
    .limit(limit)
    .execute();
  return { memberIds: members.map((m) => m.id), neighbourhoodIds: neighbourhoods.map((n) => n.id) };
}

export type NotificationType = 'mention' | 'favourite';

/**
 * A member's notifications, derived from what is stored rather than kept apart, so they follow every path
 * that writes posts and likes (pages, API, apps, federation) and vanish with what they point at:
 * replies to the member's posts and posts that mention them (`mention`), likes of their posts (`favourite`).
 */
export async function notifications(
  db: Database,
  member: { id: number; username: string },
  types: readonly NotificationType[],
  page: IdPage,
) {
  const mentionPattern = `(^|[^[:alnum:]_/])@${member.username}([^[:alnum:]_]|$)`;
  const none = db
    .selectFrom('members')
    .select([
      sql<string>`''`.as('id'),
      sql<NotificationType>`'mention'`.as('type'),
      sql<Date>`now()`.as('created_at'),
      sql<number>`0`.as('actor_id'),
      sql<string>`''`.as('status_id'),
    ])
    .where(sql<boolean>`false`);
  let all = none;
  if (types.includes('mention')) {
    const threadMentions = db
      .selectFrom('threads')
      .select([
        sql<string>`${millis('threads.created_at')} || '11' || ${pad10('threads.id')} || '0000000000'`.as('id'),
        sql<NotificationType>`'mention'`.as('type'),
        'threads.created_at',
        sql<number>`threads.author_id`.as('actor_id'),
        threadStatusId.as('status_id'),
      ])
      .where('threads.deleted_at', 'is', null)
      .where('threads.author_id', '<>', member.id)
      .where((eb) => eb.or([eb('threads.title', '~*', mentionPattern), eb('threads.body_source', '~*', mentionPattern)]));
    const replyMentions = db
      .selectFrom('replies')
      .innerJoin('threads', 'threads.id', 'replies.thread_id')
      .leftJoin('replies as parent', 'parent.id', 'replies.parent_id')
      .select([
        sql<string>`${millis('replies.created_at')} || '12' || ${pad10('replies.id')} || '0000000000'`.as('id'),
        sql<NotificationType>`'mention'`.as('type'),
        'replies.created_at',
        sql<number>`replies.author_id`.as('actor_id'),
        replyStatusId.as('status_id'),
      ])
      .where('replies.deleted_at', 'is', null)
      .where('threads.deleted_at', 'is', null)
      .where('replies.author_id', '<>', member.id)
      .where((eb) =>
        eb.or([
          eb.and([eb('replies.parent_id', 'is', null), eb('threads.author_id', '=', member.id)]),
          eb('parent.author_id', '=', member.id),
          eb('replies.body_source', '~*', mentionPattern),
        ]),
      );
    all = all.unionAll(threadMentions).unionAll(replyMentions);
  }
  if (types.includes('favourite')) {
    const threadLikes = db
      .selectFrom('likes')
      .innerJoin('threads', 'threads.id', 'likes.thread_id')
      .select([
        sql<string>`${millis('likes.created_at')} || '21' || ${pad10('threads.id')} || ${pad10('likes.member_id')}`.as('id'),
        sql<NotificationType>`'favourite'`.as('type'),
        'likes.created_at',
        'likes.member_id as actor_id',
        threadStatusId.as('status_id'),
      ])
      .where('threads.author_id', '=', member.id)
      .where('threads.deleted_at', 'is', null)
      .where('likes.direction', '=', 1)
      .where('likes.member_id', '<>', member.id);
    const replyLikes = db
      .selectFrom('likes')
      .innerJoin('replies', 'replies.id', 'likes.reply_id')
      .select([
        sql<string>`${millis('likes.created_at')} || '22' || ${pad10('replies.id')} || ${pad10('likes.member_id')}`.as('id'),
        sql<NotificationType>`'favourite'`.as('type'),
        'likes.created_at',
        'likes.member_id as actor_id',
        replyStatusId.as('status_id'),
      ])
      .where('replies.author_id', '=', member.id)
      .where('replies.deleted_at', 'is', null)
      .where('likes.direction', '=', 1)
      .where('likes.member_id', '<>', member.id);
    all = all.unionAll(threadLikes).unionAll(replyLikes);
  }
  const rows = await db
    .selectFrom(all.as('n'))
    .selectAll()
    .$if(page.maxId !== undefined, (qb) => qb.where('n.id', '<', page.maxId!))
    .$if(page.sinceId !== undefined, (qb) => qb.where('n.id', '>', page.sinceId!))
    .$if(page.minId !== undefined, (qb) => qb.where('n.id', '>', page.minId!))
    .orderBy('n.id', page.minId !== undefined ? 'asc' : 'desc')
    .limit(page.limit)
    .execute();
  return page.minId !== undefined ? rows.reverse() : rows;
}

/** What the instance description counts: active members and posts still standing. */
export function instanceCounts(db: Database) {
  return db
    .selectNoFrom([
      sql<number>`(select count(*) from members where status = 'active')`.as('members'),
      sql<number>`(select count(*) from threads where deleted_at is null) + (select count(*) from replies where deleted_at is null)`.as('posts'),
    ])
    .executeTakeFirstOrThrow();
}
