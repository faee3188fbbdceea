// Remote faults on delivery: a real server process answers Follows from actors whose inboxes are hostile
// (silent, trickling a byte at a time, 500 forever, garbage, an enormous body, a redirect loop, a redirect
// to a private address). Each delivery attempt ends within FETCH_TIMEOUT_MS, so the queue's workers are not
// held, an honest server's Accept is not delayed behind them, and the process's memory stays bounded.
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import t, { type Test } from 'tap';
import { postgresForTest } from './helpers.ts';
import { federationSettings } from './instances.ts';
import { callJson, startServer } from './processes.ts';
import { eventually, postSigned, type RemoteActor, RemoteServer } from './remote-server.ts';

const AS = 'https://www.w3.org/ns/activitystreams';
const rssMb = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;

const publicUrl = 'http://forum.test';

/** A real server process with one neighbourhood, and a stand-in remote server whose actors follow it. */
async function forumWithFollowers(t: Test, database: { url: string }, env: Record<string, string>) {
  const server = await startServer({ ...federationSettings, DATABASE_URL: database.url, PORT: '0', PUBLIC_URL: publicUrl, ...env });
  t.teardown(() => server.stop('SIGKILL'));
  const call = (method: string, path: string, body?: unknown, token?: string) => callJson(server.url, method, path, body, token);
  await call('POST', '/api/accounts', { username: 'sam', password: 'a long enough password' });
  const sam = (await call('POST', '/api/tokens', { username: 'sam', password: 'a long enough password' })).body.token as string;
  await call('POST', '/api/neighbourhoods', { handle: 'park-road', name: 'Park Road', locality: { placeName: 'Walkley' } }, sam);
  const remote = await RemoteServer.start(t);
  const follow = async (actor: RemoteActor) => {
    const activity = { '@context': AS, id: remote.activityId(), type: 'Follow', actor: actor.id, object: `${publicUrl}/neighbourhoods/park-road` };
    t.equal((await postSigned(`${server.url}/inbox`, activity, actor)).status, 202);
  };
  return { server, call, remote, follow };
}

/** An inbox on its own loopback server that takes each delivery and never answers; `attempts` says when each began and ended. */
async function stalledInbox(t: Test) {
  const attempts: { start: number; end: number }[] = [];
  const server = createServer((req, res) => {
    const attempt = { start: Date.now(), end: 0 };
    attempts.push(attempt);
    req.resume();
    res.on('close', () => (attempt.end = Date.now()));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    server.closeAllConnections();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}/inbox`, attempts };
}

t.test('hostile inboxes do not hold up deliveries to others', async (t) => {
  const database = await postgresForTest(t);
  if (!database) return;

  // The hostile inboxes, one path each on one loopback server; `open` counts requests not yet ended by us.
  let open = 0;
  const attempts = new Map<string, number>();
  const behaviours: Record<string, (req: IncomingMessage, res: ServerResponse) => void> = {
    '/silent': () => {},
    '/trickle': (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      const timer = setInterval(() => res.write(' '), 200);
      res.on('close', () => clearInterval(timer));
    },
    '/error': (_req, res) => res.writeHead(500).end('no'),
    '/garbage': (_req, res) => res.writeHead(200, { 'content-type': 'application/activity+json' }).end('\u0000{{{not json'),
    '/enormous': (_req, res) => {
      res.writeHead(500, { 'content-type': 'text/plain' });
      const chunk = Buffer.alloc(64 * 1024, 'x');
      let sent = 0;
      const pump = () => {
        while (sent < 200 * 1024 * 1024 && res.write(chunk)) sent += chunk.length;
        if (sent >= 200 * 1024 * 1024) res.end();
      };
      res.on('drain', pump);
      pump();
    },
    '/loop': (_req, res) => res.writeHead(307, { location: '/loop' }).end(),
  };
  const hostile = createServer((req, res) => {
    open++;
    res.on('close', () => open--);
    attempts.set(req.url!, (attempts.get(req.url!) ?? 0) + 1);
    req.resume();
    behaviours[req.url!]?.(req, res);
  });
  await new Promise<void>((resolve) => hostile.listen(0, '127.0.0.1', resolve));
  const hostileOrigin = `http://127.0.0.1:${(hostile.address() as { port: number }).port}`;
  t.teardown(() => {
    hostile.closeAllConnections();
    return new Promise<void>((resolve) => hostile.close(() => resolve()));
  });

  const { server, call, remote, follow } = await forumWithFollowers(t, database, { FETCH_TIMEOUT_MS: '1000' });
  const baseline = rssMb(server.child.pid!);
  let peak = baseline;
  const sampler = setInterval(() => (peak = Math.max(peak, rssMb(server.child.pid!))), 50);
  t.teardown(() => clearInterval(sampler));

  // Two actors per hostile behaviour: more stuck deliveries than the process has queue workers (4).
  for (const path of Object.keys(behaviours)) {
    for (const n of [1, 2]) {
      const inbox = `${hostileOrigin}${path}`;
      await follow(await remote.actor(`${path.slice(1)}${n}`, { inbox, endpoints: { sharedInbox: inbox } }));
    }
  }
  await eventually(() => attempts.size === Object.keys(behaviours).length, 15_000, 'a delivery attempt at every hostile inbox');
  const honest = await remote.actor('honest');
  const started = Date.now();
  await follow(honest);
  await eventually(() => remote.inboxPosts('Accept').length, 15_000, 'the honest Accept');
  const waited = Date.now() - started;
  t.ok(waited < 5000, `the honest server's Accept arrived ${waited} ms after its Follow, behind 12 hostile deliveries`);

  // Every attempt at a hostile inbox is let go within the timeout: none stays open long.
  await eventually(() => open === 0 || attempts.get('/silent')! >= 2, 10_000, 'the silent deliveries to be given up and retried');
  clearInterval(sampler);
  t.comment(`attempts per hostile inbox: ${JSON.stringify(Object.fromEntries(attempts))}; RSS ${baseline.toFixed(0)} MB before, ${peak.toFixed(0)} MB at peak`);
  t.ok(peak - baseline < 150, `memory stays bounded (grew ${(peak - baseline).toFixed(0)} MB while a 200 MB body was offered)`);
  t.equal((await call('GET', '/readyz')).status, 200, 'the server is still ready');
});

