// A member's own posts, on their profile rather than in a neighbourhood (a status that mentions no
// neighbourhood, or a C2S Create addressed to none). Kept apart from threads so every neighbourhood
// rule (who may read, who moderates) stays as it is; they go to the member's followers.
import { type Kysely, sql } from 'kysely';

const statements = [
  `create table profile_posts (
    id integer generated always as identity primary key,
    author_id integer not null references members (id) on delete cascade,
    body_source text not null,
    body_html text not null,
    created_at timestamptz not null default now(),
    edited_at timestamptz,
    deleted_at timestamptz
  )`,
  `create index profile_posts_author on profile_posts (author_id, created_at desc) where deleted_at is null`,
];

export async function up(db: Kysely<unknown>): Promise<void> {
  for (const statement of statements) await sql.raw(statement).execute(db);
}
