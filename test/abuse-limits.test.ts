// Abuse limits: each local account may post and follow so often per hour on every path (API, pages,
// Mastodon API); each other server may send so many posts and follows per hour; one incoming post may
// address only so many of our neighbourhoods; and the registration mode holds on every path.
import { eachDatabase, snapshot, startApp } from './helpers.ts';
import { startInstance } from './instances.ts';
import { eventually, postSigned, RemoteServer } from './remote-server.ts';
import { Visitor } from './visitor.ts';

const AS = ['https://www.w3.org/ns/activitystreams', 'https://w3id.org/security/v1'];
const PUBLIC = 'https://www.w3.org/ns/activitystreams#Public';

eachDatabase('per-account limits on posting and following', async (t, database) => {
  const { app, client } = await startApp(t, database, { POSTS_PER_HOUR: '2', FOLLOWS_PER_HOUR: '2' });
  const alice = await client.signUp('alice');
  const bob = await client.signUp('bob');
  await alice.post('/api/neighbourhoods', { handle: 'park-road', name: 'Park Road', locality: { placeName: 'Walkley' } });
  for (const name of ['a', 'b', 'c']) await bob.post('/api/neighbourhoods', { handle: `street-${name}`, name: `Street ${name}`, locality: { placeName: 'Walkley' } });

  await t.test('the API answers 429 with Retry-After past the posting limit, for that account only', async (t) => {
    const thread = (await alice.post('/api/neighbourhoods/park-road/threads', { kind: 'discussion', title: 'One', body: 'x' })).body.thread;
    t.equal((await alice.post(`/api/threads/${thread.id}/replies`, { body: 'two' })).status, 201);
    const before = await snapshot(database.db);
    const refused = await alice.post(`/api/threads/${thread.id}/replies`, { body: 'three' });
    t.equal(refused.status, 429);
    t.equal(refused.body.error, 'rate_limited');
    t.match(refused.body.message, /as many posts as you may in an hour/);
    t.ok(Number(refused.headers['retry-after']) > 0 && Number(refused.headers['retry-after']) <= 3600, 'Retry-After in seconds');
    const mastodon = await alice.post('/api/v1/statuses', { status: '@park-road Four\nbody' });
    t.equal(mastodon.status, 429, 'the Mastodon API too');
    t.match(mastodon.body, { error: /as many posts/, code: 'rate_limited' });
    t.ok(mastodon.headers['retry-after']);
    t.same(await snapshot(database.db), before, 'nothing stored');
    await bob.post('/api/neighbourhoods/park-road/members');
    t.equal((await bob.post(`/api/threads/${thread.id}/replies`, { body: 'bob is fine' })).status, 201);
  });

  await t.test('the pages answer 429 too', async (t) => {
    const visitor = new Visitor(app);
    await visitor.register('carol');
    await visitor.get('/neighbourhoods/park-road');
    await visitor.post('/neighbourhoods/park-road/join', {});
    for (const title of ['One', 'Two']) t.equal((await visitor.post('/neighbourhoods/park-road/threads', { kind: 'discussion', title, body: 'x' })).statusCode, 303);
    t.equal((await visitor.post('/neighbourhoods/park-road/threads', { kind: 'discussion', title: 'Three', body: 'x', preview: '1' })).statusCode, 200, 'a preview posts nothing');
    const refused = await visitor.post('/neighbourhoods/park-road/threads', { kind: 'discussion', title: 'Three', body: 'x' });
    t.equal(refused.statusCode, 429);
    t.match(refused.body, /as many posts as you may/);
  });

  await t.test('follows and joins share a limit', async (t) => {
    t.equal((await alice.post('/api/follows', { neighbourhood: 'street-a' })).status, 201);
    t.equal((await alice.post('/api/neighbourhoods/street-b/members')).status, 200);
    const refused = await alice.post('/api/follows', { neighbourhood: 'street-c' });
    t.equal(refused.status, 429);
    t.match(refused.body.message, /as many follows/);
    t.equal((await alice.post('/api/v1/accounts/1/follow')).status, 429, 'the Mastodon API too');
  });
});

