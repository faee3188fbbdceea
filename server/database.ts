// The database: PostgreSQL when DATABASE_URL is set, otherwise embedded PGlite under the data directory.
// Both sit behind kysely's PostgreSQL dialect, so every feature's SQL runs unchanged on either.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { webcrypto } from 'node:crypto';
import { PGlite } from '@electric-sql/pglite';
import {
  FileMigrationProvider,
  type Generated,
  Kysely,
  type LimitNode,
  Migrator,
  type OffsetNode,
  type OperationNode,
  PostgresDialect,
  PostgresQueryCompiler,
  sql,
  ValueNode,
} from 'kysely';
import pg from 'pg';
import { BoundedMap } from './bounded-map.ts';

export interface MembersTable {
  id: Generated<number>;
  username: string;
  username_key: string;
  display_name: Generated<string>;
  bio: Generated<string>;
  password_hash: string | null;
  role: Generated<'member' | 'moderator' | 'admin'>;
  status: Generated<'active' | 'pending' | 'suspended'>;
  created_at: Generated<Date>;
  /** Set for an author on another server: `username` is then `name@host` and there is no password. */
  ap_id: string | null;
}

export interface AccessTokensTable {
  id: Generated<number>;
  member_id: number;
  token_hash: string;
  kind: 'api' | 'session';
  created_at: Generated<Date>;
  revoked_at: Date | null;
}

export interface NeighbourhoodsTable {
  id: Generated<number>;
  handle: string;
  handle_key: string;
  name: string;
  name_key: string;
  description: Generated<string>;
  rules: Generated<string>;
  place_name: string;
  latitude: number | null;
  longitude: number | null;
  radius_metres: number | null;
  created_by: number | null;
  created_at: Generated<Date>;
  last_activity_at: Generated<Date>;
  member_count: Generated<number>;
  /** `open`: remote followers are accepted at once; `approval`: a moderator decides. */
  admission: Generated<'open' | 'approval'>;
  /** Set for a neighbourhood on another server that members here follow. */
  ap_id: string | null;
  /** `public`: anyone reads its threads; `members`: only its members do, on every path. */
  visibility: Generated<'public' | 'members'>;
}

export interface MembershipsTable {
  neighbourhood_id: number;
  member_id: number;
  role: Generated<'member' | 'moderator'>;
  joined_at: Generated<Date>;
}

export type ThreadKind = 'discussion' | 'event' | 'offer' | 'want' | 'story';
export type ExchangeStatus = 'open' | 'fulfilled';

export interface ThreadsTable {
  id: Generated<number>;
  neighbourhood_id: number;
  author_id: number | null;
  kind: ThreadKind;
  title: string;
  body_source: string;
  body_html: string;
  event_starts_at: Date | null;
  event_ends_at: Date | null;
  event_place: string | null;
  exchange_item: string | null;
  exchange_expires_at: Date | null;
  exchange_status: ExchangeStatus | null;
  reply_count: Generated<number>;
  like_count: Generated<number>;
  /** Downvotes, which arrive only over federation (Dislike): the pages here have no downvote button. */
  dislike_count: Generated<number>;
  created_at: Generated<Date>;
  edited_at: Date | null;
  deleted_at: Date | null;
  last_activity_at: Generated<Date>;
  /** Set for a thread that came from another server. */
  ap_id: string | null;
  language: string | null;
  sensitive: Generated<boolean>;
  /** Remote attachments, kept as links. */
  attachments: Generated<StoredAttachment[]>;
  /** Set with deleted_at when a moderator removes the thread, so it can be restored. */
  removed_at: Generated<Date | null>;
  locked_at: Generated<Date | null>;
  pinned_at: Generated<Date | null>;
  /** Bumped by triggers with every change to the thread's replies or to their authors' names. */
  replies_revision: Generated<number>;
}

/** An attachment of a post from another server, kept as a link: `name` is an image's alt text. */
export interface StoredAttachment {
  url: string;
  mediaType: string | null;
  name: string | null;
  /** The AS2 type (`Image`, `Document`, `Link`...); absent on rows stored before it was kept. */
  type?: string;
}

export interface RepliesTable {
  id: Generated<number>;
  thread_id: number;
  parent_id: number | null;
  author_id: number | null;
  body_source: string;
  body_html: string;
  like_count: Generated<number>;
  dislike_count: Generated<number>;
  created_at: Generated<Date>;
  edited_at: Date | null;
  deleted_at: Date | null;
  ap_id: string | null;
  removed_at: Generated<Date | null>;
  attachments: Generated<StoredAttachment[]>;
}

