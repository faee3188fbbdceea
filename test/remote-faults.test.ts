// Remote faults on delivery: a real server process answers Follows from actors whose inboxes are hostile
// (silent, trickling a byte at a time, 500 forever, garbage, an enormous body, a redirect loop). Each
// delivery attempt ends within FETCH_TIMEOUT_MS, so the queue's workers are not held, an honest server's
// Accept is not delayed behind them, and the process's memory stays bounded.
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import t from 'tap';
import { postgresForTest } from './helpers.ts';
import { federationSettings } from './instances.ts';
import { callJson, startServer } from './processes.ts';
import { eventually, postSigned, RemoteServer } from './remote-server.ts';

const AS = 'https://www.w3.org/ns/activitystreams';
const rssMb = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;

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

  const publicUrl = 'http://forum.test';
  const server = await startServer({ ...federationSettings, DATABASE_URL: database.url, PORT: '0', PUBLIC_URL: publicUrl, FETCH_TIMEOUT_MS: '1000' });
  t.teardown(() => server.stop('SIGKILL'));
  const call = (method: string, path: string, body?: unknown, token?: string) => callJson(server.url, method, path, body, token);
  await call('POST', '/api/accounts', { username: 'sam', password: 'a long enough password' });
  const sam = (await call('POST', '/api/tokens', { username: 'sam', password: 'a long enough password' })).body.token as string;
  await call('POST', '/api/neighbourhoods', { handle: 'park-road', name: 'Park Road', locality: { placeName: 'Walkley' } }, sam);

  const remote = await RemoteServer.start(t);
  const follow = async (actor: Awaited<ReturnType<typeof remote.actor>>) => {
    const activity = { '@context': AS, id: remote.activityId(), type: 'Follow', actor: actor.id, object: `${publicUrl}/neighbourhoods/park-road` };
    t.equal((await postSigned(`${server.url}/inbox`, activity, actor)).status, 202);
  };
  const baseline = rssMb(server.child.pid!);
  let peak = baseline;
  const sampler = setInterval(() => (peak = Math.max(peak, rssMb(server.child.pid!))), 50);

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
