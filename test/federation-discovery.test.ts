// Identity and discovery on one instance: actor documents, keys made once and kept, WebFinger,
// host-meta, NodeInfo, and content negotiation that leaves the API and pages alone.
import t from 'tap';
import { loadConfig } from '../server/config.ts';
import { receiveFollow } from '../server/remote-follows/domain.ts';
import { rememberActor } from '../server/remote-actors/domain.ts';
import { eachDatabase, startApp } from './helpers.ts';

const as2 = 'application/activity+json';
const ldProfile = 'application/ld+json; profile="https://www.w3.org/ns/activitystreams"';

t.test('federation settings are validated', async (t) => {
  const defaults = loadConfig({}, '/nonexistent');
  t.match(defaults, { allowPrivateAddresses: false, fetchTimeoutMs: 10_000, fetchMaxBytes: 1024 * 1024, signatureWindowSeconds: 3600, queueLeaseSeconds: 300, queuePollMs: 1000, unreachableAfterFailures: 5, unreachableRetrySeconds: 1800 });
  for (const [name, value] of [['FETCH_TIMEOUT_MS', '10'], ['FETCH_MAX_BYTES', 'lots'], ['SIGNATURE_WINDOW_SECONDS', '0'], ['QUEUE_LEASE_SECONDS', '-5'], ['QUEUE_POLL_MS', '1'], ['UNREACHABLE_AFTER_FAILURES', '0'], ['UNREACHABLE_RETRY_SECONDS', 'soon']]) {
    t.throws(() => loadConfig({ [name!]: value! }, '/nonexistent'), new RegExp(name!), `${name}=${value}`);
  }
});