export interface ProfilePostsTable {
  id: Generated<number>;
  author_id: number;
  body_source: string;
  body_html: string;
  created_at: Generated<Date>;
  edited_at: Date | null;
  deleted_at: Date | null;
}

export interface LikesTable {
  member_id: number;
  thread_id: number | null;
  reply_id: number | null;
  /** 1 for a like, -1 for a dislike; one vote per member and post. */
  direction: Generated<1 | -1>;
  created_at: Generated<Date>;
}

export interface NeighbourhoodFollowsTable {
  member_id: number;
  neighbourhood_id: number;
  created_at: Generated<Date>;
}

export interface NeighbourhoodSetsTable {
  id: Generated<number>;
  owner_id: number;
  name: string;
  shared: Generated<boolean>;
  share_key: string;
  created_at: Generated<Date>;
}

export interface NeighbourhoodSetEntriesTable {
  set_id: number;
  neighbourhood_id: number;
}

export interface FeedTokensTable {
  id: Generated<number>;
  member_id: number;
  token_hash: string;
  label: Generated<string>;
  created_at: Generated<Date>;
  revoked_at: Date | null;
}

export interface OAuthAppsTable {
  id: Generated<number>;
  client_id: string;
  client_secret_hash: string;
  name: string;
  website: string | null;
  /** One redirect URI per line. */
  redirect_uris: string;
  /** Space-separated, as OAuth writes them. */
  scopes: string;
  created_at: Generated<Date>;
}

export interface OAuthCodesTable {
  code_hash: string;
  app_id: number;
  member_id: number;
  redirect_uri: string;
  scopes: string;
  code_challenge: string | null;
  expires_at: Date;
}

export interface OAuthGrantsTable {
  access_token_id: number;
  app_id: number;
  scopes: string;
}

export interface OAuthAppTokensTable {
  id: Generated<number>;
  token_hash: string;
  app_id: number;
  scopes: string;
  created_at: Generated<Date>;
  revoked_at: Date | null;
}

export interface ActorKeysTable {
  actor: string;
  algorithm: 'rsa' | 'ed25519';
  public_jwk: webcrypto.JsonWebKey;
  private_jwk: webcrypto.JsonWebKey;
  created_at: Generated<Date>;
}

export interface RemoteServersTable {
  host: string;
  unreachable_since: Date | null;
  last_failure_at: Date | null;
  last_success_at: Date | null;
}

export interface RemoteActorsTable {
  id: Generated<number>;
  uri: string;
  host: string;
  handle: string | null;
  type: string;
  name: Generated<string>;
  inbox: string;
  shared_inbox: string | null;
  url: string | null;
  fetched_at: Generated<Date>;
}

export interface RemoteFollowsTable {
  id: Generated<number>;
  local_actor: string;
  remote_actor_id: number;
  direction: 'inbound' | 'outbound';
  activity_id: string;
  state: 'pending' | 'accepted';
  created_at: Generated<Date>;
  accepted_at: Date | null;
}

export interface FederationKvTable {
  key: string;
  value: unknown;
  expires_at: Date | null;
}

export interface FederationJobsTable {
  id: Generated<number>;
  message: unknown;
  ordering_key: string | null;
  run_at: Generated<Date>;
  locked_until: Date | null;
  created_at: Generated<Date>;
}

export interface NeighbourhoodBansTable {
  neighbourhood_id: number;
  member_id: number;
  banned_by: number | null;
  reason: Generated<string>;
  expires_at: Date | null;
  created_at: Generated<Date>;
}

export type ModerationAction =
  | 'remove_thread' | 'restore_thread' | 'lock_thread' | 'unlock_thread' | 'pin_thread' | 'unpin_thread'
  | 'remove_reply' | 'restore_reply' | 'ban' | 'unban' | 'appoint_moderator' | 'dismiss_moderator'
  | 'suspend' | 'unsuspend' | 'make_members_only' | 'make_public' | 'approve_join' | 'reject_join' | 'resolve_report' | 'dismiss_report'
  | 'approve_post' | 'reject_post' | 'set_premoderation';

export interface ModerationLogTable {
  id: Generated<number>;
  /** Null for instance-wide actions such as suspending an account. */
  neighbourhood_id: number | null;
  moderator_id: number | null;
  action: ModerationAction;
  thread_id: number | null;
  reply_id: number | null;
  member_id: number | null;
  reason: Generated<string>;
  created_at: Generated<Date>;
  /** For a ban: when it ends (null: until lifted), and whether the member's posts were removed with it. */
  expires_at: Date | null;
  removed_content: Generated<boolean>;
}

