// Network-weavers: follows, named sets of neighbourhoods, private feed tokens, and the live-event triggers.
// The triggers make every writer (web, API, federation, another server process) announce posts the same way:
// a small NOTIFY payload with ids only, which the live bus turns into events after its own visibility check.
import { type Kysely, sql } from 'kysely';

const statements = [
  `create table neighbourhood_follows (
    member_id integer not null references members (id) on delete cascade,
    neighbourhood_id integer not null references neighbourhoods (id) on delete cascade,
    created_at timestamptz not null default now(),
    primary key (member_id, neighbourhood_id)
  )`,
  `create index neighbourhood_follows_neighbourhood on neighbourhood_follows (neighbourhood_id)`,
  `create table neighbourhood_sets (
    id integer generated always as identity primary key,
    owner_id integer not null references members (id) on delete cascade,
    name text not null,
    shared boolean not null default false,
    share_key text not null unique,
    created_at timestamptz not null default now(),
    unique (owner_id, name)
  )`,
  `create table neighbourhood_set_entries (
    set_id integer not null references neighbourhood_sets (id) on delete cascade,
    neighbourhood_id integer not null references neighbourhoods (id) on delete cascade,
    primary key (set_id, neighbourhood_id)
  )`,
  `create table feed_tokens (
    id integer generated always as identity primary key,
    member_id integer not null references members (id) on delete cascade,
    token_hash text not null unique,
    label text not null default '',
    created_at timestamptz not null default now(),
    revoked_at timestamptz
  )`,
  `create index feed_tokens_member on feed_tokens (member_id)`,
  // The home feed and the digest read recent posts of many neighbourhoods at once.
  `create index threads_neighbourhood_created on threads (neighbourhood_id, created_at desc, id desc)`,
  `create index replies_created on replies (created_at desc, id desc)`,
  // Joining a neighbourhood follows it, whichever path made the membership.
  `insert into neighbourhood_follows (member_id, neighbourhood_id, created_at)
    select member_id, neighbourhood_id, joined_at from memberships on conflict do nothing`,
  `create function square_mile_follow_on_join() returns trigger language plpgsql as $$
  begin
    insert into neighbourhood_follows (member_id, neighbourhood_id) values (new.member_id, new.neighbourhood_id)
      on conflict do nothing;
    return new;
  end $$`,
  `create trigger memberships_follow after insert on memberships
    for each row execute function square_mile_follow_on_join()`,
  `create function square_mile_live_thread() returns trigger language plpgsql as $$
  declare
    event text;
  begin
    if tg_op = 'INSERT' then
      event := 'thread.created';
    elsif new.deleted_at is not null and old.deleted_at is null then
      event := 'thread.deleted';
    elsif new.deleted_at is null and (new.title, new.body_html, new.event_starts_at, new.event_ends_at, new.event_place,
        new.exchange_item, new.exchange_expires_at, new.exchange_status, new.edited_at)
      is distinct from (old.title, old.body_html, old.event_starts_at, old.event_ends_at, old.event_place,
        old.exchange_item, old.exchange_expires_at, old.exchange_status, old.edited_at) then
      event := 'thread.edited';
    else
      return new;
    end if;
    perform pg_notify('square_mile_live', json_build_object(
      'type', event, 'neighbourhoodId', new.neighbourhood_id, 'threadId', new.id)::text);
    return new;
  end $$`,
  `create trigger threads_live after insert or update on threads
    for each row execute function square_mile_live_thread()`,
  `create function square_mile_live_reply() returns trigger language plpgsql as $$
  declare
    event text;
  begin
    if tg_op = 'INSERT' then
      event := 'reply.created';
    elsif new.deleted_at is not null and old.deleted_at is null then
      event := 'reply.deleted';
    elsif new.deleted_at is null and (new.body_html, new.edited_at) is distinct from (old.body_html, old.edited_at) then
      event := 'reply.edited';
    else
      return new;
    end if;
    perform pg_notify('square_mile_live', json_build_object(
      'type', event,
      'neighbourhoodId', (select neighbourhood_id from threads where id = new.thread_id),
      'threadId', new.thread_id,
      'replyId', new.id)::text);
    return new;
  end $$`,
  `create trigger replies_live after insert or update on replies
    for each row execute function square_mile_live_reply()`,
  // A member's home stream, on whichever process holds it, learns that what they follow changed.
  `create function square_mile_live_follows() returns trigger language plpgsql as $$
  begin
    perform pg_notify('square_mile_live', json_build_object(
      'type', 'follows.changed', 'memberId', coalesce(new.member_id, old.member_id))::text);
    return null;
  end $$`,
  `create trigger neighbourhood_follows_live after insert or delete on neighbourhood_follows
    for each row execute function square_mile_live_follows()`,
];

export async function up(db: Kysely<unknown>): Promise<void> {
  for (const statement of statements) await sql.raw(statement).execute(db);
}
