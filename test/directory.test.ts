import { eachDatabase, startApp } from './helpers.ts';

eachDatabase('the directory of neighbourhoods', async (t, database) => {
  const { client } = await startApp(t, database);
  const bob = await client.signUp('bob');
  const alice = await client.signUp('alice');
  const places = [
    ['park-road', 'Park Road', { placeName: 'Walkley', latitude: 53.3895, longitude: -1.4975 }],
    ['walkley-bank', 'Walkley Bank', { placeName: 'Walkley', latitude: 53.3925, longitude: -1.5025 }],
    ['hillsborough', 'Hillsborough Park', { placeName: 'Hillsborough', latitude: 53.4039, longitude: -1.5106 }],
    ['sharrow-vale', 'Sharrow Vale', { placeName: 'Sharrow', latitude: 53.3655, longitude: -1.4836 }],
    ['leeds-road', 'Leeds Road', { placeName: 'Leeds', latitude: 53.8008, longitude: -1.5491 }],
    ['nowhere-much', 'Parkside Allotments', { placeName: 'Unmapped' }],
  ] as const;
  for (const [handle, name, locality] of places) await bob.post('/api/neighbourhoods', { handle, name, locality });
  await alice.post('/api/neighbourhoods/park-road/members');
  await bob.post('/api/neighbourhoods/park-road/threads', { kind: 'discussion', title: 'Hello', body: 'x' });

  await t.test('entries say where a neighbourhood lives, how big and how lively it is', async (t) => {
    const found = await client.get('/api/directory?q=park%20road');
    t.equal(found.status, 200);
    t.same(found.body.neighbourhoods.map((n: { handle: string }) => n.handle), ['park-road']);
    const [entry] = found.body.neighbourhoods;
    t.same(entry.instance, { domain: 'forum.test', local: true });
    t.equal(entry.fullHandle, '@park-road@forum.test');
    t.equal(entry.url, 'http://forum.test/neighbourhoods/park-road');
    t.equal(entry.locality.placeName, 'Walkley');
    t.equal(entry.memberCount, 2);
    t.equal(entry.recentActivity.threadsLast30Days, 1);
    t.ok(Date.parse(entry.recentActivity.lastActivityAt));
  });

  await t.test('search by name matches any part, ignoring case', async (t) => {
    const found = await client.get('/api/directory?q=PARK');
    t.same(found.body.neighbourhoods.map((n: { handle: string }) => n.handle).sort(), ['hillsborough', 'nowhere-much', 'park-road']);
  });

  await t.test('nearest first from a point, within a distance', async (t) => {
    const near = await client.get('/api/directory?latitude=53.39&longitude=-1.498');
    const handles = near.body.neighbourhoods.map((n: { handle: string }) => n.handle);
    t.same(handles, ['park-road', 'walkley-bank', 'hillsborough', 'sharrow-vale', 'leeds-road'], 'unmapped neighbourhoods have no distance');
    const distances = near.body.neighbourhoods.map((n: { distanceMetres: number }) => n.distanceMetres);
    t.same([...distances].sort((a, b) => a - b), distances);
    t.ok(distances[4] > 40_000 && distances[4] < 50_000, `Leeds is about 46 km away (${distances[4]})`);
    const within = await client.get('/api/directory?latitude=53.39&longitude=-1.498&withinMetres=2000');
    t.same(within.body.neighbourhoods.map((n: { handle: string }) => n.handle), ['park-road', 'walkley-bank', 'hillsborough']);
    const paged = await client.get('/api/directory?latitude=53.39&longitude=-1.498&limit=2');
    const second = await client.get(`/api/directory?latitude=53.39&longitude=-1.498&limit=2&cursor=${paged.body.next}`);
    t.same(second.body.neighbourhoods.map((n: { handle: string }) => n.handle), ['hillsborough', 'sharrow-vale']);
  });

  await t.test('nearest first from a place name already in use', async (t) => {
    // Walkley's centre is the middle of the two neighbourhoods that use the name, 235 m from each.
    const near = await client.get('/api/directory?place=walkley&withinMetres=3000');
    const handles = near.body.neighbourhoods.map((n: { handle: string }) => n.handle);
    t.same([...handles.slice(0, 2)].sort(), ['park-road', 'walkley-bank']);
    t.equal(handles[2], 'hillsborough');
    t.equal(handles.length, 3);
    t.same(near.body.neighbourhoods.map((n: { distanceMetres: number }) => n.distanceMetres), [235, 235, 1597]);
    const unknown = await client.get('/api/directory?place=Atlantis');
    t.equal(unknown.status, 400);
    t.equal(unknown.body.error, 'unknown_place');
    t.equal((await client.get('/api/directory?place=Unmapped')).body.error, 'unknown_place', 'a place with no point cannot be measured from');
  });

  await t.test('malformed coordinates are refused clearly', async (t) => {
    for (const query of [
      'latitude=91&longitude=0',
      'latitude=0&longitude=181',
      'latitude=north&longitude=1',
      'latitude=53',
      'longitude=-1',
      'withinMetres=100',
      'latitude=53&longitude=-1&withinMetres=-5',
      'latitude=53&longitude=-1&place=Walkley',
      'latitude=1e999&longitude=0',
      'cursor=%%%',
    ]) {
      const refused = await client.get(`/api/directory?${query}`);
      t.equal(refused.status, 400, query);
      t.match(refused.body, { error: String, message: String });
    }
  });

  await t.test('looking up one neighbourhood by handle or URL', async (t) => {
    t.equal((await client.get('/api/directory/lookup?handle=@park-road@forum.test')).body.neighbourhood.handle, 'park-road');
    t.equal((await client.get('/api/directory/lookup?handle=http://forum.test/neighbourhoods/sharrow-vale')).body.neighbourhood.handle, 'sharrow-vale');
    t.equal((await client.get('/api/directory/lookup?handle=@ghost@forum.test')).status, 404);
    const remote = await client.get('/api/directory/lookup?handle=@park@elsewhere.example');
    t.equal(remote.status, 502, 'a host that does not resolve cannot be reached');
    t.equal(remote.body.error, 'remote_unreachable');
  });
});
