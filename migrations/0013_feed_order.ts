// Feeds page newest first by (created_at, id) through an index. Their cursor carries the time to the
// millisecond, so posts keep their time at millisecond precision, cut on every write by a trigger; then
// ordering by the column itself equals ordering by the cut time, and an index on the column serves it.
import { type Kysely, sql } from 'kysely';

const statements = [
  `create function square_mile_millisecond_created() returns trigger language plpgsql as $$
  begin
    new.created_at := date_trunc('milliseconds', new.created_at);
    return new;
  end $$`,
  `create trigger threads_millisecond_created before insert or update of created_at on threads
    for each row execute function square_mile_millisecond_created()`,
  `create trigger replies_millisecond_created before insert or update of created_at on replies
    for each row execute function square_mile_millisecond_created()`,
  `update threads set created_at = date_trunc('milliseconds', created_at) where created_at <> date_trunc('milliseconds', created_at)`,
  `update replies set created_at = date_trunc('milliseconds', created_at) where created_at <> date_trunc('milliseconds', created_at)`,
  // The public feed, and home feeds whose neighbourhoods hold much of what is posted, walk these newest first.
  `create index threads_created on threads (created_at desc, id desc)`,
];

export async function up(db: Kysely<unknown>): Promise<void> {
  for (const statement of statements) await sql.raw(statement).execute(db);
}
