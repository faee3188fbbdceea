// Inbound: signed activities from simulated remote instances at the shared inbox, 32 senders at once.
// A web process (ROLE=web) verifies each signature and digest and queues the activity durably: that is
// "accepted". These senders sign draft-cavage style with keys fetched during a warm-up, so the shared
// inbox's short path takes them; a quarter as many again go to the neighbourhood's own inbox, which always
// takes Fedify's full path, for comparison. A worker process (ROLE=worker) started afterwards handles the
// backlog (stores each Follow and sends the Accept back), which gives the handling rate. Both count their
// own CPU and the database's.
//   BENCH_QUICK=1 for a short run; BENCH_INBOUND (activities at the shared inbox; default 20,000, quick 500).
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { callJson } from '../test/processes.ts';
import { databaseCommits, freshDatabase, load, measureCpu, quick, report, type RequestSpec, sampleMemory, startBenchServer } from './lib.ts';
import { SimulatedRemotes } from './remote.ts';

const total = Number(process.env.BENCH_INBOUND ?? (quick ? 500 : 20_000));
const actors = quick ? 50 : 200;
const AS = 'https://www.w3.org/ns/activitystreams';
const database = await freshDatabase();
const remotes = await new SimulatedRemotes().start();
const web = await startBenchServer(database.url, { ROLE: 'web' });
let worker: Awaited<ReturnType<typeof startBenchServer>> | undefined;
try {
  const call = (method: string, path: string, body?: unknown, token?: string) => callJson(web.url, method, path, body, token);
  await call('POST', '/api/accounts', { username: 'poster', password: 'a long enough password' });
  const { token } = (await call('POST', '/api/tokens', { username: 'poster', password: 'a long enough password' })).body;
  await call('POST', '/api/neighbourhoods', { handle: 'bench', name: 'Bench', locality: { placeName: 'Here' } }, token);

  const host = 'bench.test';
  // To the shared inbox (where servers deliver, and where the short path for known keys is), or to the
  // neighbourhood's own inbox, which always takes Fedify's full path.
  const follow = (i: number, inbox = '/inbox') => {
    const name = `a${i % actors}`;
    return remotes.signed(host, inbox, name, { '@context': AS, id: `${remotes.origin}/activities/${randomUUID()}`, type: 'Follow', actor: remotes.actorId(name), object: `http://${host}/neighbourhoods/bench` });
  };
  // Every actor once first, so their keys are fetched and cached before the timed run.
  const warm = await load(web.url, 8, 60, (i) => (i < actors ? follow(i) : null));
  if (warm.statuses['202'] !== actors) throw new Error(`warm-up: ${JSON.stringify(warm.statuses)}`);
  // Signed before the run, so the load generator's signing does not compete with the server for the CPU.
  const requests: RequestSpec[] = Array.from({ length: total }, (_, i) => follow(i));

  /** Sends every request, 32 at once, and measures the web process (and its database) doing so; all must be accepted. */
  const acceptAll = async (all: RequestSpec[]) => {
    const memory = sampleMemory(web.child.pid!);
    const cpu = await measureCpu(web.child.pid!, database.url);
    const result = await load(web.url, 32, 600, (i) => all[i] ?? null);
    const used = await cpu.stop();
    const peak = memory.stop();
    if (result.statuses['202'] !== all.length) throw new Error(`not every activity was accepted: ${JSON.stringify(result.statuses)}`);
    return { result, used, peak };
  };

  const commitsBefore = await databaseCommits(database.url);
  const { result, used, peak } = await acceptAll(requests);
  console.log(`inbound: ${total} signed Follows from ${actors} remote actors at the shared inbox, 32 at once (PostgreSQL)`);
  report({ name: 'inbound: activities accepted', value: result.perSecond, unit: '/s', note: `p99 ${result.latency.p99.toFixed(1)} ms, median ${result.latency.median.toFixed(1)} ms` });
  report({ name: 'inbound: accepted per CPU-second (server + database)', value: total / used, unit: '/CPU-s', target: '≥ 1,000', limit: 'limit: RSA-2048 verify, cached key' });
  report({ name: 'inbound: p99 latency at 32 senders', value: result.latency.p99, unit: 'ms', target: '< 100' });
  const commitsShared = await databaseCommits(database.url);
  report({ name: 'inbound: database transactions per accepted activity', value: (commitsShared - commitsBefore) / total, unit: '' });
  report({ name: 'inbound: peak RSS of the web process', value: peak, unit: 'MB', target: '< 300' });

  // The same at the neighbourhood's own inbox: Fedify's full path (JSON-LD, key from its cache), for comparison.
  const full = Math.max(200, Math.round(total / 4));
  const { result: fullResult, used: fullUsed } = await acceptAll(Array.from({ length: full }, (_, i) => follow(i, '/neighbourhoods/bench/inbox')));
  report({ name: 'inbound: accepted per CPU-second at a personal inbox (Fedify\'s full path)', value: full / fullUsed, unit: '/CPU-s', note: `p99 ${fullResult.latency.p99.toFixed(1)} ms, ${full} activities` });
  const commitsAccepted = await databaseCommits(database.url);
  const handled = total + full;

  // The worker handles the backlog: each Follow stored, an Accept queued and delivered to the sender's server.
  const admin = new pg.Client({ connectionString: database.url });
  await admin.connect();
  const backlog = async () => Number((await admin.query('select count(*) as n from federation_jobs')).rows[0].n);
  const received = remotes.received;
  const started = performance.now();
  worker = await startBenchServer(database.url, { ROLE: 'worker' });
  const workerMemory = sampleMemory(worker.child.pid!);
  const workerCpu = await measureCpu(worker.child.pid!, database.url);
  const deadline = started + 600_000;
  while ((await backlog()) > 0 && performance.now() < deadline) await new Promise((r) => setTimeout(r, 200));
  const seconds = (performance.now() - started) / 1000;
  const workerUsed = await workerCpu.stop();
  await admin.end();
  report({ name: 'inbound: activities handled by a worker (incl. Accept sent)', value: handled / seconds, unit: '/s', note: `${remotes.received - received} Accepts delivered; includes worker start-up` });
  report({ name: 'inbound: handled per CPU-second (worker + database)', value: handled / workerUsed, unit: '/CPU-s' });
  report({ name: 'inbound: database transactions per handled activity', value: ((await databaseCommits(database.url)) - commitsAccepted) / handled, unit: '' });
  report({ name: 'inbound: peak RSS of the worker process', value: workerMemory.stop(), unit: 'MB', target: '< 300' });
} finally {
  await worker?.stop();
  await web.stop();
  await remotes.stop();
  await database.drop();
}
