// Members, neighbourhoods, threads and replies: the local forum.
// Plain SQL that PostgreSQL 15 and the embedded PGlite (PostgreSQL 17) both accept.
import { type Kysely, sql } from 'kysely';

const statements = [
  `create table members (
    id integer generated always as identity primary key,
    username text not null,
    username_key text not null unique,
    display_name text not null default '',
    bio text not null default '',
    password_hash text,
    role text not null default 'member' check (role in ('member', 'moderator', 'admin')),
    status text not null default 'active' check (status in ('active', 'pending', 'suspended')),
    created_at timestamptz not null default now()
  )`,
  `create table access_tokens (
    id integer generated always as identity primary key,
    member_id integer not null references members (id) on delete cascade,
    token_hash text not null unique,
    kind text not null check (kind in ('api', 'session')),
    created_at timestamptz not null default now(),
    revoked_at timestamptz
  )`,
  `create index access_tokens_member on access_tokens (member_id)`,
  `create table neighbourhoods (
    id integer generated always as identity primary key,
    handle text not null,
    handle_key text not null unique,
    name text not null,
    name_key text not null,
    description text not null default '',
    rules text not null default '',
    place_name text not null,
    latitude double precision,
    longitude double precision,
    radius_metres integer,
    created_by integer references members (id) on delete set null,
    created_at timestamptz not null default now(),
    last_activity_at timestamptz not null default now(),
    member_count integer not null default 0,
    check ((latitude is null) = (longitude is null)),
    check (latitude is null or latitude between -90 and 90),
    check (longitude is null or longitude between -180 and 180),
    check (radius_metres is null or radius_metres > 0)
  )`,
  `create index neighbourhoods_name on neighbourhoods (name_key text_pattern_ops)`,
  `create index neighbourhoods_point on neighbourhoods (latitude, longitude) where latitude is not null`,
  `create index neighbourhoods_activity on neighbourhoods (last_activity_at desc, id desc)`,
  `create table memberships (
    neighbourhood_id integer not null references neighbourhoods (id) on delete cascade,
    member_id integer not null references members (id) on delete cascade,
    role text not null default 'member' check (role in ('member', 'moderator')),
    joined_at timestamptz not null default now(),
    primary key (neighbourhood_id, member_id)
  )`,
  `create index memberships_member on memberships (member_id)`,
  `create table threads (
    id integer generated always as identity primary key,
    neighbourhood_id integer not null references neighbourhoods (id) on delete cascade,
    author_id integer references members (id) on delete set null,
    kind text not null check (kind in ('discussion', 'event', 'offer', 'want', 'story')),
    title text not null,
    body_source text not null,
    body_html text not null,
    event_starts_at timestamptz,
    event_ends_at timestamptz,
    event_place text,
    exchange_item text,
    exchange_expires_at timestamptz,
    exchange_status text check (exchange_status in ('open', 'fulfilled')),
    reply_count integer not null default 0,
    like_count integer not null default 0,
    created_at timestamptz not null default now(),
    edited_at timestamptz,
    deleted_at timestamptz,
    last_activity_at timestamptz not null default now(),
    check (kind <> 'event' or event_starts_at is not null),
    check (event_ends_at is null or event_ends_at >= event_starts_at),
    check ((kind in ('offer', 'want')) = (exchange_status is not null))
  )`,
  `create index threads_neighbourhood_activity on threads (neighbourhood_id, last_activity_at desc, id desc)`,
  `create index threads_neighbourhood_kind_activity on threads (neighbourhood_id, kind, last_activity_at desc, id desc)`,
  `create index threads_author on threads (author_id)`,
  `create table replies (
    id integer generated always as identity primary key,
    thread_id integer not null references threads (id) on delete cascade,
    parent_id integer references replies (id) on delete cascade,
    author_id integer references members (id) on delete set null,
    body_source text not null,
    body_html text not null,
    like_count integer not null default 0,
    created_at timestamptz not null default now(),
    edited_at timestamptz,
    deleted_at timestamptz
  )`,
  `create index replies_thread on replies (thread_id, created_at, id)`,
  `create index replies_parent on replies (parent_id)`,
  `create table likes (
    member_id integer not null references members (id) on delete cascade,
    thread_id integer references threads (id) on delete cascade,
    reply_id integer references replies (id) on delete cascade,
    created_at timestamptz not null default now(),
    check ((thread_id is null) <> (reply_id is null))
  )`,
  `create unique index likes_thread on likes (thread_id, member_id) where thread_id is not null`,
  `create unique index likes_reply on likes (reply_id, member_id) where reply_id is not null`,
];

export async function up(db: Kysely<unknown>): Promise<void> {
  for (const statement of statements) await sql.raw(statement).execute(db);
}
