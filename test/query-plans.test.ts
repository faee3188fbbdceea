// Every hot query has an index: the queries behind reading a thread, the home and public feeds, a
// neighbourhood's thread list, the directory, the inbox's repeat and key lookups, remote actors and the
// job queue are captured as the application runs them, then EXPLAIN ANALYZEd on a seeded database, both as
// planned for their values and as the generic plan a prepared statement settles on (server/database.ts). A test
// fails on a sequential scan of a large table (with enable_seqscan off, one remains only where no index
// serves), and on a scan that reads far more rows than a page needs.
// PostgreSQL only: PGlite runs the same SQL, but the planner's choices on a real server are what matter here.
import { type CompiledQuery, Kysely } from 'kysely';
import pg from 'pg';
import t from 'tap';
import { type Database, migrate, plannedAfresh, StatementDialect, type Tables } from '../server/database.ts';
import * as directory from '../server/directory/domain.ts';
import * as feeds from '../server/feeds/domain.ts';
import * as queue from '../server/queue/queries.ts';
import * as remoteActors from '../server/remote-actors/domain.ts';
import * as threads from '../server/threads/domain.ts';
import * as threadQueries from '../server/threads/queries.ts';
import { postgresForTest } from './helpers.ts';

const largeTables = ['threads', 'replies', 'members', 'remote_actors', 'neighbourhoods', 'neighbourhood_follows', 'federation_kv', 'federation_jobs', 'remote_follows', 'memberships'];
/** More rows than any page of these listings needs; the seeded tables hold tens of thousands. */
const rowsPerScan = 2_000;

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  'Actual Rows'?: number;
  'Actual Loops'?: number;
  Plans?: PlanNode[];
}

function problems(node: PlanNode, found: string[] = []): string[] {
  const table = node['Relation Name'];
  if (table && largeTables.includes(table)) {
    if (node['Node Type'] === 'Seq Scan') found.push(`sequential scan of ${table}`);
    const rows = (node['Actual Rows'] ?? 0) * (node['Actual Loops'] ?? 1);
    if (rows > rowsPerScan) found.push(`${node['Node Type']} of ${table}${node['Index Name'] ? ` (${node['Index Name']})` : ''} reads ${rows} rows`);
  }
  for (const child of node.Plans ?? []) problems(child, found);
  return found;
}

/** Rows a plan read from `table`, over all its loops. */
const rowsFrom = (node: PlanNode, table: string): number =>
  (node['Relation Name'] === table ? (node['Actual Rows'] ?? 0) * (node['Actual Loops'] ?? 1) : 0) + (node.Plans ?? []).reduce((sum, child) => sum + rowsFrom(child, table), 0);

/**
 * A captured statement's plans, run with EXPLAIN ANALYZE: as planned for its values and, unless it is always
 * planned afresh, as the generic plan a prepared statement settles on after its fifth run. Inside the
 * caller's transaction, so its `set local` settings hold.
 */
async function plansOf(client: pg.PoolClient, query: CompiledQuery): Promise<[string, PlanNode][]> {
  await client.query(`prepare hot as ${query.sql}`);
  const values = query.parameters.map((value) => (value === null ? 'null' : client.escapeLiteral(value instanceof Date ? value.toISOString() : String(value))));
  const plans: [string, PlanNode][] = [];
  for (const planning of query.sql.endsWith(plannedAfresh) ? ['force_custom_plan'] : ['force_custom_plan', 'force_generic_plan']) {
    await client.query(`set local plan_cache_mode = ${planning}`);
    const { rows } = await client.query(`explain (analyze, format json) execute hot${values.length ? `(${values.join(', ')})` : ''}`);
    plans.push([planning, (rows[0]['QUERY PLAN'] as { Plan: PlanNode }[])[0]!.Plan]);
  }
  await client.query('deallocate hot');
  return plans;
}