export interface JoinRequestsTable {
  neighbourhood_id: number;
  member_id: number;
  created_at: Generated<Date>;
}

export type ReportCategory = 'spam' | 'harassment' | 'illegal' | 'rules' | 'other';

export interface ReportsTable {
  id: Generated<number>;
  reporter_id: number | null;
  /** Null for a report on an account, which instance staff handle. */
  neighbourhood_id: number | null;
  thread_id: number | null;
  reply_id: number | null;
  member_id: number | null;
  category: ReportCategory;
  reason: Generated<string>;
  /** The reporter agrees to the report going to the author's own server too. */
  forward: Generated<boolean>;
  status: Generated<'open' | 'resolved' | 'dismissed'>;
  resolved_by: number | null;
  resolved_at: Date | null;
  created_at: Generated<Date>;
  /** The Flag's id: one that arrived from another server, or the one we sent there for a member. */
  ap_id: Generated<string | null>;
}

export interface DomainBlocksTable {
  domain: string;
  /** `suspend` refuses the server's activities and sends it nothing; `silence` holds its posts and follows for approval; `noop` only records. */
  severity: 'silence' | 'suspend' | 'noop';
  reject_media: Generated<boolean>;
  reject_reports: Generated<boolean>;
  public_comment: Generated<string>;
  obfuscate: Generated<boolean>;
  created_at: Generated<Date>;
}

export interface PremoderationSettingsTable {
  neighbourhood_id: number;
  /** How many posts of a member new to the neighbourhood wait for a moderator; 0 holds none. */
  hold_first_posts: Generated<number>;
  /** Words and phrases that hold a post, matched case-insensitively on whole words. */
  hold_words: Generated<string[]>;
}

export interface HeldPostsTable {
  id: Generated<number>;
  neighbourhood_id: number;
  author_id: number;
  /** Set for a held reply: the thread it answers. */
  thread_id: number | null;
  kind: ThreadKind | null;
  title: string | null;
  /** What moderators and the author see while it waits. */
  body_html: string;
  reason: string;
  /** A held post from another server keeps its id there, so a repeat is not held twice. */
  ap_id: string | null;
  /** What the post becomes when approved: the thread or reply as it was submitted. */
  input: unknown;
  created_at: Generated<Date>;
}

export interface DomainAllowsTable {
  domain: string;
  created_at: Generated<Date>;
}

/** Live events, kept about an hour so a listener that reconnects can catch up (see server/live/bus.ts). */
export interface LiveEventsTable {
  id: Generated<number>;
  payload: Record<string, unknown>;
  created_at: Generated<Date>;
}

export interface Tables {
  members: MembersTable;
  access_tokens: AccessTokensTable;
  neighbourhoods: NeighbourhoodsTable;
  memberships: MembershipsTable;
  threads: ThreadsTable;
  replies: RepliesTable;
  profile_posts: ProfilePostsTable;
  likes: LikesTable;
  neighbourhood_follows: NeighbourhoodFollowsTable;
  neighbourhood_sets: NeighbourhoodSetsTable;
  neighbourhood_set_entries: NeighbourhoodSetEntriesTable;
  feed_tokens: FeedTokensTable;
  oauth_apps: OAuthAppsTable;
  oauth_codes: OAuthCodesTable;
  oauth_grants: OAuthGrantsTable;
  oauth_app_tokens: OAuthAppTokensTable;
  actor_keys: ActorKeysTable;
  remote_servers: RemoteServersTable;
  remote_actors: RemoteActorsTable;
  remote_follows: RemoteFollowsTable;
  federation_kv: FederationKvTable;
  federation_jobs: FederationJobsTable;
  neighbourhood_bans: NeighbourhoodBansTable;
  moderation_log: ModerationLogTable;
  join_requests: JoinRequestsTable;
  reports: ReportsTable;
  domain_blocks: DomainBlocksTable;
  domain_allows: DomainAllowsTable;
  live_events: LiveEventsTable;
  premoderation_settings: PremoderationSettingsTable;
  held_posts: HeldPostsTable;
}

export type Database = Kysely<Tables>;

// COUNT(*) and other int8 values come back as numbers on both drivers.
pg.types.setTypeParser(20, (value) => Number(value));

interface PoolClient {
  query(text: string, values: unknown[]): Promise<{ command: string; rowCount: number; rows: unknown[] }>;
  release(): void;
}

/**
 * PGlite is a single connection: this pool hands it to one kysely connection at a time,
 * so a transaction never interleaves with another caller's statements.
 */
