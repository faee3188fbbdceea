// Federation: actor keys, the cache of remote actors and their servers, follows across instances,
// and the durable job queue and key–value rows Fedify runs on.
import { type Kysely, sql } from 'kysely';

const statements = [
  // One row per key of a local actor: `member:<id>`, `neighbourhood:<id>` or `instance`.
  `create table actor_keys (
    actor text not null,
    algorithm text not null check (algorithm in ('rsa', 'ed25519')),
    public_jwk jsonb not null,
    private_jwk jsonb not null,
    created_at timestamptz not null default now(),
    primary key (actor, algorithm)
  )`,
  `create table remote_servers (
    host text primary key,
    unreachable_since timestamptz,
    last_failure_at timestamptz,
    last_success_at timestamptz
  )`,
  `create table remote_actors (
    id integer generated always as identity primary key,
    uri text not null unique,
    host text not null,
    handle text,
    type text not null,
    name text not null default '',
    inbox text not null,
    shared_inbox text,
    url text,
    fetched_at timestamptz not null default now()
  )`,
  `create index remote_actors_handle on remote_actors (lower(handle))`,
  // Follows between a local actor and a remote one, in either direction.
  `create table remote_follows (
    id integer generated always as identity primary key,
    local_actor text not null,
    remote_actor_id integer not null references remote_actors (id) on delete cascade,
    direction text not null check (direction in ('inbound', 'outbound')),
    activity_id text not null,
    state text not null check (state in ('pending', 'accepted')),
    created_at timestamptz not null default now(),
    accepted_at timestamptz,
    unique (local_actor, remote_actor_id, direction)
  )`,
  `create index remote_follows_local on remote_follows (local_actor, direction, state, id)`,
  `create index remote_follows_activity on remote_follows (activity_id)`,
  `alter table neighbourhoods add column admission text not null default 'open' check (admission in ('open', 'approval'))`,
  `create table federation_kv (
    key text primary key,
    value jsonb not null,
    expires_at timestamptz
  )`,
  `create index federation_kv_expiry on federation_kv (expires_at) where expires_at is not null`,
  `create table federation_jobs (
    id bigint generated always as identity primary key,
    message jsonb not null,
    ordering_key text,
    run_at timestamptz not null default now(),
    locked_until timestamptz,
    created_at timestamptz not null default now()
  )`,
  `create index federation_jobs_due on federation_jobs (run_at, id)`,
];

export async function up(db: Kysely<unknown>): Promise<void> {
  for (const statement of statements) await sql.raw(statement).execute(db);
}
