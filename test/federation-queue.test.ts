// The database-backed KvStore and job queue Fedify runs on: their semantics on both databases, and that
// several workers never take the same job while a dead worker's job comes back when its lease ends.
import { Temporal } from '@js-temporal/polyfill';
import { sql } from 'kysely';
import pg from 'pg';
import { openDatabase } from '../server/database.ts';
import { claimJobs, getValue } from '../server/queue/queries.ts';
import { DatabaseJobQueue, DatabaseKvStore } from '../server/queue/domain.ts';
import { eachDatabase } from './helpers.ts';
import { eventually } from './remote-server.ts';

const listenUntil = (queue: DatabaseJobQueue, handler: (message: any) => Promise<void> | void) => {
  const stop = new AbortController();
  const done = queue.listen(handler, { signal: stop.signal });
  return async () => {
    stop.abort();
    await done;
  };
};

eachDatabase('federation storage', async (t, database) => {
  const { db } = database;

  await t.test('the key\u2013value store gets, sets, expires, lists by prefix and compares-and-sets', async (t) => {
    const kv = new DatabaseKvStore(db);
    await kv.set(['a', 'b'], { n: 1 });
    await kv.set(['a', 'b', 'c'], 'text');
    await kv.set(['a', 'bc'], [1, 2]);
    await kv.set(['a%'], true);
    t.same(await kv.get(['a', 'b']), { n: 1 });
    t.equal(await kv.get(['a', 'b', 'c']), 'text');
    t.equal(await kv.get(['missing']), undefined);
    const listed = [];
    for await (const entry of kv.list(['a', 'b'])) listed.push(entry.key);
    t.same(listed.map((key) => key.join('/')).sort(), ['a/b', 'a/b/c'], 'a prefix lists itself and its children, not ["a","bc"]');
    await kv.set(['short'], 1, { ttl: Temporal.Duration.from({ milliseconds: 50 }) });
    await eventually(async () => (await kv.get(['short'])) === undefined, 2000, 'expiry');
    t.equal(await kv.cas!(['a', 'b'], { n: 2 }, { n: 3 }), false, 'cas refuses a stale expectation');
    t.equal(await kv.cas!(['a', 'b'], { n: 1 }, { n: 3 }), true);
    t.equal(await kv.cas!(['new'], undefined, 'x'), true, 'cas on an absent key');
    t.same(await kv.get(['a', 'b']), { n: 3 });
    t.equal(await kv.cas!(['new'], 'x', undefined), true, 'cas to undefined removes the key');
    t.equal(await kv.get(['new']), undefined);
    await kv.delete(['a', 'b']);
    t.equal(await kv.get(['a', 'b']), undefined);
  });

  await t.test('Fedify\u2019s caches and hints are read once per process; the rest always from the database', async (t) => {
    // Two stores on one database stand for two processes.
    const mine = new DatabaseKvStore(db);
    const theirs = new DatabaseKvStore(db);
    const seen = ['_fedify', 'activityIdempotence', 'https://r.example/a/1'] as const;
    t.equal(await mine.get(seen), undefined);
    await theirs.set(seen, true, { ttl: Temporal.Duration.from({ days: 1 }) });
    t.equal(await mine.get(seen), true, 'an idempotence row written elsewhere is seen at once');
    await theirs.delete(seen);
    t.equal(await mine.get(seen), undefined, 'and so is its removal');

    const key = ['_fedify', 'publicKey', 'https://r.example/users/a#main-key'] as const;
    t.equal(await mine.get(key), undefined, 'an absent key is remembered as absent');
    await theirs.set(key, { id: 'one' });
    t.equal(await mine.get(key), undefined, 'another process\u2019s write is not seen while the cache holds');
    await mine.set(key, { id: 'two' });
    t.same(await mine.get(key), { id: 'two' }, 'but this process\u2019s own write is');
    t.same(await theirs.get(key), { id: 'one' }, '(the other process remembers what it wrote)');
    const copy = await mine.get<{ id: string }>(key);
    copy!.id = 'changed';
    t.same(await mine.get(key), { id: 'two' }, 'every reader gets its own copy');
    await mine.delete(key);
    t.equal(await mine.get(key), undefined, 'and its own removal');

    const circuit = ['_fedify', 'circuit', 'r.example'] as const;
    t.equal(await mine.get(circuit), undefined);
    await theirs.set(circuit, { state: 'open' });
    t.equal(await mine.cas!(circuit, undefined, { state: 'closed' }), false, 'a swap against a stale view is refused');
    t.same(await mine.get(circuit), { state: 'open' }, 'and the next read goes to the database');
    t.equal(await mine.cas!(circuit, { state: 'open' }, undefined), true);
    t.equal(await mine.get(circuit), undefined, 'a swap through this store is what it reads next');

    const document = ['_fedify', 'remoteDocument', 'https://r.example/notes/1'] as const;
    await mine.set(document, { content: 'x' }, { ttl: Temporal.Duration.from({ milliseconds: 100 }) });
    const fetched = ['_fedify', 'remoteDocument', 'https://r.example/notes/2'] as const;
    await theirs.set(fetched, { content: 'y' }, { ttl: Temporal.Duration.from({ milliseconds: 100 }) });
    t.same(await mine.get(fetched), { content: 'y' });
    await new Promise((resolve) => setTimeout(resolve, 150));
    t.equal(await mine.get(document), undefined, 'a value written with a lifetime is not remembered past it');
    t.equal(await mine.get(fetched), undefined, 'nor is one read from a row that expires');

    const spec = ['_fedify', 'httpMessageSignaturesSpec', 'https://r.example'] as const;
    await mine.set(spec, 'rfc9421');
    await theirs.delete(spec);
    await mine.set(spec, 'rfc9421');
    const stored = async () => (await getValue(db, JSON.stringify(spec)))?.value;
    t.equal(await stored(), undefined, 'the same hint again is not rewritten');
    await mine.set(spec, 'draft-cavage-http-signatures-12');
    t.equal(await stored(), 'draft-cavage-http-signatures-12', 'a different one is');
    await mine.delete(spec);
  });

  await t.test('several workers share the jobs without taking one twice', async (t) => {
    // On PostgreSQL the second queue has its own pool, as another process would.
    const otherDb = database.url ? await openDatabase({ databaseUrl: database.url, dataDir: 'memory://' }) : db;
    t.teardown(() => (otherDb === db ? undefined : otherDb.destroy()));
    const options = { leaseMs: 60_000, pollMs: 20, workers: 3, longestJobMs: 60_000 };
    const first = new DatabaseJobQueue(db, options);
    const second = new DatabaseJobQueue(otherDb, options);
    await first.enqueueMany(Array.from({ length: 30 }, (_, i) => ({ n: i })));
    const seen: number[] = [];
    const handle = async (message: { n: number }) => {
      seen.push(message.n);
      await new Promise((resolve) => setTimeout(resolve, 5));
    };
    const stops = [listenUntil(first, handle), listenUntil(second, handle)];
    await eventually(() => seen.length >= 30, 10_000, 'all jobs');
    await Promise.all(stops.map((stop) => stop()));
    t.same([...seen].sort((x, y) => x - y), Array.from({ length: 30 }, (_, i) => i), 'each job ran exactly once');
    t.same(await first.getDepth(), { queued: 0, ready: 0, delayed: 0 });
  });

  await t.test('a delayed job waits, and a dead worker\u2019s job returns when its lease ends', async (t) => {
    const queue = new DatabaseJobQueue(db, { leaseMs: 300, pollMs: 20, workers: 1, longestJobMs: 60_000 });
    await queue.enqueue({ job: 'abandoned' });
    const [claimed] = await claimJobs(db, 300, 1);
    t.same(claimed?.message, { job: 'abandoned' }, 'a worker takes it, then dies');
    await queue.enqueue({ job: 'later' }, { delay: Temporal.Duration.from({ milliseconds: 400 }) });
    const started = Date.now();
    const seen: { job: string; at: number }[] = [];
    const stop = listenUntil(queue, (message) => void seen.push({ ...message, at: Date.now() - started }));
    await eventually(() => seen.length === 2, 5000, 'both jobs');
    await stop();
    const at = Object.fromEntries(seen.map((s) => [s.job, s.at]));
    t.ok(at.abandoned! >= 200, `the abandoned job ran after its lease (${at.abandoned} ms)`);
    t.ok(at.later! >= 350, `the delayed job ran after its delay (${at.later} ms)`);
  });

  await t.test('a running job keeps its lease; one that hangs too long is let go and runs again', async (t) => {
    // Leases long enough that a loaded machine still renews in time; the job outlives three of them.
    const slow = new DatabaseJobQueue(db, { leaseMs: 1000, pollMs: 20, workers: 2, longestJobMs: 60_000 });
    await slow.enqueue({ job: 'slow' });
    let runs = 0;
    const stopSlow = listenUntil(slow, () => {
      runs++;
      return new Promise<void>((resolve) => setTimeout(resolve, 3000));
    });
    await eventually(async () => (await slow.getDepth()).queued === 0, 10_000, 'the slow job');
    await stopSlow();
    t.equal(runs, 1, 'a job running past its lease is renewed, not taken by another worker');

    const queue = new DatabaseJobQueue(db, { leaseMs: 200, pollMs: 20, workers: 1, longestJobMs: 300 });
    await queue.enqueue({ job: 'stuck once' });
    let calls = 0;
    const stop = listenUntil(queue, () => (++calls === 1 ? new Promise<void>(() => {}) : undefined));
    await eventually(() => calls >= 2, 5000, 'the second run');
    await stop();
    t.same(await queue.getDepth(), { queued: 0, ready: 0, delayed: 0 }, 'done after the second run');
  });

  await t.test('one claim takes several due jobs, but only the oldest of each ordering key', async (t) => {
    const queue = new DatabaseJobQueue(db, { leaseMs: 60_000, pollMs: 20, workers: 4, longestJobMs: 60_000 });
    await queue.enqueue({ job: 'first of a' }, { orderingKey: 'a' });
    await queue.enqueue({ job: 'second of a' }, { orderingKey: 'a' });
    await queue.enqueue({ job: 'unordered' });
    await queue.enqueue({ job: 'first of b' }, { orderingKey: 'b' });
    await queue.enqueue({ job: 'later' }, { delay: Temporal.Duration.from({ hours: 1 }) });
    const names = (jobs: { message: unknown }[]) => jobs.map((job) => (job.message as { job: string }).job).sort();
    t.same(names(await claimJobs(db, 60_000, 2)), ['first of a', 'unordered'], 'as many as asked, oldest first');
    t.same(names(await claimJobs(db, 60_000, 10)), ['first of b'], 'then the rest that is due');
    t.same(await claimJobs(db, 60_000, 10), [], 'the next of an ordering key waits while the one before it is in hand');
    await db.deleteFrom('federation_jobs').execute();
  });

  await t.test('jobs queued at once by many callers share inserts, and a row the database refuses fails only its caller', async (t) => {
    await sql`create table job_inserts (n int)`.execute(db);
    await sql`create function note_job_insert() returns trigger language plpgsql as $$
      begin insert into job_inserts values (1); return null; end $$`.execute(db);
    await sql`create trigger note_job_insert after insert on federation_jobs for each statement execute function note_job_insert()`.execute(db);
    t.teardown(async () => {
      await sql`drop trigger note_job_insert on federation_jobs`.execute(db);
      await sql`drop function note_job_insert()`.execute(db);
      await sql`drop table job_inserts`.execute(db);
      await sql`delete from federation_jobs where message->>'together' is not null`.execute(db);
    });
    const queue = new DatabaseJobQueue(db, { leaseMs: 60_000, pollMs: 60_000, workers: 1, longestJobMs: 60_000 });
    const count = async (query: ReturnType<typeof sql<{ n: number }>>) => Number((await query.execute(db)).rows[0]!.n);

    await Promise.all(Array.from({ length: 50 }, (_, i) => queue.enqueue({ together: 'first', i })));
    t.equal(await count(sql<{ n: number }>`select count(*) as n from federation_jobs where message->>'together' = 'first'`), 50, 'every job stored');
    const statements = await count(sql<{ n: number }>`select count(*) as n from job_inserts`);
    t.ok(statements < 50, `50 callers, ${statements} inserts`);

    // jsonb refuses a NUL character: that caller fails, the others sharing its insert do not.
    const results = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => queue.enqueue({ together: 'second', i, text: i === 7 ? 'a\u0000b' : 'ok' })));
    t.same(results.map((result) => result.status === 'rejected'), Array.from({ length: 20 }, (_, i) => i === 7), 'only the refused row\u2019s caller fails');
    t.equal(await count(sql<{ n: number }>`select count(*) as n from federation_jobs where message->>'together' = 'second'`), 19, 'the others are stored');
  });

  // PostgreSQL alone: PGlite has one session, which cannot wait for a lock it holds itself.
  if (database.url) {
    await t.test('an insert that hangs holds up only its own callers', async (t) => {
      // A row marked slow waits, inside its insert, for an advisory lock another session holds.
      await sql`create function slow_job_insert() returns trigger language plpgsql as $$
        begin perform pg_advisory_xact_lock(4242); return new; end $$`.execute(db);
      await sql`create trigger slow_job_insert before insert on federation_jobs for each row when (new.message->>'slow' is not null)
        execute function slow_job_insert()`.execute(db);
      const holder = new pg.Client({ connectionString: database.url! });
      await holder.connect();
      t.teardown(async () => {
        await holder.end();
        await sql`drop trigger slow_job_insert on federation_jobs`.execute(db);
        await sql`drop function slow_job_insert()`.execute(db);
        await sql`delete from federation_jobs where message->>'hung' is not null`.execute(db);
      });
      await holder.query('select pg_advisory_lock(4242)');
      const queue = new DatabaseJobQueue(db, { leaseMs: 60_000, pollMs: 60_000, workers: 1, longestJobMs: 60_000 });
      let slowStored = false;
      const slow = queue.enqueue({ hung: 'slow', slow: true }).then(() => (slowStored = true));
      await new Promise((resolve) => setTimeout(resolve, 100));
      const others = Promise.all(Array.from({ length: 20 }, (_, i) => queue.enqueue({ hung: 'other', i })));
      const inTime = await Promise.race([others.then(() => true), new Promise((resolve) => setTimeout(resolve, 5000, false))]);
      t.ok(inTime, 'the callers after it are answered');
      t.notOk(slowStored, 'the slow insert is still waiting');
      const stored = await sql<{ n: number }>`select count(*) as n from federation_jobs where message->>'hung' = 'other'`.execute(db);
      t.equal(Number(stored.rows[0]!.n), 20, 'the callers after it were stored meanwhile');
      await holder.query('select pg_advisory_unlock(4242)');
      await Promise.all([slow, others]);
      t.ok(slowStored, 'and the slow one once it could be');
    });
  }

  await t.test('jobs sharing an ordering key run one after another', async (t) => {
    const queue = new DatabaseJobQueue(db, { leaseMs: 60_000, pollMs: 20, workers: 4, longestJobMs: 60_000 });
    for (let i = 0; i < 5; i++) await queue.enqueue({ i }, { orderingKey: 'same-inbox' });
    const order: number[] = [];
    let running = 0;
    let overlapped = false;
    const stop = listenUntil(queue, async (message: { i: number }) => {
      running++;
      if (running > 1) overlapped = true;
      await new Promise((resolve) => setTimeout(resolve, 10));
      order.push(message.i);
      running--;
    });
    await eventually(() => order.length === 5, 5000, 'ordered jobs');
    await stop();
    t.same(order, [0, 1, 2, 3, 4]);
    t.notOk(overlapped);
  });
});