t.test('the deadline is what keeps deliveries moving past a stalled inbox', async (t) => {
  const database = await postgresForTest(t);
  if (!database) return;
  const timeoutMs = 8000;
  const { remote, follow } = await forumWithFollowers(t, database, { FETCH_TIMEOUT_MS: String(timeoutMs) });
  const stalled = await stalledInbox(t);
  const stalledActor = (name: string) => remote.actor(name, { inbox: stalled.url, endpoints: { sharedInbox: stalled.url } });
  const acceptFor = (actor: RemoteActor) => remote.inboxPosts('Accept').find((d) => d.body.object?.actor === actor.id);

  // One stalled delivery holds one of the four queue workers; the others carry an honest Accept past it.
  await follow(await stalledActor('stalled'));
  await eventually(() => stalled.attempts.length, 15_000, 'the delivery to the stalled inbox to begin');
  const first = stalled.attempts[0]!;
  const honest = await remote.actor('honest');
  await follow(honest);
  await eventually(() => acceptFor(honest), 15_000, 'the honest Accept');
  t.equal(first.end, 0, 'the honest Accept arrived while the stalled delivery was still hanging');
  await eventually(() => first.end, 20_000, 'the stalled delivery to be cut');
  const held = first.end - first.start;
  // Node's own fetch would wait five minutes for the headers; our deadline cuts the attempt at FETCH_TIMEOUT_MS.
  t.ok(held >= timeoutMs / 2 && held < timeoutMs + 6000, `the stalled attempt was cut after ${held} ms (FETCH_TIMEOUT_MS=${timeoutMs})`);

  // Now as many stalled deliveries as workers: nothing else moves until the deadline cuts one of them.
  for (const n of [2, 3, 4, 5]) await follow(await stalledActor(`stalled${n}`));
  const hanging = () => stalled.attempts.filter((a) => a.end === 0);
  await eventually(() => hanging().length >= 4, 20_000, 'every worker to be held by a stalled delivery');
  const heldNow = hanging();
  const late = await remote.actor('late');
  const followedAt = Date.now();
  await follow(late);
  await eventually(() => acceptFor(late), 30_000, 'the second honest Accept');
  const acceptedAt = Date.now();
  const firstCut = Math.min(...heldNow.map((a) => a.end || Infinity));
  t.ok(firstCut <= acceptedAt, `the Accept came ${acceptedAt - followedAt} ms after its Follow, once a stalled attempt was cut (${firstCut - followedAt} ms)`);
  t.ok(acceptedAt - followedAt < timeoutMs + 10_000, 'within the deadline and some slack');
});

t.test('a delivery redirected to a private address is refused', async (t) => {
  const database = await postgresForTest(t);
  if (!database) return;
  // The test's own servers are on 127.0.0.1, the one private address allowed; 127.0.0.2 is loopback too.
  const { server, remote, follow } = await forumWithFollowers(t, database, { ALLOW_PRIVATE_ADDRESSES: '127.0.0.1', FETCH_TIMEOUT_MS: '3000' });
  const inside = await RemoteServer.start(t, '127.0.0.2');
  const hits = new Map<string, number>();
  const redirect = (path: string, location: string) => remote.routes.set(path, (req, res) => {
    hits.set(path, (hits.get(path) ?? 0) + 1);
    req.resume();
    res.writeHead(307, { location }).end();
  });
  redirect('/to-inside', `${inside.origin}/inbox`);
  redirect('/to-metadata', 'http://169.254.169.254/inbox');
  redirect('/to-allowed', `${remote.origin}/landed`);
  for (const path of ['/to-inside', '/to-metadata', '/to-allowed']) {
    const inbox = `${remote.origin}${path}`;
    await follow(await remote.actor(path.slice(4), { inbox, endpoints: { sharedInbox: inbox } }));
  }
  await eventually(() => remote.inboxPosts('Accept').find((d) => d.path === '/landed'), 15_000, 'the Accept redirected within the allowed address');
  t.pass('a redirect to an allowed address is followed');
  // The first attempt at each is the worker's own (which follows no redirect); Fedify's follow the redirect.
  const refusals = () => server.logs().split('\n').filter((line) => line.includes('private or local address'));
  const refused = (what: string) => refusals().some((line) => line.includes(what));
  t.ok(await eventually(() => refused(`${inside.origin}/inbox`), 20_000, 'a refusal'), 'the redirect to 127.0.0.2 was refused');
  t.ok(await eventually(() => refused('169.254.169.254'), 20_000, 'a refusal'), 'the redirect to the cloud metadata address was refused');
  await eventually(() => (hits.get('/to-inside') ?? 0) >= 3 && (hits.get('/to-metadata') ?? 0) >= 3, 20_000, 'the refused deliveries to be retried');
  t.equal(inside.received.length, 0, 'nothing was delivered to 127.0.0.2');
});
