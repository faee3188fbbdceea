// The database going away: a real server process reaches PostgreSQL through a TCP proxy that the test cuts
// (connections dropped, new ones accepted but never answered, as a dead host looks) and later restores.
// While it is cut, requests are answered 503 with Retry-After at once, /readyz says so, nothing crashes;
// when it is back, everything resumes by itself: requests, queue workers and the live streams.
// OUTAGE_SECONDS sets how long the outage lasts (default 5; the scenario is 30).
import { createServer, type Socket, connect } from 'node:net';
import t from 'tap';
import { postgresForTest, postgresAdminUrl } from './helpers.ts';
import { federationSettings } from './instances.ts';
import { startServer } from './processes.ts';
import { eventually, postSigned, RemoteServer } from './remote-server.ts';
import { openStream } from './streams.ts';

type Test = import('tap').Test;

const outageMs = Number(process.env.OUTAGE_SECONDS ?? 5) * 1000;

/** A TCP proxy in front of PostgreSQL that can be cut and restored without touching the server itself. */
async function startProxy(t: Test, target: URL) {
  const live = new Set<Socket>();
  const held = new Set<Socket>();
  let cut = false;
  const server = createServer((socket) => {
    if (cut) {
      held.add(socket);
      socket.on('error', () => {}).on('close', () => held.delete(socket));
      return;
    }
    const upstream = connect(Number(target.port || 5432), target.hostname);
    for (const [a, b] of [[socket, upstream], [upstream, socket]] as const) {
      live.add(a);
      a.on('error', () => b.destroy()).on('close', () => (live.delete(a), b.destroy()));
      a.pipe(b);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    for (const socket of [...live, ...held]) socket.destroy();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return {
    port: (server.address() as { port: number }).port,
    cut() {
      cut = true;
      for (const socket of live) socket.destroy();
    },
    restore() {
      cut = false;
      for (const socket of held) socket.destroy();
    },
  };
}

t.test(`PostgreSQL unreachable for ${outageMs / 1000} s`, async (t) => {
  const database = await postgresForTest(t);
  if (!database) return;
  const proxy = await startProxy(t, new URL(postgresAdminUrl));
  const url = new URL(database.url);
  url.host = `127.0.0.1:${proxy.port}`;
  const server = await startServer({ ...federationSettings, DATABASE_URL: url.href, PORT: '0', PUBLIC_URL: 'http://forum.test', DATABASE_TIMEOUT_MS: '1000' });
  t.teardown(() => server.stop('SIGKILL'));
  t.teardown(() => { if (process.env.SHOW_LOGS) console.error(server.logs().slice(-6000)); });

  const call = async (method: string, path: string, body?: unknown, token?: string) => {
    const started = Date.now();
    const response = await fetch(`${server.url}${path}`, {
      method,
      headers: { ...(body !== undefined && { 'content-type': 'application/json' }), ...(token && { authorization: `Bearer ${token}` }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: response.status, retryAfter: response.headers.get('retry-after'), body: (await response.json().catch(() => null)) as any, ms: Date.now() - started };
  };
  await call('POST', '/api/accounts', { username: 'sam', password: 'a long enough password' });
  const sam = (await call('POST', '/api/tokens', { username: 'sam', password: 'a long enough password' })).body.token as string;
  t.equal((await call('POST', '/api/neighbourhoods', { handle: 'park-road', name: 'Park Road', locality: { placeName: 'Walkley' } }, sam)).status, 201);
  const stream = await openStream(`${server.url.replace('http', 'ws')}/api/streams/neighbourhoods/park-road`);
  t.teardown(() => stream.close());
  const post = (title: string) => call('POST', '/api/neighbourhoods/park-road/threads', { kind: 'discussion', title, body: 'x' }, sam);

  proxy.cut();
  const outageEnds = Date.now() + outageMs;
  const answers: Awaited<ReturnType<typeof call>>[] = [];
  // Reads, writes, pages and readiness, over and over while the database is away.
  while (Date.now() < outageEnds) {
    for (const [method, path] of [['GET', '/api/neighbourhoods'], ['GET', '/readyz'], ['GET', '/neighbourhoods/park-road'], ['POST', '/api/neighbourhoods/park-road/threads']] as const) {
      answers.push(await (method === 'POST' ? post('During the outage') : call(method, path)));
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  t.ok(answers.length >= 8, `${answers.length} requests during the outage`);
  t.same([...new Set(answers.map((a) => a.status))], [503], 'every request during the outage is answered 503');
  t.ok(answers.every((a) => a.retryAfter), 'with Retry-After');
  const slowest = Math.max(...answers.map((a) => a.ms));
  t.ok(slowest < 2500, `none waits longer than the connection timeout (slowest ${slowest} ms)`);
  t.equal((await call('GET', '/healthz')).status, 200, 'the process itself is alive');
  t.match(server.logs(), /the database is unreachable/);

  proxy.restore();
  const restoredAt = Date.now();
  await eventually(async () => (await call('GET', '/readyz')).status === 200, 15_000, '/readyz after the outage');
  t.comment(`ready again ${Date.now() - restoredAt} ms after the database came back`);
  t.equal((await call('GET', '/api/neighbourhoods')).status, 200);

  // The live stream resumes: its listener reconnects on its own (an event in the second it takes may be missed).
  await eventually(async () => {
    const posted = await post('After the outage');
    if (posted.status !== 201) return false;
    return stream.next((m) => m.event === 'thread.created' && m.thread.id === posted.body.thread.id, 1500).then(() => true, () => false);
  }, 15_000, 'a live event after the outage');
  t.pass('the live stream carries new posts again');

  // Queue workers resume: an incoming Follow is handled and answered through the queue.
  const remote = await RemoteServer.start(t);
  const alex = await remote.actor('alex');
  const follow = { '@context': 'https://www.w3.org/ns/activitystreams', id: remote.activityId(), type: 'Follow', actor: alex.id, object: 'http://forum.test/neighbourhoods/park-road' };
  t.equal((await postSigned(`${server.url}/inbox`, follow, alex)).status, 202);
  await eventually(() => remote.inboxPosts('Accept').length, 15_000, 'the Accept from the queue');
  t.pass('queue workers run again');
  t.notMatch(server.logs(), /"level":(50|60)/, 'nothing logged as an error or fatal');
});