eachDatabase('per-server limits and the cap on neighbourhoods per post', async (t, database) => {
  const a = await startInstance(t, database, { REMOTE_POSTS_PER_HOUR: '2', REMOTE_FOLLOWS_PER_HOUR: '1', MAX_NEIGHBOURHOODS_PER_ACTIVITY: '2' });
  const mod = await a.client.signUp('mod');
  for (const handle of ['one', 'two', 'three']) await mod.post('/api/neighbourhoods', { handle, name: `Street ${handle}`, locality: { placeName: 'Walkley' } });
  const group = (handle: string) => `${a.url}/neighbourhoods/${handle}`;
  const busy = await RemoteServer.start(t);
  const quiet = await RemoteServer.start(t, '127.0.0.2');
  const [spammer, neighbour] = [await busy.actor('spammer'), await quiet.actor('neighbour')];
  let n = 0;
  const create = (server: RemoteServer, actor: { id: string }, handles: string[], mention = false) => {
    const id = `${server.origin}/posts/${++n}`;
    const to = [PUBLIC, ...(mention ? [] : handles.map(group))];
    const tag = mention ? handles.map((h) => ({ type: 'Mention', href: group(h), name: `@${h}` })) : [];
    return { '@context': AS, id: `${id}#create`, type: 'Create', actor: actor.id, to, object: { id, type: 'Note', attributedTo: actor.id, content: `<p>Post ${n}</p>`, to, tag } };
  };

  await t.test('one post may address only so many neighbourhoods here; past it nothing of it is kept', async (t) => {
    const before = await snapshot(a.database.db);
    const addressed = await postSigned(`${a.url}/inbox`, create(busy, spammer, ['one', 'two', 'three']), spammer);
    t.equal(addressed.status, 422);
    t.match(JSON.parse(addressed.body), { error: 'too_many_neighbourhoods', message: /at most 2 neighbourhoods/ });
    const mentioned = await postSigned(`${a.url}/inbox`, create(busy, spammer, ['one', 'two', 'three'], true), spammer);
    t.equal(mentioned.status, 422, 'by mentions too');
    t.same(await snapshot(a.database.db), before);
  });

  await t.test('a server may send so many posts and follows an hour; another server is not held back', async (t) => {
    for (let i = 0; i < 2; i++) t.equal((await postSigned(`${group('one')}/inbox`, create(busy, spammer, ['one', 'two']), spammer)).status, 202);
    const refused = await postSigned(`${group('one')}/inbox`, create(busy, spammer, ['one']), spammer);
    t.equal(refused.status, 429);
    t.match(JSON.parse(refused.body), { error: 'rate_limited', message: /as many posts/ });
    t.equal((await postSigned(`${group('one')}/inbox`, create(quiet, neighbour, ['one']), neighbour)).status, 202);
    await eventually(async () => (await mod.get('/api/neighbourhoods/one/threads')).body.threads.length === 3, 30_000, 'the accepted posts');

    const follow = (actor: { id: string }, server: RemoteServer, handle: string) => ({ '@context': AS, id: server.activityId(), type: 'Follow', actor: actor.id, object: group(handle) });
    t.equal((await postSigned(`${group('one')}/inbox`, follow(spammer, busy, 'one'), spammer)).status, 202);
    t.equal((await postSigned(`${group('two')}/inbox`, follow(spammer, busy, 'two'), spammer)).status, 429);
    t.equal((await postSigned(`${group('two')}/inbox`, follow(neighbour, quiet, 'two'), neighbour)).status, 202);
  });

  await t.test('a forged request uses up no server\u2019s allowance', async (t) => {
    const forger = await quiet.actor('forger');
    const forged = create(quiet, neighbour, ['two']);
    // Signed by another key than the actor's: refused, and not counted against the server it names.
    t.equal((await postSigned(`${group('two')}/inbox`, forged, { ...forger, keyId: `${neighbour.id}#main-key` })).status, 401);
    t.equal((await postSigned(`${group('two')}/inbox`, create(quiet, neighbour, ['two']), neighbour)).status, 202);
  });
});

eachDatabase('registration modes on every path', async (t, database) => {
  const password = 'a long enough password';
  const appToken = async (client: import('./helpers.ts').Client) => {
    const registered = (await client.post('/api/v1/apps', { client_name: 'Signup', redirect_uris: 'urn:ietf:wg:oauth:2.0:oob', scopes: 'read write' })).body;
    return (await client.post('/oauth/token', { grant_type: 'client_credentials', client_id: registered.client_id, client_secret: registered.client_secret, scope: 'read write' })).body.access_token;
  };

  await t.test('approval: every path makes a pending account that cannot act until approved', async (t) => {
    const { client } = await startApp(t, database, { REGISTRATION: 'approval' });
    const made = await client.as(await appToken(client)).post('/api/v1/accounts', { username: 'dana', password, agreement: true });
    t.equal(made.status, 200);
    t.equal((await client.as(made.body.access_token).get('/api/v1/accounts/verify_credentials')).status, 401, 'its token does not work yet');
    t.equal((await client.get('/api/v1/instance')).body.approval_required, true);
    const member = await database.db.selectFrom('members').select('status').where('username', '=', 'dana').executeTakeFirstOrThrow();
    t.equal(member.status, 'pending');
  });

  await t.test('closed: no path makes an account, and nothing is stored', async (t) => {
    const { app, client } = await startApp(t, database, { REGISTRATION: 'closed' });
    const token = await appToken(client);
    const before = await snapshot(database.db);
    t.equal((await client.post('/api/accounts', { username: 'erin', password })).status, 403, 'API');
    t.equal((await client.as(token).post('/api/v1/accounts', { username: 'erin', password, agreement: true })).status, 403, 'Mastodon API');
    const visitor = new Visitor(app);
    await visitor.get('/register');
    t.equal((await visitor.post('/register', { username: 'erin', password })).statusCode, 403, 'pages');
    t.same(await snapshot(database.db), before);
  });
});