function pgliteAsPool(db: PGlite) {
  const waiting: ((client: PoolClient) => void)[] = [];
  let busy = false;
  const client: PoolClient = {
    async query(text, values) {
      const result = await db.query(text, values);
      const command = /^\s*(\w+)/.exec(text)?.[1]?.toUpperCase() ?? '';
      return { command, rowCount: result.affectedRows ?? 0, rows: result.rows };
    },
    release() {
      const next = waiting.shift();
      if (next) next(client);
      else busy = false;
    },
  };
  return {
    connect(): Promise<PoolClient> {
      if (!busy) {
        busy = true;
        return Promise.resolve(client);
      }
      return new Promise((resolve) => waiting.push(resolve));
    },
    async end() {
      await db.close();
    },
  };
}

/**
 * Writes LIMIT and OFFSET counts into the statement instead of passing them as parameters. A prepared
 * statement's generic plan cannot see a parameter's value and assumes a tenth of the rows are wanted, so
 * where a list has thousands of rows to choose from (a neighbourhood's threads, on the grown benchmark
 * database) PostgreSQL judged the generic plan dearer than a fresh one and planned every page afresh;
 * with the count written in, it settles on the generic plan. The counts are integers that each route's
 * schema checks.
 */
class CountsWrittenIn extends PostgresQueryCompiler {
  protected override visitLimit(node: LimitNode): void {
    this.append('limit ');
    this.#count(node.limit);
  }

  protected override visitOffset(node: OffsetNode): void {
    this.append('offset ');
    this.#count(node.offset);
  }

  #count(node: OperationNode) {
    if (ValueNode.is(node) && Number.isSafeInteger(node.value)) this.append(String(node.value));
    else this.visitNode(node);
  }
}

/** The dialect every database here is opened with, PostgreSQL's or PGlite's pool behind it. */
export class StatementDialect extends PostgresDialect {
  override createQueryCompiler() {
    return new CountsWrittenIn();
  }
}

/**
 * Ends a statement that is planned afresh on every run, never prepared: one whose best plan depends on its
 * values more than PostgreSQL's generic plan can know. A feed listing reads posts newest first across its
 * scope of neighbourhoods; for a member following 500 busy ones that is best done by walking all posts by
 * time, for one following a single quiet one by that neighbourhood's own posts. A generic plan settled on
 * for the first walks everything for the second (350 ms, against 0.35 ms planned afresh, on 110,000 posts).
 */
export const plannedAfresh = '/* planned afresh */';

/** The run of a statement from which it is prepared; statements prepared at most, per process. */
export const preparedAfterRuns = 3;
export const preparedAtMost = 500;

/**
 * Prepares the statements a process runs again and again, once per connection, so that PostgreSQL parses
 * each once and, where its generic plan costs no more than a fresh one, stops planning it: parsing and
 * planning were most of the database's time in reading a thread or a list. Only statements with
 * parameters are named (they already use the extended protocol; one without may hold several commands),
 * only from their third run, and no more than `preparedAtMost` texts, so one-off statements (bulk inserts,
 * long IN lists) neither take names nor leave plans behind. A schema change under a running process can
 * make a prepared statement's result stale: the query fails once on each connection that had prepared it,
 * and that connection is closed rather than reused, so the next one prepares afresh.
 */
export function preparingRepeatedStatements(pool: pg.Pool) {
  const names = new Map<string, string>();
  const runs = new BoundedMap<string, number>({ entriesAtMost: preparedAtMost * 4 });
  const nameFor = (text: string): string | undefined => {
    const name = names.get(text);
    if (name || names.size >= preparedAtMost || text.endsWith(plannedAfresh)) return name;
    const count = (runs.get(text) ?? 0) + 1;
    if (count < preparedAfterRuns) {
      runs.set(text, count);
      return undefined;
    }
    runs.delete(text);
    const newName = `sm${names.size + 1}`;
    names.set(text, newName);
    return newName;
  };
  return {
    async connect() {
      const client = await pool.connect();
      let stale = false;
      return {
        async query(text: string, values: unknown[]) {
          const name = values.length ? nameFor(text) : undefined;
          try {
            return await client.query(name ? { name, text, values } : { text, values });
          } catch (error) {
            // 0A000 "cached plan must not change result type": a column was added or dropped since it was prepared.
            if (name && (error as { code?: string }).code === '0A000') stale = true;
            throw error;
          }
        },
        release: () => client.release(stale),
      };
    },
    end: () => pool.end(),
  };
}

