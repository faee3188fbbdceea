// OAuth 2 for client apps: registered apps, one-time authorization codes, and the scopes each token carries.
// A member's OAuth token is an ordinary access token plus a grant row, so every API path accepts it;
// an app's own token (client_credentials) stands for no member and lives apart.
import { type Kysely, sql } from 'kysely';

const statements = [
  `create table oauth_apps (
    id integer generated always as identity primary key,
    client_id text not null unique,
    client_secret_hash text not null,
    name text not null,
    website text,
    redirect_uris text not null,
    scopes text not null,
    created_at timestamptz not null default now()
  )`,
  `create table oauth_codes (
    code_hash text primary key,
    app_id integer not null references oauth_apps (id) on delete cascade,
    member_id integer not null references members (id) on delete cascade,
    redirect_uri text not null,
    scopes text not null,
    code_challenge text,
    expires_at timestamptz not null
  )`,
  `create table oauth_grants (
    access_token_id integer primary key references access_tokens (id) on delete cascade,
    app_id integer not null references oauth_apps (id) on delete cascade,
    scopes text not null
  )`,
  `create index oauth_grants_app on oauth_grants (app_id)`,
  `create table oauth_app_tokens (
    id integer generated always as identity primary key,
    token_hash text not null unique,
    app_id integer not null references oauth_apps (id) on delete cascade,
    scopes text not null,
    created_at timestamptz not null default now(),
    revoked_at timestamptz
  )`,
];

export async function up(db: Kysely<unknown>): Promise<void> {
  for (const statement of statements) await sql.raw(statement).execute(db);
}