eachDatabase('discovery', async (t, database) => {
  const { client } = await startApp(t, database);
  const robin = await client.signUp('robin');
  await robin.post('/api/neighbourhoods', {
    handle: 'park-road',
    name: 'Park Road',
    description: 'The **streets** around the park',
    locality: { placeName: 'Walkley, Sheffield', latitude: 53.3925, longitude: -1.4985, radiusMetres: 800 },
  });
  const get = (url: string, accept?: string) => client.request('GET', url, undefined, accept ? { accept } : {});
  const json = (response: { body: unknown }) => (typeof response.body === 'string' ? JSON.parse(response.body) : response.body);

  await t.test('a member is a Person with inbox, outbox, collections, shared inbox and both keys', async (t) => {
    const response = await get('/members/robin', as2);
    t.equal(response.status, 200);
    t.match(response.headers['content-type'], /application\/activity\+json/);
    const person = json(response);
    t.match(person, {
      id: 'http://forum.test/members/robin',
      type: 'Person',
      preferredUsername: 'robin',
      name: 'robin',
      url: 'http://forum.test/members/robin',
      inbox: 'http://forum.test/members/robin/inbox',
      outbox: 'http://forum.test/members/robin/outbox',
      followers: 'http://forum.test/members/robin/followers',
      following: 'http://forum.test/members/robin/following',
      endpoints: { sharedInbox: 'http://forum.test/inbox' },
      publicKey: { id: 'http://forum.test/members/robin#main-key', owner: 'http://forum.test/members/robin', publicKeyPem: /BEGIN PUBLIC KEY/ },
    });
    t.equal(person.assertionMethod.length, 2);
    t.match(person.assertionMethod[1], { type: 'Multikey', controller: person.id, publicKeyMultibase: /^z6Mk/ }, 'an Ed25519 key for integrity proofs');
    const again = json(await get('/members/robin', ldProfile));
    t.equal(again.publicKey.publicKeyPem, person.publicKey.publicKeyPem, 'the keys are made once and kept');
    const rows = await database.db.selectFrom('actor_keys').select(['actor', 'algorithm']).orderBy('algorithm').execute();
    t.same(rows.filter((r) => r.actor.startsWith('member:')).map((r) => r.algorithm), ['ed25519', 'rsa']);
  });

  await t.test('a neighbourhood is a Group with its locality as a Place and its moderators', async (t) => {
    const group = json(await get('/neighbourhoods/park-road', ldProfile));
    t.match(group, {
      type: 'Group',
      preferredUsername: 'park-road',
      name: 'Park Road',
      summary: '<p>The <strong>streets</strong> around the park</p>\n',
      location: { type: 'Place', name: 'Walkley, Sheffield', latitude: 53.3925, longitude: -1.4985, radius: 800, units: 'm' },
      attributedTo: 'http://forum.test/neighbourhoods/park-road/moderators',
      manuallyApprovesFollowers: false,
    });
    const moderators = json(await get('/neighbourhoods/park-road/moderators', as2));
    t.match(moderators, { type: 'Collection', totalItems: 1 });
    const outbox = json(await get('/neighbourhoods/park-road/outbox', as2));
    t.match(outbox, { type: 'OrderedCollection', totalItems: 0 });
    const followers = json(await get('/neighbourhoods/park-road/followers', as2));
    t.match(followers, { type: 'OrderedCollection', totalItems: 0, first: 'http://forum.test/neighbourhoods/park-road/followers?cursor=0' });
  });

  await t.test('followers are paged, oldest first, and counted', async (t) => {
    const neighbourhood = await database.db.selectFrom('neighbourhoods').select('id').where('handle', '=', 'park-road').executeTakeFirstOrThrow();
    for (let i = 0; i < 55; i++) {
      const uri = `https://far.example/users/f${i}`;
      const actor = await rememberActor(database.db, { uri, host: 'far.example', handle: `f${i}@far.example`, type: 'Person', name: `F${i}`, inbox: `${uri}/inbox`, shared_inbox: 'https://far.example/inbox', url: null });
      await receiveFollow(database.db, `neighbourhood:${neighbourhood.id}`, actor.id, `https://far.example/follows/${i}`);
    }
    const collection = json(await get('/neighbourhoods/park-road/followers', as2));
    t.equal(collection.totalItems, 55);
    const first = json(await get(collection.first.replace('http://forum.test', ''), as2));
    t.equal(first.orderedItems.length, 50);
    t.equal(first.orderedItems[0], 'https://far.example/users/f0');
    const second = json(await get(first.next.replace('http://forum.test', ''), as2));
    t.same(second.orderedItems, ['f50', 'f51', 'f52', 'f53', 'f54'].map((f) => `https://far.example/users/${f}`));
    t.notOk(second.next, 'the last page has no next');
  });

  await t.test('the instance has an Application actor for signed fetches', async (t) => {
    const actor = json(await get('/actor', as2));
    t.match(actor, { id: 'http://forum.test/actor', type: 'Application', preferredUsername: 'forum.test', inbox: 'http://forum.test/actor/inbox', publicKey: { id: 'http://forum.test/actor#main-key' } });
  });

  await t.test('WebFinger finds members and neighbourhoods, with self and profile-page links', async (t) => {
    const instance = json(await get('/.well-known/webfinger?resource=acct:forum.test@forum.test'));
    t.equal(instance.links[0].href, 'http://forum.test/actor', 'the instance actor by its host name');
    for (const name of ['robin', 'park-road', 'ROBIN']) {
      const response = await get(`/.well-known/webfinger?resource=acct:${name}@forum.test`);
      t.equal(response.status, 200, name);
      const jrd = json(response);
      const path = name.toLowerCase() === 'robin' ? 'members/robin' : 'neighbourhoods/park-road';
      t.match(jrd.links, [
        { rel: 'self', type: as2, href: `http://forum.test/${path}` },
        { rel: 'http://webfinger.net/rel/profile-page', href: `http://forum.test/${path}` },
      ], name);
    }
    t.equal((await get('/.well-known/webfinger?resource=acct:nobody@forum.test')).status, 404);
    t.equal((await get('/.well-known/webfinger?resource=acct:robin@elsewhere.test')).status, 404);
    t.equal((await get('/.well-known/webfinger')).status, 400);
  });

  await t.test('host-meta and NodeInfo describe the instance', async (t) => {
    const hostMeta = await get('/.well-known/host-meta');
    t.match(hostMeta.body, /template="http:\/\/forum\.test\/\.well-known\/webfinger\?resource=\{uri\}"/);
    const links = json(await get('/.well-known/nodeinfo'));
    t.equal(links.links[0].href, 'http://forum.test/nodeinfo/2.1');
    const info = json(await get('/nodeinfo/2.1'));
    t.match(info, { version: '2.1', software: { name: 'square-mile', version: '0.1.0' }, protocols: ['activitypub'], openRegistrations: true, usage: { users: { total: 1 }, localPosts: 0, localComments: 0 } });
  });

  await t.test('the same URL gives AS2 to servers and falls through to the pages for browsers', async (t) => {
    for (const [url, text] of [['/members/robin', 'robin'], ['/neighbourhoods/park-road', 'Park Road']]) {
      const html = await get(url!, 'text/html,application/xhtml+xml;q=0.9,*/*;q=0.8');
      t.equal(html.status, 200, `${url} is a page for browsers`);
      t.match(String(html.headers['content-type']), /^text\/html/, 'a browser never gets AS2');
      t.match(String(html.body), text!);
      for (const accept of [as2, ldProfile]) {
        const document = await get(url!, accept);
        t.equal(document.status, 200);
        t.equal(json(document).id, `http://forum.test${url}`, `the same URL is the actor for ${accept}`);
      }
    }
    t.equal((await get('/members/nobody', as2)).status, 404, 'an unknown actor is 404');
    t.equal((await get('/api/neighbourhoods/park-road', as2)).status, 200, 'the API is not federation\u2019s');
    await client.signUp('gone');
    await database.db.updateTable('members').set({ status: 'suspended' }).where('username', '=', 'gone').execute();
    t.equal((await get('/members/gone', as2)).status, 404, 'a suspended member is not served');
    t.equal((await client.request('POST', '/members/nobody/inbox', '{}', { 'content-type': as2 })).status, 404, 'no inbox for an unknown actor');
  });
});
