// Load shedding: a flood of signed activities at the shared inbox of a web process whose queue is not being
// drained. Past INBOX_MAX_IN_FLIGHT requests at once, or INBOX_MAX_BACKLOG queued jobs, it answers 503 with
// Retry-After; every activity it answered 202 is in the durable queue, and a worker started afterwards
// handles them all. The process's resident memory is sampled throughout and must stay under the ceiling.
import { readFileSync } from 'node:fs';
import t from 'tap';
import { openDatabase } from '../server/database.ts';
import { postgresForTest } from './helpers.ts';
import { federationSettings } from './instances.ts';
import { callJson, startServer } from './processes.ts';
import { eventually, postSigned, RemoteServer } from './remote-server.ts';

const AS = 'https://www.w3.org/ns/activitystreams';
/** The stated ceiling for one web process under this flood (docs/reliability.md). */
const ceilingMb = 512;
const rssMb = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;

t.test('an inbox flood is shed with 503 and Retry-After, nothing accepted is lost', async (t) => {
  const database = await postgresForTest(t);
  if (!database) return;
  const publicUrl = 'http://forum.test';
  const env = { ...federationSettings, DATABASE_URL: database.url, PORT: '0', PUBLIC_URL: publicUrl, INBOX_MAX_IN_FLIGHT: '8', INBOX_MAX_BACKLOG: '60' };
  const web = await startServer({ ...env, ROLE: 'web' });
  t.teardown(() => web.stop('SIGKILL'));
  const call = (method: string, path: string, body?: unknown, token?: string) => callJson(web.url, method, path, body, token);
  await call('POST', '/api/accounts', { username: 'sam', password: 'a long enough password' });
  const sam = (await call('POST', '/api/tokens', { username: 'sam', password: 'a long enough password' })).body.token as string;
  await call('POST', '/api/neighbourhoods', { handle: 'park-road', name: 'Park Road', locality: { placeName: 'Walkley' } }, sam);

  const remote = await RemoteServer.start(t);
  const actors = await Promise.all(Array.from({ length: 20 }, (_, i) => remote.actor(`flood${i}`)));
  const baseline = rssMb(web.child.pid!);
  let peak = baseline;
  const sampler = setInterval(() => (peak = Math.max(peak, rssMb(web.child.pid!))), 50);

  // Each sender posts Follows one after another; `senders` of them at once.
  const answers: { status: number; actor: string }[] = [];
  const flood = (count: number, senders: number) => {
    const requests = Array.from({ length: count }, (_, i) => actors[i % actors.length]!);
    return Promise.all(Array.from({ length: senders }, async () => {
      for (let actor = requests.pop(); actor; actor = requests.pop()) {
        const activity = { '@context': AS, id: remote.activityId(), type: 'Follow', actor: actor.id, object: `${publicUrl}/neighbourhoods/park-road` };
        answers.push({ status: (await postSigned(`${web.url}/inbox`, activity, actor)).status, actor: actor.id });
      }
    }));
  };
  // First more at once than may be in flight, then few enough at once to fill the queue past its bound.
  await flood(200, 50);
  const shedInFlight = answers.filter((a) => a.status === 503).length;
  await flood(150, 4);
  clearInterval(sampler);

  const byStatus = Object.groupBy(answers, (a) => String(a.status));
  t.comment(`answers: ${JSON.stringify(Object.fromEntries(Object.entries(byStatus).map(([k, v]) => [k, v!.length])))}; RSS ${baseline.toFixed(0)} MB before, ${peak.toFixed(0)} MB at peak`);
  t.same(Object.keys(byStatus).sort(), ['202', '503'], 'each activity is either accepted or refused with 503');
  t.ok(shedInFlight > 0, `${shedInFlight} refused for too many in flight`);
  t.ok(peak < ceilingMb, `peak RSS ${peak.toFixed(0)} MB is under the ${ceilingMb} MB ceiling`);

  // The gate counts the backlog at most once a second; past that, its count includes the whole flood.
  await new Promise((resolve) => setTimeout(resolve, 1100));
  const refused = await fetch(`${web.url}/inbox`, { method: 'POST', headers: { 'content-type': 'application/activity+json' }, body: '{}' });
  t.equal(refused.status, 503, 'while the backlog is over the bound, even a cheap request is refused');
  t.ok(Number(refused.headers.get('retry-after')) > 0, 'with Retry-After');

  const db = await openDatabase({ databaseUrl: database.url, dataDir: 'memory://' });
  t.teardown(() => db.destroy());
  const jobs = (await db.selectFrom('federation_jobs').select((e) => e.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n;
  t.equal(jobs, byStatus['202']!.length, 'every accepted activity is a queued job');

  // A worker drains the queue: every actor with an accepted Follow is answered.
  const worker = await startServer({ ...env, ROLE: 'worker' });
  t.teardown(() => worker.stop('SIGKILL'));
  const followed = new Set(byStatus['202']!.map((a) => a.actor));
  await eventually(async () => (await db.selectFrom('federation_jobs').select('id').execute()).length === 0, 60_000, 'the queue to drain');
  t.ok(remote.inboxPosts('Accept').length >= followed.size, 'and answered with an Accept');
  const followers = await db.selectFrom('remote_follows').select((e) => e.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
  t.equal(followers.n, followed.size, 'every actor whose Follow was accepted is a follower');
});
