// Moderation: removed, locked and pinned threads, neighbourhood bans, the moderation log, and
// members-only neighbourhoods with join requests.
// A removal also sets deleted_at, so every read path that already hides deleted posts hides removed
// ones; removed_at tells a moderator's removal (restorable, body kept) from an author's own delete.
import { type Kysely, sql } from 'kysely';

const statements = [
  `alter table threads add column removed_at timestamptz`,
  `alter table threads add column locked_at timestamptz`,
  `alter table threads add column pinned_at timestamptz`,
  `alter table replies add column removed_at timestamptz`,
  `create index threads_pinned on threads (neighbourhood_id, pinned_at) where pinned_at is not null`,
  `create table neighbourhood_bans (
    neighbourhood_id integer not null references neighbourhoods (id) on delete cascade,
    member_id integer not null references members (id) on delete cascade,
    banned_by integer references members (id) on delete set null,
    reason text not null default '',
    expires_at timestamptz,
    created_at timestamptz not null default now(),
    primary key (neighbourhood_id, member_id)
  )`,
  `create table moderation_log (
    id integer generated always as identity primary key,
    neighbourhood_id integer references neighbourhoods (id) on delete cascade,
    moderator_id integer references members (id) on delete set null,
    action text not null,
    thread_id integer references threads (id) on delete set null,
    reply_id integer references replies (id) on delete set null,
    member_id integer references members (id) on delete set null,
    reason text not null default '',
    created_at timestamptz not null default now()
  )`,
  // Members-only neighbourhoods: threads are read by members alone; joining takes a moderator's approval.
  `alter table neighbourhoods add column visibility text not null default 'public' check (visibility in ('public', 'members'))`,
  `create table join_requests (
    neighbourhood_id integer not null references neighbourhoods (id) on delete cascade,
    member_id integer not null references members (id) on delete cascade,
    created_at timestamptz not null default now(),
    primary key (neighbourhood_id, member_id)
  )`,
  // Reports reach the moderators of the neighbourhood the post is in; reports on accounts reach instance staff.
  `create table reports (
    id integer generated always as identity primary key,
    reporter_id integer references members (id) on delete set null,
    neighbourhood_id integer references neighbourhoods (id) on delete cascade,
    thread_id integer references threads (id) on delete set null,
    reply_id integer references replies (id) on delete set null,
    member_id integer references members (id) on delete set null,
    category text not null check (category in ('spam', 'harassment', 'illegal', 'rules', 'other')),
    reason text not null default '',
    forward boolean not null default false,
    status text not null default 'open' check (status in ('open', 'resolved', 'dismissed')),
    resolved_by integer references members (id) on delete set null,
    resolved_at timestamptz,
    created_at timestamptz not null default now()
  )`,
  `create index reports_open on reports (neighbourhood_id, id) where status = 'open'`,
  `create index reports_reporter on reports (reporter_id, id)`,
  // Instance-level blocks of whole servers, as Mastodon keeps them (and exports them as CSV).
  `create table domain_blocks (
    domain text primary key,
    severity text not null check (severity in ('silence', 'suspend', 'noop')),
    reject_media boolean not null default false,
    reject_reports boolean not null default false,
    public_comment text not null default '',
    obfuscate boolean not null default false,
    created_at timestamptz not null default now()
  )`,
  // In allowlist mode (LIMITED_FEDERATION_MODE) only these servers are federated with.
  `create table domain_allows (
    domain text primary key,
    created_at timestamptz not null default now()
  )`,
  `create index moderation_log_neighbourhood on moderation_log (neighbourhood_id, id desc)`,
];

export async function up(db: Kysely<unknown>): Promise<void> {
  for (const statement of statements) await sql.raw(statement).execute(db);
}
