// Moderation across federation: each moderation log entry is announced to other servers, so the log
// says what a ban's end and content removal were, and tells the processes (NOTIFY) that an entry is new.
import { type Kysely, sql } from 'kysely';

const statements = [
  `alter table moderation_log add column expires_at timestamptz`,
  `alter table moderation_log add column removed_content boolean not null default false`,
  `create function square_mile_moderation_logged() returns trigger language plpgsql as $$
  begin
    perform pg_notify('square_mile_moderation', new.id::text);
    return null;
  end $$`,
  `create trigger moderation_log_notify after insert on moderation_log
    for each row execute function square_mile_moderation_logged()`,
];

export async function up(db: Kysely<unknown>): Promise<void> {
  for (const statement of statements) await sql.raw(statement).execute(db);
}
