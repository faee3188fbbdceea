// Group federation: remote authors are members without a password, known by their ActivityPub id;
// threads, replies and neighbourhoods from other servers keep the id they have there.
import { type Kysely, sql } from 'kysely';

const statements = [
  `alter table members add column ap_id text unique`,
  `alter table threads add column ap_id text unique`,
  `alter table threads add column language text`,
  `alter table threads add column sensitive boolean not null default false`,
  `alter table threads add column attachments jsonb not null default '[]'`,
  `alter table replies add column ap_id text unique`,
  `alter table neighbourhoods add column ap_id text unique`,
];

export async function up(db: Kysely<unknown>): Promise<void> {
  for (const statement of statements) await sql.raw(statement).execute(db);
}
