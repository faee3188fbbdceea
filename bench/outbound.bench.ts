// Outbound: deliveries from the durable queue to shared inboxes. A neighbourhood has followers on
// BENCH_SERVERS simulated servers (several actors each, so shared-inbox deduplication matters); a web
// process (ROLE=web) takes BENCH_POSTS new threads, each of which the group announces to every server twice
// (Announce(Create(Page)) and a boost). Then a worker process (ROLE=worker) drains the queue: the figure is
// signed deliveries per second and per CPU-second of the worker and the database.
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { callJson } from '../test/processes.ts';
import { databaseCommits, freshDatabase, measureCpu, quick, report, sampleMemory, startBenchServer } from './lib.ts';
import { SimulatedRemotes } from './remote.ts';

const servers = Number(process.env.BENCH_SERVERS ?? (quick ? 10 : 25));
const actorsPerServer = 5;
const posts = Number(process.env.BENCH_POSTS ?? (quick ? 25 : 200));
const expected = posts * 2 * servers;
const database = await freshDatabase();
const remotes = await Promise.all(Array.from({ length: servers }, () => new SimulatedRemotes().start()));
const web = await startBenchServer(database.url, { ROLE: 'web' });
const admin = new pg.Client({ connectionString: database.url });
let worker: Awaited<ReturnType<typeof startBenchServer>> | undefined;
try {
  await admin.connect();
  const call = (method: string, path: string, body?: unknown, token?: string) => callJson(web.url, method, path, body, token);
  await call('POST', '/api/accounts', { username: 'poster', password: 'a long enough password' });
  const { token } = (await call('POST', '/api/tokens', { username: 'poster', password: 'a long enough password' })).body;
  const { body: created } = await call('POST', '/api/neighbourhoods', { handle: 'bench', name: 'Bench', locality: { placeName: 'Here' } }, token);
  const neighbourhoodId = created.neighbourhood?.id ?? created.id;

  // Followers seeded in SQL, as if each had followed and been accepted.
  const rows = remotes.flatMap((remote) => Array.from({ length: actorsPerServer }, (_, i) => ({ uri: remote.actorId(`a${i}`), host: new URL(remote.origin).host, inbox: `${remote.actorId(`a${i}`)}/inbox`, shared: `${remote.origin}/inbox` })));
  await admin.query(
    `with actors as (
       insert into remote_actors (uri, host, handle, type, inbox, shared_inbox)
       select uri, host, 'a@' || host, 'Person', inbox, shared from json_to_recordset($1::json) as r(uri text, host text, inbox text, shared text)
       returning id)
     insert into remote_follows (local_actor, remote_actor_id, direction, activity_id, state, accepted_at)
     select 'neighbourhood:' || $2, id, 'inbound', 'http://seeded/' || id, 'accepted', now() from actors`,
    [JSON.stringify(rows), neighbourhoodId],
  );

  for (let i = 0; i < posts; i++) {
    const { status } = await call('POST', '/api/neighbourhoods/bench/threads', { kind: 'discussion', title: `Post ${i}`, body: `Outbound ${i}: ${'words '.repeat(40)}` }, token);
    if (status !== 201) throw new Error(`posting: ${status}`);
  }
  // The web process announces each change as it hears it; wait until all are queued.
  const queued = async () => Number((await admin.query('select count(*) as n from federation_jobs')).rows[0].n);
  const waitUntil = async (check: () => Promise<boolean>, ms: number) => {
    const deadline = performance.now() + ms;
    while (!(await check())) {
      if (performance.now() > deadline) throw new Error('timed out');
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  await waitUntil(async () => (await queued()) >= posts * 2, 300_000);

  const received = () => remotes.reduce((sum, r) => sum + r.received, 0);
  const commitsBefore = await databaseCommits(database.url);
  const started = performance.now();
  worker = await startBenchServer(database.url, { ROLE: 'worker' });
  const ready = performance.now();
  const memory = sampleMemory(worker.child.pid!);
  const cpu = await measureCpu(worker.child.pid!, database.url);
  await waitUntil(async () => received() >= expected, 600_000);
  const last = Math.max(...remotes.map((r) => r.lastAt));
  const used = await cpu.stop();
  console.log(`outbound: ${posts} threads to followers on ${servers} servers (${actorsPerServer} actors each) = ${expected} signed deliveries (PostgreSQL)`);
  report({ name: 'outbound: deliveries from the queue (after worker start)', value: expected / ((last - ready) / 1000), unit: '/s', note: `worker start-up ${((ready - started) / 1000).toFixed(1)} s not counted` });
  report({ name: 'outbound: deliveries per CPU-second (worker + database)', value: expected / used, unit: '/CPU-s', target: '≥ 1,000', limit: 'limit: RSA-2048 sign, cached key' });
  report({ name: 'outbound: database transactions per delivery', value: ((await databaseCommits(database.url)) - commitsBefore) / expected, unit: '' });
  report({ name: 'outbound: peak RSS of the worker process', value: memory.stop(), unit: 'MB', target: '< 300' });
  if (received() !== expected) console.log(`  note: ${received()} deliveries received, ${expected} expected`);
} finally {
  await admin.end().catch(() => {});
  await worker?.stop();
  await web.stop();
  await Promise.all(remotes.map((r) => r.stop()));
  await database.drop();
}
