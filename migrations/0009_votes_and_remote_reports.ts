// Votes with a direction (a Dislike from Lemmy and friends counts, as a downvote), and reports that cross
// servers: a Flag we received or sent keeps its ActivityPub id, so a later Resolve finds the report.
// Replies from other servers keep their attachments (as links) like threads do.
import { type Kysely, sql } from 'kysely';

const statements = [
  `alter table likes add column direction smallint not null default 1 check (direction in (1, -1))`,
  `alter table threads add column dislike_count integer not null default 0`,
  `alter table replies add column dislike_count integer not null default 0`,
  `alter table replies add column attachments jsonb not null default '[]'`,
  `alter table reports add column ap_id text`,
  `create index reports_ap_id on reports (ap_id) where ap_id is not null`,
];

export async function up(db: Kysely<unknown>): Promise<void> {
  for (const statement of statements) await sql.raw(statement).execute(db);
}
