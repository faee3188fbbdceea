// Processes keep the lists of blocked and allowed servers in memory (the inbox asks about every
// activity's server); whoever changes a list, every process hears of it and reads the lists again.
import { type Kysely, sql } from 'kysely';

const statements = [
  `create function square_mile_domain_policy_changed() returns trigger language plpgsql as $$
  begin
    perform pg_notify('square_mile_domain_policy', '');
    return null;
  end $$`,
  `create trigger domain_blocks_notify after insert or update or delete or truncate on domain_blocks
    for each statement execute function square_mile_domain_policy_changed()`,
  `create trigger domain_allows_notify after insert or update or delete or truncate on domain_allows
    for each statement execute function square_mile_domain_policy_changed()`,
];

export async function up(db: Kysely<unknown>): Promise<void> {
  for (const statement of statements) await sql.raw(statement).execute(db);
}
