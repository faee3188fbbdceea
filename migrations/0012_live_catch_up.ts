// Live events are kept a while in `live_events`, numbered in order, as well as sent by NOTIFY: a listener
// that lost its connection reads what it missed from there once it listens again. The NOTIFY payload now
// carries the event's number, so a listener knows where it is.
import { type Kysely, sql } from 'kysely';

const liveNotice = (fields: string) => `perform square_mile_live_publish(jsonb_build_object(${fields}))`;

const statements = [
  `create table live_events (
    id bigint generated always as identity primary key,
    payload jsonb not null,
    created_at timestamptz not null default now()
  )`,
  `create index live_events_created_at on live_events (created_at)`,
  // Every writer goes through here; one in a few hundred also clears events older than an hour, so the
  // table stays small without a separate job.
  `create function square_mile_live_publish(notice jsonb) returns void language plpgsql as $$
  declare
    event_id bigint;
  begin
    insert into live_events (payload) values (notice) returning id into event_id;
    perform pg_notify('square_mile_live', (notice || jsonb_build_object('id', event_id))::text);
    if event_id % 250 = 0 then
      delete from live_events where created_at < now() - interval '1 hour';
    end if;
  end $$`,
  `create or replace function square_mile_live_thread() returns trigger language plpgsql as $$
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
    ${liveNotice(`'type', event, 'neighbourhoodId', new.neighbourhood_id, 'threadId', new.id`)};
    return new;
  end $$`,
  `create or replace function square_mile_live_reply() returns trigger language plpgsql as $$
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
    ${liveNotice(`'type', event, 'neighbourhoodId', (select neighbourhood_id from threads where id = new.thread_id),
      'threadId', new.thread_id, 'replyId', new.id`)};
    return new;
  end $$`,
  `create or replace function square_mile_live_follows() returns trigger language plpgsql as $$
  begin
    ${liveNotice(`'type', 'follows.changed', 'memberId', coalesce(new.member_id, old.member_id)`)};
    return null;
  end $$`,
];

export async function up(db: Kysely<unknown>): Promise<void> {
  for (const statement of statements) await sql.raw(statement).execute(db);
}
