// Statements a process runs again and again are prepared once per connection, so PostgreSQL stops parsing
// (and, where its generic plan is as good, planning) them; LIMIT and OFFSET counts are written into the
// statement so that a list's generic plan knows how many rows are wanted; feed listings, whose best plan
// depends on their values, are planned afresh every time. PostgreSQL only: PGlite has no named statements
// over a wire, and runs the same SQL text.
import { sql } from 'kysely';
import pg from 'pg';
import t from 'tap';
import { type Database, migrate, openDatabase, preparedAfterRuns, preparedAtMost } from '../server/database.ts';
import * as feeds from '../server/feeds/domain.ts';
import * as threads from '../server/threads/domain.ts';
import { postgresForTest } from './helpers.ts';

type Test = import('tap').Test;

/** One connection, so that every statement, and the check of what is prepared, runs on the same one. */
async function oneConnection(t: Test, url: string): Promise<Database> {
  const db = await openDatabase({ databaseUrl: url, dataDir: 'memory://', poolSize: 1 });
  t.teardown(() => db.destroy());
  return db;
}

const prepared = async (db: Database) =>
  (await sql<{ statement: string; generic_plans: number }>`select statement, generic_plans from pg_prepared_statements`.execute(db)).rows;

t.test('repeated statements are prepared', async (t) => {
  const database = await postgresForTest(t);
  if (!database) return;
  const db = await oneConnection(t, database.url);
  await migrate(db);
  await db.destroy();

  await t.test('from their third run, once, and only those with parameters', async (t) => {
    const db = await oneConnection(t, database.url);
    const lookup = (id: number) => db.selectFrom('members').select('id').where('id', '=', id).execute();
    for (let run = 1; run < preparedAfterRuns; run++) await lookup(run);
    t.same(await prepared(db), [], 'not before the third run');
    for (let run = 0; run < 10; run++) await lookup(run);
    const statements = await prepared(db);
    t.equal(statements.length, 1, 'prepared once');
    t.match(statements[0]!.statement, /^select "id" from "members" where "id" = \$1/);
    // A statement without parameters may hold several commands, which a prepared statement cannot.
    for (let run = 0; run < 5; run++) await t.resolves(sql.raw('select 1; select 2').execute(db), 'two commands in one statement run');
    t.equal((await prepared(db)).length, 1, 'nothing without parameters is prepared');
  });

  await t.test('no more than a bounded number of statements', async (t) => {
    const db = await oneConnection(t, database.url);
    for (let text = 0; text < preparedAtMost + 20; text++) {
      for (let run = 0; run < preparedAfterRuns; run++) await sql`select ${sql.lit(text)}::integer + ${run}::integer as n`.execute(db);
    }
    t.equal((await prepared(db)).length, preparedAtMost);
    t.same((await sql<{ n: number }>`select ${sql.lit(preparedAtMost + 30)}::integer + ${1}::integer as n`.execute(db)).rows, [{ n: preparedAtMost + 31 }], 'later statements still run');
  });

  await t.test('a list settles on the generic plan, its count written in; a feed listing is planned afresh every time', async (t) => {
    const db = await oneConnection(t, database.url);
    const listing = db.selectFrom('threads').select('id').orderBy('id', 'desc').limit(20).offset(40).compile();
    t.match(listing.sql, /limit 20 offset 40$/);
    t.same(listing.parameters, []);
    // 1,000 neighbourhoods, 500 followed by the reader; 10,000 threads in 20 of them, so that a thread list
    // has 500 to choose from: with LIMIT as a parameter, PostgreSQL would keep planning it afresh.
    for (const statement of [
      `insert into members (username, username_key) values ('reader', 'reader')`,
      `insert into neighbourhoods (handle, handle_key, name, name_key, place_name) select 'n' || g, 'n' || g, 'N' || g, 'n' || g, 'Here' from generate_series(1, 1000) g`,
      `insert into neighbourhood_follows (member_id, neighbourhood_id) select 1, g from generate_series(1, 1000, 2) g`,
      `insert into threads (neighbourhood_id, author_id, kind, title, body_source, body_html, created_at, last_activity_at)
         select 1 + g % 20, 1, 'discussion', 'T' || g, 'b', '<p>b</p>', now() - g * interval '1 minute', now() - g * interval '1 minute' from generate_series(1, 10000) g`,
      `insert into replies (thread_id, author_id, body_source, body_html, created_at) select 1 + g % 10000, 1, 'r', '<p>r</p>', now() - g * interval '30 seconds' from generate_series(1, 10000) g`,
      `analyze`,
    ]) await sql.raw(statement).execute(db);
    for (let run = 0; run < 10; run++) {
      await threads.listThreads(db, null, `n${1 + (run % 3)}`, { limit: 20 });
      await feeds.homeFeed(db, { id: 1 }, { limit: 20 });
    }
    const statements = await prepared(db);
    const list = statements.find((statement) => /^select "threads".*order by "threads"."last_activity_at" desc, "threads"."id" desc limit 20$/s.test(statement.statement));
    t.ok(list, 'a neighbourhood\u2019s thread list is prepared');
    t.ok(list!.generic_plans > 0, `and no longer planned afresh (${list!.generic_plans} runs on the generic plan)`);
    t.notOk(statements.some((statement) => statement.statement.startsWith('with "scope"')), 'the home feed listing is never prepared');
  });

  await t.test('a schema change under a prepared statement fails one query, then the next one prepares afresh', async (t) => {
    const db = await oneConnection(t, database.url);
    const everything = () => db.selectFrom('neighbourhoods').selectAll().where('id', '=', 0).execute();
    const backend = async () => (await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(db)).rows[0]!.pid;
    for (let run = 0; run < preparedAfterRuns + 1; run++) await everything();
    const before = await backend();
    const admin = new pg.Client({ connectionString: database.url });
    await admin.connect();
    await admin.query('alter table neighbourhoods add column added_later text');
    await admin.end();
    await t.rejects(everything(), { code: '0A000' }, 'PostgreSQL refuses the stale statement');
    t.same(await everything(), [], 'the next run succeeds');
    t.not(await backend(), before, 'on a fresh connection, where it is prepared afresh');
  });
});
