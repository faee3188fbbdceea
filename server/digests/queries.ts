// The SQL behind digests: how lively each followed thread was within a period.
import { sql } from 'kysely';
import type { Database } from '../database.ts';
import { readableNeighbourhoods } from '../feeds/visibility.ts';

/** Threads in what the member follows, ranked by new replies and likes in [from, until), plus one for being new. */
export function liveliestThreads(db: Database, memberId: number, from: Date, until: Date, limit: number) {
  const newReplies = sql<number>`(select count(*) from replies r where r.thread_id = threads.id and r.deleted_at is null
    and r.created_at >= ${from} and r.created_at < ${until})`;
  const newLikes = sql<number>`(select count(*) from likes l where l.thread_id = threads.id and l.direction = 1
    and l.created_at >= ${from} and l.created_at < ${until})`;
  const isNew = sql<boolean>`(threads.created_at >= ${from} and threads.created_at < ${until})`;
  const scored = db
    .selectFrom('threads')
    .select(['threads.id', 'threads.last_activity_at', newReplies.as('new_replies'), newLikes.as('new_likes'), isNew.as('is_new')])
    .where('threads.deleted_at', 'is', null)
    .where('threads.created_at', '<', until)
    .where('threads.last_activity_at', '>=', from)
    .where('threads.neighbourhood_id', 'in', db.selectFrom('neighbourhood_follows').select('neighbourhood_id').where('member_id', '=', memberId))
    .where('threads.neighbourhood_id', 'in', readableNeighbourhoods(db, memberId));
  return db
    .selectFrom(scored.as('scored'))
    .selectAll()
    .where(sql<boolean>`new_replies + new_likes > 0 or is_new`)
    .orderBy(sql`new_replies + new_likes + (case when is_new then 1 else 0 end)`, 'desc')
    .orderBy('last_activity_at', 'desc')
    .orderBy('id', 'desc')
    .limit(limit)
    .execute();
}
