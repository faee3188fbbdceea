// Blocking whole servers: Mastodon's CSV in and out, signed activities from a blocked server refused at
// the inbox, and nothing delivered to it. Two stand-in servers on loopback: 127.0.0.1 and 127.0.0.2.
import t from 'tap';
import { openDatabase } from '../server/database.ts';
import { isBlockedHost } from '../server/domain-blocks/domain.ts';
import { eachDatabase, snapshot, testConfig } from './helpers.ts';
import { anotherDatabase, startInstance } from './instances.ts';
import { eventually, postSigned, postSignedRfc9421, RemoteServer } from './remote-server.ts';

const AS = 'https://www.w3.org/ns/activitystreams';

eachDatabase('domain blocks', async (t, database) => {
  const a = await startInstance(t, database);
  const { db } = database;
  const mod = await a.client.signUp('mod');
  const staff = await a.client.signUp('staff');
  await db.updateTable('members').set({ role: 'admin' }).where('username', '=', 'staff').execute();
  await mod.post('/api/neighbourhoods', { handle: 'park-road', name: 'Park Road', locality: { placeName: 'Walkley' } });
  const group = `${a.url}/neighbourhoods/park-road`;
  const friendly = await RemoteServer.start(t);
  const blocked = await RemoteServer.start(t, '127.0.0.2');
  const alice = await friendly.actor('alice');
  const mallory = await blocked.actor('mallory');
  const eve = await blocked.actor('eve');
  const follow = (actor: { id: string }, server: RemoteServer) => ({ '@context': AS, id: server.activityId(), type: 'Follow', actor: actor.id, object: group });

  await t.test('CSV in Mastodon\u2019s format goes in and comes out; only staff may', async (t) => {
    const csv = '#domain,#severity,#reject_media,#reject_reports,#public_comment,#obfuscate\nspam.example,suspend,true,true,"Spam, lots",false\nloud.example,silence,false,false,,false\n';
    const before = await snapshot(db);
    t.equal((await mod.request('POST', '/api/admin/domain-blocks.csv', csv, { 'content-type': 'text/csv' })).status, 403);
    t.equal((await mod.get('/api/admin/domain-blocks.csv')).status, 403);
    const bad = await staff.request('POST', '/api/admin/domain-blocks.csv', '#domain,#severity\nok.example,suspend\nnot a domain,suspend\n', { 'content-type': 'text/csv' });
    t.equal(bad.status, 400);
    t.equal((await staff.request('POST', '/api/admin/domain-blocks.csv', '#domain,#severity\nx.example,banish\n', { 'content-type': 'text/csv' })).status, 400);
    t.same(await snapshot(db), before, 'a bad file stores nothing');
    const imported = await staff.request('POST', '/api/admin/domain-blocks.csv', csv, { 'content-type': 'text/csv' });
    t.same(imported.body, { imported: 2 });
    const exported = await staff.get('/api/admin/domain-blocks.csv');
    t.match(exported.headers['content-type'], /text\/csv/);
    t.equal(exported.body, '#domain,#severity,#reject_media,#reject_reports,#public_comment,#obfuscate\nloud.example,silence,false,false,,false\nspam.example,suspend,true,true,"Spam, lots",false\n');
    t.equal((await staff.request('POST', '/api/admin/domain-blocks.csv', 'old.example\n', { 'content-type': 'text/csv' })).body.imported, 1, 'the older bare list');
    t.equal((await staff.delete('/api/admin/domain-blocks/old.example')).status, 204);
    t.equal((await staff.delete('/api/admin/domain-blocks/old.example')).status, 404);
    t.match((await staff.get('/api/admin/domain-blocks')).body.blocks, [{ domain: 'loud.example' }, { domain: 'spam.example', publicComment: 'Spam, lots' }]);
  });

  await t.test('a blocked server\u2019s signed activities are refused at the inbox and nothing is delivered to it', async (t) => {
    t.equal((await mod.request('PUT', '/api/neighbourhoods/park-road/admission', { admission: 'approval' })).status, 200);
    t.equal((await postSigned(`${group}/inbox`, follow(alice, friendly), alice)).status, 202);
    t.equal((await postSigned(`${group}/inbox`, follow(mallory, blocked), mallory)).status, 202);
    const requests = await eventually(async () => {
      const listed = (await mod.get('/api/neighbourhoods/park-road/follow-requests')).body.requests;
      return listed.length === 2 && listed;
    }, 10_000, 'both follow requests');

    t.equal((await mod.post('/api/admin/domain-blocks', { domain: '127.0.0.2', severity: 'silence' })).status, 403, 'staff only');
    t.equal((await staff.post('/api/admin/domain-blocks', { domain: '127.0.0.2', severity: 'silence' })).status, 204);
    t.equal((await postSigned(`${group}/inbox`, follow(eve, blocked), eve)).status, 202, 'a silenced server is still heard');
    await eventually(async () => (await mod.get('/api/neighbourhoods/park-road/follow-requests')).body.requests.length === 3, 10_000, 'its follow request');
    t.equal((await staff.post('/api/admin/domain-blocks', { domain: '127.0.0.2', severity: 'suspend' })).status, 204);
    const hosts = await db.selectFrom('remote_follows').innerJoin('remote_actors', 'remote_actors.id', 'remote_follows.remote_actor_id').select('remote_actors.host').execute();
    t.notOk(hosts.some((h) => h.host.startsWith('127.0.0.2')), 'suspending a server ends its follows');
    t.ok(hosts.length > 0, 'others stay');
    const before = await snapshot(db);
    const refused = await postSigned(`${group}/inbox`, follow(eve, blocked), eve);
    t.equal(refused.status, 403);
    t.match(refused.body, /domain_blocked/);
    t.equal((await postSignedRfc9421(`${a.url}/inbox`, follow(eve, blocked), eve)).status, 403, 'on the shared inbox, RFC 9421 too');
    t.same(await snapshot(db), before, 'nothing of it stored');

    const left = (await mod.get('/api/neighbourhoods/park-road/follow-requests')).body.requests;
    t.equal(left.length, 1, 'only the friendly request is left');
    const gone = requests.find((r: { id: number }) => r.id !== left[0].id);
    t.equal((await mod.post(`/api/neighbourhoods/park-road/follow-requests/${gone.id}`, { decision: 'accept' })).status, 404, 'the suspended server\u2019s request is gone');
    t.equal((await mod.post(`/api/neighbourhoods/park-road/follow-requests/${left[0].id}`, { decision: 'accept' })).status, 200);
    await eventually(() => friendly.inboxPosts('Accept').length, 30_000, 'the Accept to the friendly server');
    // The queue has had its turn; give the other delivery as long again before calling it absent.
    await new Promise((resolve) => setTimeout(resolve, 500));
    t.same(blocked.inboxPosts('Accept'), [], 'nothing delivered to the blocked server');
  });

  await t.test('allowlist mode admits only the listed servers', async (t) => {
    const b = await startInstance(t, await anotherDatabase(t, database), { LIMITED_FEDERATION_MODE: 'true' });
    const owner = await b.client.signUp('owner');
    await b.database.db.updateTable('members').set({ role: 'admin' }).execute();
    await owner.post('/api/neighbourhoods', { handle: 'mill-lane', name: 'Mill Lane', locality: { placeName: 'Hillsborough' } });
    const inbox = `${b.url}/neighbourhoods/mill-lane/inbox`;
    const toMill = (actor: { id: string }, server: RemoteServer) => ({ '@context': AS, id: server.activityId(), type: 'Follow', actor: actor.id, object: `${b.url}/neighbourhoods/mill-lane` });
    t.equal((await postSigned(inbox, toMill(alice, friendly), alice)).status, 403, 'nobody is listed yet');
    t.equal((await owner.post('/api/admin/domain-allows', { domain: '127.0.0.1' })).status, 204);
    t.same((await owner.get('/api/admin/domain-allows')).body.domains, ['127.0.0.1']);
    const accepted = toMill(alice, friendly);
    t.equal((await postSigned(inbox, accepted, alice)).status, 202);
    await eventually(() => friendly.inboxPosts('Accept').some((p) => p.body.object?.id === accepted.id), 30_000, 'the Accept to a listed server');
    t.equal((await postSigned(inbox, toMill(mallory, blocked), mallory)).status, 403, 'an unlisted server is refused');
    t.equal((await owner.delete('/api/admin/domain-allows/127.0.0.1')).status, 204);
    t.equal((await postSigned(inbox, toMill(alice, friendly), alice)).status, 403);
  });

  await t.test('the lists the inbox keeps in memory follow a change made by another process', async (t) => {
    // On PostgreSQL another connection pool, as another process has; on PGlite a write past the domain functions.
    const other = database.url ? await openDatabase({ databaseUrl: database.url, dataDir: 'memory://' }) : db;
    t.teardown(() => (other === db ? undefined : other.destroy()));
    t.equal(await isBlockedHost(db, 'far.example'), false);
    await other.insertInto('domain_blocks').values({ domain: 'far.example', severity: 'suspend' }).execute();
    await eventually(() => isBlockedHost(db, 'news.far.example:8443'), 5000, 'the block obeyed');
    await other.deleteFrom('domain_blocks').where('domain', '=', 'far.example').execute();
    await eventually(async () => !(await isBlockedHost(db, 'far.example')), 5000, 'the lifted block forgotten');
  });
});

t.test('LIMITED_FEDERATION_MODE is a yes or no, off by default', async (t) => {
  t.equal(testConfig().limitedFederation, false);
  t.equal(testConfig({ LIMITED_FEDERATION_MODE: 'true' }).limitedFederation, true);
  t.throws(() => testConfig({ LIMITED_FEDERATION_MODE: 'maybe' }), /LIMITED_FEDERATION_MODE/);
});