t.test('hot queries use indexes and read about a page', async (t) => {
  const database = await postgresForTest(t);
  if (!database) return;
  const pool = new pg.Pool({ connectionString: database.url, max: 2 });
  // The database is dropped (with force) at the end, possibly before the pool is closed: its idle
  // connections are then cut, which is expected, not a failure.
  pool.on('error', () => {});
  const captured: CompiledQuery[] = [];
  const db: Database = new Kysely<Tables>({ dialect: new StatementDialect({ pool }), log: (event) => void captured.push(event.query) });
  t.teardown(() => db.destroy());
  await migrate(db);

  // 1,000 neighbourhoods (a member follows 500), 2,000 remote authors, 20,000 threads and 40,000 replies, a
  // thread of 50, key-value rows and queued jobs; inserted with triggers off (no live events).
  const seed = [
    `set session_replication_role = replica`,
    `insert into members (username, username_key, password_hash) values ('reader', 'reader', 'x')`,
    `insert into neighbourhoods (handle, handle_key, name, name_key, place_name, latitude, longitude)
       select 'n' || g, 'n' || g, 'Neighbourhood ' || g, 'neighbourhood ' || g, 'Place ' || (g % 50), 51 + (g % 100) / 100.0, -1 + (g % 70) / 100.0 from generate_series(1, 1000) g`,
    `insert into neighbourhood_follows (member_id, neighbourhood_id) select 1, g from generate_series(1, 1000, 2) g`,
    `insert into remote_actors (uri, host, handle, type, inbox, shared_inbox)
       select 'https://r' || (g % 100) || '.example/users/u' || g, 'r' || (g % 100) || '.example', 'u' || g || '@r' || (g % 100) || '.example', 'Person',
              'https://r' || (g % 100) || '.example/users/u' || g || '/inbox', 'https://r' || (g % 100) || '.example/inbox' from generate_series(1, 2000) g`,
    `insert into members (username, username_key, ap_id) select 'u' || g, 'u' || g, 'https://r' || (g % 100) || '.example/users/u' || g from generate_series(1, 2000) g`,
    `insert into threads (neighbourhood_id, author_id, kind, title, body_source, body_html, created_at, last_activity_at)
       select 1 + g % 1000, 2 + g % 2000, 'discussion', 'T' || g, 'b', '<p>b</p>', now() - g * interval '1 minute', now() - g * interval '1 minute' from generate_series(1, 20000) g`,
    `insert into replies (thread_id, author_id, body_source, body_html, created_at)
       select 1 + g % 20000, 2 + g % 2000, 'r', '<p>r</p>', now() - g * interval '30 seconds' from generate_series(1, 40000) g`,
    `insert into replies (thread_id, author_id, body_source, body_html) select 7, 2, 'r', '<p>r</p>' from generate_series(1, 49)`,
    // A quiet neighbourhood (two threads, a year old) and a member who follows only it: member 2002.
    `insert into neighbourhoods (handle, handle_key, name, name_key, place_name) values ('quiet', 'quiet', 'Quiet', 'quiet', 'Elsewhere')`,
    `insert into threads (neighbourhood_id, author_id, kind, title, body_source, body_html, created_at, last_activity_at)
       select 1001, 2, 'discussion', 'Q' || g, 'b', '<p>b</p>', now() - interval '1 year', now() - interval '1 year' from generate_series(1, 2) g`,
    `insert into members (username, username_key, password_hash) values ('quiet-reader', 'quiet-reader', 'x')`,
    `insert into neighbourhood_follows (member_id, neighbourhood_id) values (2002, 1001)`,
    `insert into federation_kv (key, value) select '["_fedify","activityIdempotence","https://r.example/a/' || g || '"]', 'true' from generate_series(1, 20000) g`,
    `insert into federation_jobs (message, run_at) select '{}', now() + g * interval '1 second' from generate_series(1, 20000) g`,
    `set session_replication_role = origin`,
    `analyze`,
  ];
  for (const statement of seed) await pool.query(statement);

  const hot: [string, () => Promise<unknown>][] = [
    ['a thread with its replies', () => threads.threadWithReplies(db, null, 7)],
    // The same lookup as the trigger that moves a thread's replies revision when a reply author is renamed.
    ['an author\u2019s posts (to delete them with the account, or to rename their author)', () => threadQueries.postsOfAuthor(db, 2)],
    ['the home feed of a member following 500 neighbourhoods', () => feeds.homeFeed(db, { id: 1 }, { limit: 20 })],
    ['the next page of the home feed', () => feeds.homeFeed(db, { id: 1 }, { limit: 20, after: { sort: new Date(Date.now() - 3600_000).toISOString(), id: 1001 } })],
    ['the home feed of a member following one quiet neighbourhood', () => feeds.homeFeed(db, { id: 2002 }, { limit: 20 })],
    ['the public feed', () => feeds.instanceFeed(db, { limit: 20 })],
    ['a quiet neighbourhood\u2019s feed', () => feeds.neighbourhoodFeed(db, 'quiet', { limit: 20 })],
    ['a neighbourhood\u2019s threads', () => threads.listThreads(db, null, 'n7', { limit: 20 })],
    ['a neighbourhood\u2019s feed', () => feeds.neighbourhoodFeed(db, 'n7', { limit: 20 })],
    ['the directory, searched by name', () => directory.findInDirectory(db, { search: 'neighbourhood 12', limit: 20 })],
    ['the directory, near a point', () => directory.findInDirectory(db, { near: { latitude: 51.5, longitude: -0.5 }, withinMetres: 5000, limit: 20 })],
    ['an inbox repeat lookup, or a cached key by key id (a key–value row by key)', () => queue.getValue(db, '["_fedify","activityIdempotence","https://r.example/a/77"]')],
    ['a remote actor by id', () => remoteActors.actorByUri(db, 'https://r7.example/users/u7')],
    ['a remote actor by handle', () => remoteActors.actorByHandle(db, 'u7@r7.example')],
    ['a queue claim', () => queue.claimJobs(db, 60_000, 4)],
  ];
  for (const [name, run] of hot) {
    await t.test(name, async (t) => {
      captured.length = 0;
      await run();
      const queries = [...captured];
      t.ok(queries.length > 0, 'it runs SQL');
      const client = await pool.connect();
      try {
        await client.query('begin');
        await client.query('set local enable_seqscan = off');
        for (const query of queries) {
          if (!/^\s*(select|with|update|delete)/i.test(query.sql)) continue;
          for (const [planning, plan] of await plansOf(client, query)) {
            const found = problems(plan);
            t.same(found, [], `${planning}: ${query.sql.slice(0, 100)}…`, found.length ? { plan: JSON.stringify(plan, null, 1).slice(0, 4000) } : {});
          }
        }
      } finally {
        await client.query('rollback');
        client.release();
      }
    });
  }

  // Feeds and lists load their threads with each one's neighbourhood. Looked up by key, a page of 20
  // threads reads 20 neighbourhood rows; as a plain join at the default random_page_cost, PostgreSQL hashed
  // all 1,001 of them (with sequential scans allowed, as in production).
  await t.test('a page of threads reads only its own neighbourhoods', async (t) => {
    captured.length = 0;
    await threads.postsByIds(db, Array.from({ length: 20 }, (_, i) => 100 + i * 37), []);
    const query = captured.find((q) => /from "threads"/.test(q.sql))!;
    const client = await pool.connect();
    try {
      await client.query('begin');
      const plans = await plansOf(client, query);
      t.same(plans.map(([planning]) => planning), ['force_custom_plan', 'force_generic_plan'], 'both plans');
      for (const [planning, plan] of plans) t.equal(rowsFrom(plan, 'neighbourhoods'), 20, planning);
    } finally {
      await client.query('rollback');
      client.release();
    }
  });
});