export interface DatabaseOptions {
  databaseUrl: string | null;
  /** Where PGlite keeps its files; `memory://` keeps them in memory (tests). */
  dataDir: string;
  poolSize?: number;
  /** Longest wait for a PostgreSQL connection, in milliseconds; past it the query fails instead of hanging. */
  databaseTimeoutMs?: number;
}

export async function openDatabase(options: DatabaseOptions): Promise<Database> {
  if (options.databaseUrl) {
    const connection = { connectionString: options.databaseUrl, connectionTimeoutMillis: options.databaseTimeoutMs ?? 5000, keepAlive: true };
    const pool = new pg.Pool({ ...connection, max: options.poolSize ?? 10 });
    // A client that loses its connection, idle or checked out, must not crash the process: pg reports the
    // loss to the query in flight (or the next one) and also emits 'error', which the pool only catches
    // for idle clients.
    pool.on('error', () => {});
    pool.on('connect', (client) => client.on('error', () => {}));
    const db = new Kysely<Tables>({ dialect: new StatementDialect({ pool: preparingRepeatedStatements(pool) as never }) });
    notificationSources.set(db, connection);
    return db;
  }
  const dataPath = options.dataDir === 'memory://' ? 'memory://' : path.join(options.dataDir, 'pglite');
  if (dataPath !== 'memory://') await fs.mkdir(dataPath, { recursive: true });
  const lite = await PGlite.create(dataPath, { parsers: { 20: (value: string) => Number(value) } });
  const db = new Kysely<Tables>({ dialect: new StatementDialect({ pool: pgliteAsPool(lite) as never }) });
  notificationSources.set(db, lite);
  return db;
}

/** Where each open database's NOTIFY messages can be heard: the embedded instance, or PostgreSQL connection settings. */
const notificationSources = new WeakMap<Database, PGlite | pg.ClientConfig>();

/**
 * Calls `onMessage` with every NOTIFY payload sent on `channel` by any connection to this database.
 * PGlite delivers them in-process; on PostgreSQL a dedicated connection listens (the pool's cannot) and
 * reconnects after a second if it drops, reporting the gap through `onError` and, once it listens again,
 * calling `onResumed` so the caller can read what was sent in between. Resolves to a stop function.
 */
export async function listen(
  db: Database,
  channel: string,
  onMessage: (payload: string) => void,
  onError: (error: Error) => void = () => {},
  onResumed: () => void = () => {},
): Promise<() => Promise<void>> {
  if (!/^[a-z_][a-z0-9_]*$/.test(channel)) throw new Error(`"${channel}" is not a plain channel name`);
  const source = notificationSources.get(db);
  if (!source) throw new Error('listen() needs a database opened by openDatabase()');
  // PGlite runs LISTEN itself, outside the one-connection pool: call this at start-up, before any transaction.
  if (source instanceof PGlite) return source.listen(channel, onMessage);

  let stopped = false;
  let missed = false;
  let client: pg.Client | undefined;
  let retry: NodeJS.Timeout | undefined;
  const connect = async () => {
    const next = new pg.Client(source);
    next.on('notification', (message) => {
      if (message.channel === channel && message.payload !== undefined) onMessage(message.payload);
    });
    next.on('error', onError);
    next.on('end', () => {
      if (stopped || client !== next) return;
      client = undefined;
      missed = true;
      onError(new Error(`lost the connection listening on ${channel}; reconnecting`));
      retry = setTimeout(reconnect, 1000);
    });
    await next.connect();
    await next.query(`listen ${channel}`);
    client = next;
    if (missed) {
      missed = false;
      onResumed();
    }
  };
  const reconnect = () => {
    if (!stopped) connect().catch((error: Error) => (onError(error), (retry = setTimeout(reconnect, 1000))));
  };
  // A database that is down at start-up is retried like one lost later: live events resume when it returns.
  await connect().catch((error: Error) => {
    onError(error);
    missed = true;
    retry = setTimeout(reconnect, 1000);
  });
  return async () => {
    stopped = true;
    clearTimeout(retry);
    await client?.end().catch(() => {});
  };
}

export const migrationFolder = fileURLToPath(new URL('../migrations', import.meta.url));

/** Applies every pending migration; forward-only. Returns the names applied. */
export async function migrate(db: Database): Promise<string[]> {
  const migrator = new Migrator({
    db,
    provider: new FileMigrationProvider({ fs, path, migrationFolder }),
  });
  const { error, results } = await migrator.migrateToLatest();
  if (error) throw error;
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}

export async function isReachable(db: Database): Promise<boolean> {
  try {
    await sql`select 1`.execute(db);
    return true;
  } catch {
    return false;
  }
}
