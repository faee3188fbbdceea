import { eachDatabase, snapshot, startApp } from './helpers.ts';

eachDatabase('neighbourhoods', async (t, database) => {
  const { client } = await startApp(t, database);
  const alice = await client.signUp('alice');
  const bob = await client.signUp('bob');

  const create = (who: typeof alice, handle: string, extra: Record<string, unknown> = {}) =>
    who.post('/api/neighbourhoods', { handle, name: handle.replace(/-/g, ' '), locality: { placeName: 'Sheffield' }, ...extra });

  await t.test('a member creates one and becomes its moderator', async (t) => {
    const created = await create(alice, 'park-road', {
      name: 'Park Road',
      description: 'The **streets** around the park',
      rules: 'Be kind.',
      locality: { placeName: 'Walkley, Sheffield', latitude: 53.3925, longitude: -1.4985, radiusMetres: 800 },
    });
    t.equal(created.status, 201);
    t.equal(created.body.neighbourhood.handle, 'park-road');
    t.equal(created.body.neighbourhood.descriptionHtml, '<p>The <strong>streets</strong> around the park</p>\n');
    t.same(created.body.neighbourhood.locality, { placeName: 'Walkley, Sheffield', latitude: 53.3925, longitude: -1.4985, radiusMetres: 800 });
    t.equal(created.body.viewerRole, 'moderator');
    t.same(created.body.moderators.map((m: { username: string }) => m.username), ['alice']);
    t.equal(created.body.neighbourhood.memberCount, 1);
  });

  await t.test('handles are unique across neighbourhoods and members, whatever the case', async (t) => {
    const before = await snapshot(database.db);
    t.equal((await create(bob, 'Park-Road')).status, 409);
    t.equal((await create(bob, 'ALICE')).status, 409, 'a member\u2019s name cannot be a neighbourhood\u2019s handle');
    t.equal((await client.post('/api/accounts', { username: 'Park_Road', password: 'long enough pw' })).status, 201, 'underscore differs from hyphen');
    await database.db.deleteFrom('members').where('username', '=', 'Park_Road').execute();
    t.same(await snapshot(database.db), before);
  });

  await t.test('bad input is refused and changes nothing', async (t) => {
    const before = await snapshot(database.db);
    const cases: [string, unknown][] = [
      ['bad handle', { handle: 'no spaces', name: 'x', locality: { placeName: 'x' } }],
      ['missing locality', { handle: 'no-locality', name: 'x' }],
      ['latitude out of range', { handle: 'far-north', name: 'x', locality: { placeName: 'x', latitude: 91, longitude: 0 } }],
      ['latitude without longitude', { handle: 'half-point', name: 'x', locality: { placeName: 'x', latitude: 50 } }],
      ['radius without a point', { handle: 'radius-only', name: 'x', locality: { placeName: 'x', radiusMetres: 100 } }],
      ['coordinates as strings', { handle: 'stringy', name: 'x', locality: { placeName: 'x', latitude: '50', longitude: '1' } }],
      ['blank name', { handle: 'blank', name: '   ', locality: { placeName: 'x' } }],
    ];
    for (const [name, body] of cases) {
      const response = await alice.post('/api/neighbourhoods', body);
      t.equal(response.status, 400, `${name}: ${response.body.message}`);
    }
    t.equal((await client.post('/api/neighbourhoods', { handle: 'anon', name: 'x', locality: { placeName: 'x' } })).status, 401);
    t.same(await snapshot(database.db), before);
  });

  await t.test('SQL metacharacters are stored as text', async (t) => {
    const name = `Robert'); DROP TABLE neighbourhoods;-- 100% _x_ \\`;
    const created = await create(bob, 'bobby-tables', { name, description: name, locality: { placeName: name } });
    t.equal(created.status, 201);
    t.equal(created.body.neighbourhood.name, name);
    const found = await client.get(`/api/neighbourhoods?q=${encodeURIComponent("'); drop")}`);
    t.same(found.body.neighbourhoods.map((n: { handle: string }) => n.handle), ['bobby-tables']);
    const percent = await client.get(`/api/neighbourhoods?q=${encodeURIComponent('100%')}`);
    t.same(percent.body.neighbourhoods.map((n: { handle: string }) => n.handle), ['bobby-tables'], '% matches itself only');
    const underscore = await client.get(`/api/neighbourhoods?q=${encodeURIComponent('_x_')}`);
    t.equal(underscore.body.neighbourhoods.length, 1, '_ matches itself only');
  });

  await t.test('join, leave, and the last moderator stays', async (t) => {
    const joined = await bob.post('/api/neighbourhoods/park-road/members');
    t.equal(joined.status, 200);
    t.equal(joined.body.viewerRole, 'member');
    t.equal(joined.body.neighbourhood.memberCount, 2);
    t.equal((await bob.post('/api/neighbourhoods/park-road/members')).body.neighbourhood.memberCount, 2, 'joining twice is harmless');
    const left = await bob.delete('/api/neighbourhoods/park-road/members/me');
    t.equal(left.body.viewerRole, null);
    t.equal(left.body.neighbourhood.memberCount, 1);
    const lastModerator = await alice.delete('/api/neighbourhoods/park-road/members/me');
    t.equal(lastModerator.status, 409);
    t.equal(lastModerator.body.error, 'last_moderator');
    t.equal((await bob.post('/api/neighbourhoods/nowhere/members')).status, 404);
  });

  await t.test('only moderators change a neighbourhood', async (t) => {
    const refused = await bob.patch('/api/neighbourhoods/park-road', { rules: 'No rules' });
    t.equal(refused.status, 403);
    const changed = await alice.patch('/api/neighbourhoods/park-road', { rules: 'Be kind. Be local.' });
    t.equal(changed.status, 200);
    t.equal(changed.body.neighbourhood.rules, 'Be kind. Be local.');
    t.equal(changed.body.neighbourhood.locality.placeName, 'Walkley, Sheffield', 'other fields kept');
  });

  await t.test('search by name, list by distance, paginate', async (t) => {
    const points: [string, number, number][] = [
      ['crookes', 53.3889, -1.5135], // about 1.1 km from Park Road's centre
      ['hillsborough', 53.4114, -1.5, ], // about 2.1 km
      ['leeds-central', 53.7997, -1.5492], // about 45 km
    ];
    for (const [handle, latitude, longitude] of points) {
      t.equal((await create(alice, handle, { locality: { placeName: handle, latitude, longitude } })).status, 201);
    }
    const near = await client.get('/api/neighbourhoods?latitude=53.3925&longitude=-1.4985');
    t.same(near.body.neighbourhoods.map((n: { handle: string }) => n.handle), ['park-road', 'crookes', 'hillsborough', 'leeds-central']);
    const distances = near.body.neighbourhoods.map((n: { distanceMetres: number }) => n.distanceMetres);
    t.equal(distances[0], 0);
    t.ok(distances[1] > 900 && distances[1] < 1300, `crookes is ${distances[1]} m away`);
    t.ok(distances[3] > 40_000 && distances[3] < 50_000, `leeds is ${distances[3]} m away`);

    const within = await client.get('/api/neighbourhoods?latitude=53.3925&longitude=-1.4985&withinMetres=5000');
    t.same(within.body.neighbourhoods.map((n: { handle: string }) => n.handle), ['park-road', 'crookes', 'hillsborough']);

    const page1 = await client.get('/api/neighbourhoods?latitude=53.3925&longitude=-1.4985&limit=2');
    t.equal(page1.body.neighbourhoods.length, 2);
    const page2 = await client.get(`/api/neighbourhoods?latitude=53.3925&longitude=-1.4985&limit=2&cursor=${page1.body.next}`);
    t.same(page2.body.neighbourhoods.map((n: { handle: string }) => n.handle), ['hillsborough', 'leeds-central']);

    const byName = await client.get('/api/neighbourhoods?q=HILLS');
    t.same(byName.body.neighbourhoods.map((n: { handle: string }) => n.handle), ['hillsborough']);

    const all: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { body: { neighbourhoods: { handle: string }[]; next: string | null } } = await client.get(`/api/neighbourhoods?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      all.push(...page.body.neighbourhoods.map((n) => n.handle));
      cursor = page.body.next;
    } while (cursor);
    t.equal(all.length, 5);
    t.equal(all[0], 'leeds-central', 'newest activity first');
    t.equal(new Set(all).size, 5, 'no repeats across pages');

    for (const query of ['latitude=91&longitude=0', 'latitude=abc&longitude=0', 'latitude=50', 'withinMetres=-1&latitude=1&longitude=1', 'cursor=garbage', 'limit=1000']) {
      const response = await client.get(`/api/neighbourhoods?${query}`);
      t.equal(response.status, 400, `${query}: ${response.body.message}`);
    }
    const dateCursor = page1.body.next;
    t.equal((await client.get(`/api/neighbourhoods?cursor=${dateCursor}`)).status, 400, 'a distance cursor on the activity list');
  });
});
