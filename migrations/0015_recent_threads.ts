// How lively a neighbourhood has been (the directory's threads of the last 30 days, Mastodon's status count)
// is counted over its threads not deleted. With the deleted ones out of the index, such a count reads the
// index alone, where it read a heap page for nearly every thread before: a cost that grew with every post.
// Every other query that walks a neighbourhood's threads by time leaves the deleted ones out as well.
import { type Kysely, sql } from 'kysely';

const statements = [
  `drop index threads_neighbourhood_created`,
  `create index threads_neighbourhood_created on threads (neighbourhood_id, created_at desc, id desc) where deleted_at is null`,
];

export async function up(db: Kysely<unknown>): Promise<void> {
  for (const statement of statements) await sql.raw(statement).execute(db);
}
