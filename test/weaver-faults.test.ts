// A weaver names neighbourhoods that cannot be followed: a host with nothing listening, a host that takes the
// connection and never answers, a live instance without that neighbourhood. Each is a clear JSON error within
// FETCH_TIMEOUT_MS, and nothing is stored.
import { createServer, type Socket } from 'node:net';
import { eachDatabase, snapshot } from './helpers.ts';
import { anotherDatabase, freePort, getJson, startInstance } from './instances.ts';

eachDatabase('following what cannot be reached', async (t, database) => {
  // Long enough for a loaded test machine's instance B to answer, short enough to wait out.
  const timeoutMs = 2000;
  const a = await startInstance(t, database, { FETCH_TIMEOUT_MS: String(timeoutMs) });
  const b = await startInstance(t, await anotherDatabase(t, database));
  const bHost = new URL(b.url).host;
  const bea = await b.client.signUp('bea');
  await bea.post('/api/neighbourhoods', { handle: 'market', name: 'Market Street', locality: { placeName: 'Sharrow' } });
  // An actor's keys are made the first time it is served, which can take longer than A's short timeout.
  for (const path of ['/members/bea', '/neighbourhoods/market']) await getJson(`${b.url}${path}`);

  // Accepts every connection and says nothing, as an overloaded or hostile server might.
  const sockets = new Set<Socket>();
  const silent = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    for (const socket of sockets) socket.destroy();
    return new Promise<void>((resolve) => silent.close(() => resolve()));
  });
  const silentHost = `127.0.0.1:${(silent.address() as { port: number }).port}`;
  const closedHost = `127.0.0.1:${await freePort()}`;

  const wes = await a.client.signUp('wes');
  const before = await snapshot(a.database.db);
  const cases: [string, string, number, string][] = [
    ['nothing listening', `@park@${closedHost}`, 502, 'remote_unreachable'],
    ['never answers', `@park@${silentHost}`, 504, 'remote_timeout'],
    ['no such neighbourhood there', `@ghost@${bHost}`, 404, 'not_found'],
    ['a person, not a neighbourhood', `@bea@${bHost}`, 400, 'not_a_group'],
  ];
  for (const [label, handle, status, code] of cases) {
    const started = Date.now();
    const followed = await wes.post('/api/follows', { neighbourhood: handle });
    const took = Date.now() - started;
    t.equal(followed.status, status, `${label}: ${status}`);
    t.match(followed.body, { error: code, message: String }, `${label}: ${followed.body.message}`);
    if (status >= 500) t.ok(took < timeoutMs + 1000, `${label}: answered in ${took} ms, within the timeout`);
    const looked = await wes.get(`/api/directory/lookup?handle=${encodeURIComponent(handle)}`);
    t.equal(looked.status, status, `${label}: the directory lookup says the same`);
  }
  const person = await wes.post('/api/following', { account: `@someone@${silentHost}` });
  t.same([person.status, person.body.error], [504, 'remote_timeout'], 'following a person there too');
  const after = await snapshot(a.database.db);
  // Looking up bea stored her actor (a real answer, worth caching); nothing else changed.
  const actors = (after as Record<string, string[]>).remote_actors!;
  t.same(actors.map((row) => JSON.parse(row).handle), [`bea@${bHost}`]);
  t.same({ ...(after as object), remote_actors: [] }, { ...(before as object), remote_actors: [] }, 'no follow, neighbourhood or member stored');

  t.equal((await wes.post('/api/follows', { neighbourhood: `@market@${bHost}` })).status, 201, 'and a reachable one still follows');
});
