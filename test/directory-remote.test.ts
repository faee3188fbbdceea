// The directory on one instance lists neighbourhoods on another once it has seen them: looked up by handle,
// followed, or heard from. Each says which instance it lives on, its locality, its size and recent activity,
// and sorts by distance among the local ones.
import { eachDatabase } from './helpers.ts';
import { anotherDatabase, collectionIds, startInstance } from './instances.ts';
import { eventually } from './remote-server.ts';

eachDatabase('remote neighbourhoods in the directory', async (t, database) => {
  const a = await startInstance(t, database);
  const b = await startInstance(t, await anotherDatabase(t, database));
  const aHost = new URL(a.url).host;
  const bHost = new URL(b.url).host;
  const ann = await a.client.signUp('ann');
  await ann.post('/api/neighbourhoods', { handle: 'park-road', name: 'Park Road', locality: { placeName: 'Walkley', latitude: 53.3895, longitude: -1.4975 } });
  await ann.post('/api/neighbourhoods', { handle: 'leeds-road', name: 'Leeds Road', locality: { placeName: 'Leeds', latitude: 53.8008, longitude: -1.5491 } });
  const bea = await b.client.signUp('bea');
  const sharrow = { placeName: 'Sharrow', latitude: 53.3655, longitude: -1.4836, radiusMetres: 800 };
  await bea.post('/api/neighbourhoods', { handle: 'market', name: 'Market Street', locality: sharrow });
  await bea.post('/api/neighbourhoods', { handle: 'hillsborough', name: 'Hillsborough Park', locality: { placeName: 'Hillsborough', latitude: 53.4039, longitude: -1.5106 } });
  const handles = async (query: string) => (await ann.get(`/api/directory?${query}`)).body.neighbourhoods.map((n: { fullHandle: string }) => n.fullHandle);

  await t.test('a neighbourhood elsewhere is not listed before this instance has seen it', async (t) => {
    t.same(await handles('q=market'), []);
  });

  await t.test('searching for its full handle fetches it and remembers it', async (t) => {
    const found = await ann.get(`/api/directory?q=${encodeURIComponent(`@market@${bHost}`)}`);
    t.equal(found.status, 200);
    const [entry] = found.body.neighbourhoods;
    t.match(entry, {
      handle: `market@${bHost}`,
      fullHandle: `@market@${bHost}`,
      name: 'Market Street',
      url: `${b.url}/neighbourhoods/market`,
      instance: { domain: bHost, local: false },
      locality: sharrow,
      memberCount: 0,
      recentActivity: { threadsLast30Days: 0 },
    });
    t.same(await handles('q=market'), [`@market@${bHost}`], 'now found by name like any other');
    t.same(await handles('q=sharrow'), [`@market@${bHost}`], 'and by its place name');
    t.match((await a.client.get('/?q=market')).body, `Sharrow · on ${bHost}`, 'the directory page says where it lives');
    const local = (await ann.get('/api/directory?q=park')).body.neighbourhoods[0];
    t.same(local.instance, { domain: aHost, local: true });
  });

  await t.test('nearest first, local and remote together', async (t) => {
    const lookedUp = await ann.get(`/api/directory/lookup?handle=${encodeURIComponent(`@hillsborough@${bHost}`)}`);
    t.equal(lookedUp.status, 200, 'a look-up by handle adds one too');
    const near = (await ann.get('/api/directory?latitude=53.39&longitude=-1.498')).body.neighbourhoods;
    t.same(near.map((n: { fullHandle: string }) => n.fullHandle), [`@park-road@${aHost}`, `@hillsborough@${bHost}`, `@market@${bHost}`, `@leeds-road@${aHost}`]);
    t.same(near.map((n: { instance: { local: boolean } }) => n.instance.local), [true, false, false, true]);
    const distances = near.map((n: { distanceMetres: number }) => n.distanceMetres);
    t.same([...distances].sort((x, y) => x - y), distances);
    t.same(await handles('place=sharrow&withinMetres=2000'), [`@market@${bHost}`], 'its place name is one in use here now');
  });

  await t.test('following it brings its size and, as posts arrive, its recent activity', async (t) => {
    t.equal((await ann.post('/api/follows', { neighbourhood: `@market@${bHost}` })).status, 201);
    await eventually(async () => (await collectionIds(`${b.url}/neighbourhoods/market/followers`)).length === 1, 30_000, 'A follows market on B');
    t.equal((await bea.post('/api/neighbourhoods/market/threads', { kind: 'discussion', title: 'Spare crates', body: 'x' })).status, 201);
    await eventually(async () => JSON.stringify((await ann.get('/api/home')).body).includes('Spare crates'), 30_000, 'the thread on A');
    const entry = (await ann.get(`/api/directory?q=${encodeURIComponent(`@market@${bHost}`)}`)).body.neighbourhoods[0];
    t.equal(entry.memberCount, 1, 'its followers, as its server counts them');
    t.equal(entry.recentActivity.threadsLast30Days, 1);
    t.ok(Date.now() - Date.parse(entry.recentActivity.lastActivityAt) < 60_000);
  });

  await t.test('a known neighbourhood whose server is down keeps what was last heard', async (t) => {
    await b.stop();
    const entry = (await ann.get(`/api/directory/lookup?handle=${encodeURIComponent(`@market@${bHost}`)}`)).body.neighbourhood;
    t.match(entry, { name: 'Market Street', locality: sharrow, memberCount: 1 });
    t.same(await handles('latitude=53.3655&longitude=-1.4836&withinMetres=100'), [`@market@${bHost}`]);
  });
});
