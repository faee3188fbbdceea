import { eachDatabase, snapshot, startApp } from './helpers.ts';

eachDatabase('following neighbourhoods, sets and the home feed', async (t, database) => {
  const { client } = await startApp(t, database);
  const alice = await client.signUp('alice');
  const bob = await client.signUp('bob');
  const walkley = { placeName: 'Walkley', latitude: 53.3895, longitude: -1.4975 };
  const hillsborough = { placeName: 'Hillsborough', latitude: 53.4039, longitude: -1.5106 };
  const sharrow = { placeName: 'Sharrow', latitude: 53.3655, longitude: -1.4836 };
  await bob.post('/api/neighbourhoods', { handle: 'park-road', name: 'Park Road', locality: walkley });
  await bob.post('/api/neighbourhoods', { handle: 'hillsborough', name: 'Hillsborough Park', locality: hillsborough });
  await bob.post('/api/neighbourhoods', { handle: 'sharrow-vale', name: 'Sharrow Vale', locality: sharrow });
  await bob.post('/api/neighbourhoods', { handle: 'quiet', name: 'Quiet Lane', locality: { placeName: 'Elsewhere' } });
  const ids: Record<string, number> = {};
  for (const n of (await client.get('/api/neighbourhoods?limit=100')).body.neighbourhoods) ids[n.handle] = n.id;

  await t.test('follow by handle, full handle, URL and directory id', async (t) => {
    t.equal((await alice.post('/api/follows', { neighbourhood: 'park-road' })).status, 201);
    const full = await alice.post('/api/follows', { neighbourhood: '@Hillsborough@forum.test' });
    t.equal(full.status, 201);
    t.equal(full.body.neighbourhood.handle, 'hillsborough');
    t.equal((await alice.post('/api/follows', { neighbourhood: 'http://forum.test/neighbourhoods/sharrow-vale' })).status, 201);
    t.equal((await alice.post('/api/follows', { neighbourhoodId: ids['park-road'] })).status, 201, 'following twice is harmless');
    const list = await alice.get('/api/follows');
    t.same(list.body.neighbourhoods.map((n: { handle: string }) => n.handle), ['hillsborough', 'park-road', 'sharrow-vale']);
  });

  await t.test('following does not make you a member', async (t) => {
    const refused = await alice.post('/api/neighbourhoods/park-road/threads', { kind: 'discussion', title: 't', body: 'b' });
    t.equal(refused.status, 403);
    t.equal(refused.body.error, 'not_a_member');
  });

  await t.test('joining follows', async (t) => {
    const carol = await client.signUp('carol');
    await carol.post('/api/neighbourhoods/quiet/members');
    t.same((await carol.get('/api/follows')).body.neighbourhoods.map((n: { handle: string }) => n.handle), ['quiet']);
  });

  await t.test('bad references change nothing', async (t) => {
    const before = await snapshot(database.db);
    const followsBefore = await database.db.selectFrom('neighbourhood_follows').selectAll().execute();
    const cases: [unknown, number, string][] = [
      [{ neighbourhood: 'no-such-place' }, 404, 'not_found'],
      [{ neighbourhood: '@park-road@elsewhere.example' }, 502, 'remote_unreachable'],
      [{ neighbourhood: 'https://elsewhere.example/c/park' }, 404, 'not_found'],
      [{ neighbourhood: 'http://forum.test/threads/1' }, 400, 'invalid_reference'],
      [{ neighbourhood: 'ftp://forum.test/neighbourhoods/park-road' }, 400, 'invalid_reference'],
      [{ neighbourhood: 'not a handle at all' }, 400, 'invalid_reference'],
      [{ neighbourhoodId: 999999 }, 404, 'not_found'],
      [{}, 400, 'invalid_request'],
      [{ neighbourhood: 'park-road', neighbourhoodId: 1 }, 400, 'invalid_request'],
    ];
    for (const [body, status, code] of cases) {
      const response = await alice.post('/api/follows', body);
      t.equal(response.status, status, JSON.stringify(body));
      t.equal(response.body.error, code);
    }
    t.equal((await client.post('/api/follows', { neighbourhood: 'park-road' })).status, 401, 'signed out');
    t.same(await snapshot(database.db), before);
    t.same(await database.db.selectFrom('neighbourhood_follows').selectAll().execute(), followsBefore);
  });

  await t.test('named sets, private or shared', async (t) => {
    const north = await alice.post('/api/sets', { name: 'North Sheffield', neighbourhoodIds: [ids['park-road'], ids['hillsborough']] });
    t.equal(north.status, 201);
    t.equal(north.body.set.shared, false);
    t.equal(north.body.set.shareUrl, null);
    t.same(north.body.set.neighbourhoods.map((n: { handle: string }) => n.handle), ['hillsborough', 'park-road']);
    t.equal((await alice.post('/api/sets', { name: 'North Sheffield' })).status, 409);
    t.equal((await bob.get(`/api/sets/${north.body.set.id}`)).status, 404, 'another member cannot see a private set');

    const shared = await alice.patch(`/api/sets/${north.body.set.id}`, { shared: true });
    t.match(shared.body.set.shareUrl, /^http:\/\/forum\.test\/api\/shared-sets\/[\w-]+$/);
    const viaLink = await client.get(new URL(shared.body.set.shareUrl).pathname);
    t.equal(viaLink.status, 200);
    t.equal(viaLink.body.set.owner, 'alice');
    t.equal(viaLink.body.set.neighbourhoods.length, 2);
    await alice.patch(`/api/sets/${north.body.set.id}`, { shared: false });
    t.equal((await client.get(new URL(shared.body.set.shareUrl).pathname)).status, 404, 'unsharing hides it again');

    const quiet = await alice.post('/api/sets', { name: 'Quiet', neighbourhoodIds: [ids.quiet] });
    t.ok((await alice.get('/api/follows')).body.neighbourhoods.some((n: { handle: string }) => n.handle === 'quiet'), 'adding to a set follows');
    t.equal((await alice.delete(`/api/follows/${ids.quiet}`)).status, 204);
    t.same((await alice.get(`/api/sets/${quiet.body.set.id}`)).body.set.neighbourhoods, [], 'unfollowing takes it out of sets');
    t.equal((await alice.delete(`/api/sets/${quiet.body.set.id}`)).status, 204);
    t.equal((await alice.post('/api/sets', { name: 'x', neighbourhoodIds: [999999] })).status, 404);
    t.equal((await alice.get('/api/sets')).body.sets.length, 1);
  });

  await t.test('the home feed merges threads and replies, newest first, with cursors and filters', async (t) => {
    const posted: string[] = [];
    const post = async (handle: string, kind: string, title: string, extra: object = {}) => {
      const r = await bob.post(`/api/neighbourhoods/${handle}/threads`, { kind, title, body: `About ${title}`, ...extra });
      t.equal(r.status, 201);
      posted.push(`thread:${title}`);
      return r.body.thread.id as number;
    };
    const first = await post('park-road', 'discussion', 'Bins');
    await post('hillsborough', 'event', 'Gala', { event: { startsAt: '2027-07-01T10:00:00Z' } });
    await post('sharrow-vale', 'offer', 'Ladder', { exchange: { item: 'Ladder' } });
    await post('quiet', 'discussion', 'Not followed');
    posted.pop();
    const reply = await bob.post(`/api/threads/${first}/replies`, { body: 'Tuesday now' });
    posted.push(`reply:${reply.body.reply.id}`);
    await post('park-road', 'want', 'Help', { exchange: { item: 'An hour' } });

    const label = (item: { type: string; thread: { title: string }; reply?: { id: number } }) =>
      item.type === 'thread' ? `thread:${item.thread.title}` : `reply:${item.reply!.id}`;
    const all = await alice.get('/api/home?limit=100');
    t.same(all.body.items.map(label), [...posted].reverse(), 'everything followed, newest first, nothing else');

    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { body: { items: never[]; next: string | null } } = await alice.get(`/api/home?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      seen.push(...page.body.items.map(label));
      cursor = page.body.next;
    } while (cursor);
    t.same(seen, [...posted].reverse(), 'pages of two join up without gaps or repeats');

    const sets = (await alice.get('/api/sets')).body.sets;
    const bySet = await alice.get(`/api/home?set=${sets[0].id}`);
    t.same(bySet.body.items.map(label), ['thread:Help', `reply:${reply.body.reply.id}`, 'thread:Gala', 'thread:Bins']);
    t.same((await alice.get('/api/home?kind=event')).body.items.map(label), ['thread:Gala']);
    t.same((await alice.get('/api/home?kind=discussion')).body.items.map(label), [`reply:${reply.body.reply.id}`, 'thread:Bins'], 'replies follow their thread\u2019s kind');
    t.same((await alice.get('/api/home?place=sharrow')).body.items.map(label), ['thread:Ladder']);
    const near = await alice.get(`/api/home?latitude=${walkley.latitude}&longitude=${walkley.longitude}&withinMetres=1000`);
    t.same(near.body.items.map(label), ['thread:Help', `reply:${reply.body.reply.id}`, 'thread:Bins']);

    for (const [query, code] of [
      ['latitude=91&longitude=0&withinMetres=10', 'invalid_request'],
      ['latitude=53&withinMetres=10', 'invalid_request'],
      ['latitude=abc&longitude=1&withinMetres=10', 'invalid_request'],
      ['latitude=53&longitude=-1', 'invalid_request'],
      ['kind=party', 'invalid_request'],
      ['cursor=garbage', 'invalid_cursor'],
    ] as const) {
      const refused = await alice.get(`/api/home?${query}`);
      t.equal(refused.status, 400, query);
      t.equal(refused.body.error, code);
    }
    t.equal((await bob.get(`/api/home?set=${sets[0].id}`)).status, 404, 'someone else\u2019s set');
    t.equal((await client.get('/api/home')).status, 401);
  });

  await t.test('public feeds of the instance and of one neighbourhood', async (t) => {
    const instance = await client.get('/api/public?limit=100');
    t.ok(instance.body.items.some((i: { thread: { title: string } }) => i.thread.title === 'Not followed'));
    const one = await client.get('/api/neighbourhoods/park-road/feed');
    t.same([...new Set(one.body.items.map((i: { thread: { neighbourhood: { handle: string } } }) => i.thread.neighbourhood.handle))], ['park-road']);
    t.equal((await client.get('/api/neighbourhoods/nowhere/feed')).status, 404);
  });

  await t.test('deleted posts leave the feeds', async (t) => {
    const help = (await alice.get('/api/home?kind=want')).body.items[0].thread.id;
    await bob.delete(`/api/threads/${help}`);
    t.same((await alice.get('/api/home?kind=want')).body.items, []);
  });
});
