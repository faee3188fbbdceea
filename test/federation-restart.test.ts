// The delivery queue is durable: a delivery in flight when the sending process is killed is made after
// it restarts, once. The sender is a real server process; the receiver sits behind a gate that holds
// deliveries, as a slow server would.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eachDatabase, freshPostgresDatabase } from './helpers.ts';
import { collectionIds, federationSettings, freePort, startGate, startInstance } from './instances.ts';
import { startServer } from './processes.ts';
import { eventually } from './remote-server.ts';

eachDatabase('a delivery in flight survives the sender being killed', async (t, database) => {
  const gate = await startGate(t);
  const b = await startInstance(t, database, { PUBLIC_URL: gate.url });
  gate.target = Number(new URL(b.app.listeningOrigin).port);
  const sam = await b.client.signUp('sam');
  await sam.post('/api/neighbourhoods', { handle: 'park-road', name: 'Park Road', locality: { placeName: 'Walkley' } });

  // The sender keeps its data in its own database: a data directory, or a PostgreSQL database.
  let storage: Record<string, string>;
  if (database.backend === 'pglite') {
    const dir = await mkdtemp(join(tmpdir(), 'square-mile-sender-'));
    t.teardown(() => rm(dir, { recursive: true, force: true }));
    storage = { DATA_DIR: dir };
  } else {
    const { url, drop } = await freshPostgresDatabase();
    t.teardown(drop);
    storage = { DATABASE_URL: url };
  }
  const port = await freePort();
  const env = { ...federationSettings, ...storage, PORT: String(port), PUBLIC_URL: `http://127.0.0.1:${port}`, QUEUE_LEASE_SECONDS: '2' };
  let sender = await startServer(env);
  t.teardown(() => sender.stop('SIGKILL'));
  const api = async (method: string, path: string, body?: unknown, token?: string) => {
    const response = await fetch(`${sender.url}${path}`, {
      method,
      headers: { 'content-type': 'application/json', ...(token && { authorization: `Bearer ${token}` }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as any };
  };
  await api('POST', '/api/accounts', { username: 'robin', password: 'a long enough password' });
  const { token } = (await api('POST', '/api/tokens', { username: 'robin', password: 'a long enough password' })).body;

  gate.mode = 'hold';
  const followed = await api('POST', '/api/following', { account: `@park-road@${new URL(gate.url).host}` }, token);
  t.equal(followed.status, 202);
  const [held] = await eventually(() => gate.held.length && gate.held, 15_000, 'the Follow in flight');
  t.equal(held!.body.type, 'Follow');

  t.equal(await sender.stop('SIGKILL'), null, 'the sender is killed mid-delivery');
  gate.releaseHeld();
  gate.mode = 'pass';
  sender = await startServer(env);

  const state = async () => (await api('GET', '/api/following', undefined, token)).body.following[0]?.state;
  await eventually(async () => (await state()) === 'accepted', 30_000, 'the Accept after restart');
  const deliveries = gate.passed.filter((p) => p.method === 'POST' && p.body?.id === held!.body.id);
  t.equal(deliveries.length, 1, 'the Follow arrived once');
  t.same(await collectionIds(`${gate.url}/neighbourhoods/park-road/followers`), [`${sender.url}/members/robin`]);
});
