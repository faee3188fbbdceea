// Signed inboxes: what a remote server must get right for us to act on its activities, and what we do
// when it does not. The remote side is a stand-in server on loopback that signs with real keys.
import { eachDatabase } from './helpers.ts';
import { anotherDatabase, collectionIds, startInstance } from './instances.ts';
import { eventually, postSigned, postSignedRfc9421, RemoteServer } from './remote-server.ts';

const AS = 'https://www.w3.org/ns/activitystreams';

eachDatabase('signed inboxes', async (t, database) => {
  const a = await startInstance(t, database);
  const robin = await a.client.signUp('robin');
  await robin.post('/api/neighbourhoods', { handle: 'park-road', name: 'Park Road', locality: { placeName: 'Walkley' } });
  const group = `${a.url}/neighbourhoods/park-road`;
  const inbox = `${group}/inbox`;
  const remote = await RemoteServer.start(t);
  const elsewhere = await RemoteServer.start(t, '127.0.0.2').catch(() => RemoteServer.start(t));
  const alice = await remote.actor('alice');
  const bob = await remote.actor('bob');
  const carol = await remote.actor('carol');
  const dave = await remote.actor('dave');
  const mallory = await elsewhere.actor('mallory');
  const follow = (actor: { id: string }, object = group, id = remote.activityId()) => ({ '@context': AS, id, type: 'Follow', actor: actor.id, object });
  const followers = () => collectionIds(`${group}/followers`);
  const acceptsFor = (id: string) => [...remote.inboxPosts('Accept'), ...elsewhere.inboxPosts('Accept')].filter((post) => post.body.object?.id === id);

  await t.test('a draft-cavage signed Follow is verified, stored and answered with an Accept', async (t) => {
    const activity = follow(alice);
    const response = await postSigned(inbox, activity, alice);
    t.equal(response.status, 202, response.body);
    await eventually(async () => (await followers()).includes(alice.id), 10_000, 'alice among the followers');
    const [accept] = await eventually(() => acceptsFor(activity.id).length && acceptsFor(activity.id), 10_000, 'the Accept');
    t.equal(accept!.body.actor, group);
    t.match(accept!.headers['signature-input'], /keyid="[^"]+\/neighbourhoods\/park-road#main-key"/, 'the Accept is signed (RFC 9421) by the neighbourhood');
    t.equal(accept!.path, '/inbox', 'delivered to the shared inbox');
    t.match(accept!.body.proof, { type: 'DataIntegrityProof', cryptosuite: 'eddsa-jcs-2022', verificationMethod: /park-road#multikey-2$/ }, 'with an integrity proof by its Ed25519 key');

    const replay = await postSigned(inbox, activity, alice);
    t.equal(replay.status, 202, 'a replay is acknowledged');
    // Another follow as a marker: once its Accept is out, a second Accept for the replay would be too.
    const marker = follow(dave);
    t.equal((await postSigned(inbox, marker, dave)).status, 202);
    await eventually(() => acceptsFor(marker.id).length, 10_000, 'the marker Accept');
    t.equal(acceptsFor(activity.id).length, 1, 'the replayed activity was processed once');
  });

  await t.test('hs2019 and RFC 9421 signatures are accepted too', async (t) => {
    t.equal((await postSigned(inbox, follow(bob), bob, { algorithm: 'hs2019' })).status, 202);
    const rfc = await postSignedRfc9421(inbox, follow(carol), carol);
    t.equal(rfc.status, 202, rfc.body);
    await eventually(async () => {
      const ids = await followers();
      return ids.includes(bob.id) && ids.includes(carol.id);
    }, 10_000, 'bob and carol among the followers');
  });

  await t.test('every bad signature is refused with 401 and a reason', async (t) => {
    const before = await followers();
    const refused = async (name: string, response: Promise<{ status: number; body: string }>, reason: RegExp) => {
      const { status, body } = await response;
      t.equal(status, 401, name);
      t.match(JSON.parse(body), { error: 'invalid_signature', message: reason }, name);
    };
    await refused('unsigned', fetch(inbox, { method: 'POST', headers: { 'content-type': 'application/activity+json' }, body: JSON.stringify(follow(mallory)) }).then(async (r) => ({ status: r.status, body: await r.text() })), /no HTTP signature/);
    await refused('tampered body', postSigned(inbox, follow(alice), alice, { sendBody: JSON.stringify(follow(mallory)) }), /does not verify/);
    await refused('only the date signed', postSigned(inbox, follow(alice), alice, { covered: ['date'] }), /must cover/);
    await refused('digest not signed', postSigned(inbox, follow(alice), alice, { covered: ['(request-target)', 'host', 'date'] }), /must cover/);
    await refused('host not signed', postSigned(inbox, follow(alice), alice, { covered: ['(request-target)', 'date', 'digest'] }), /must cover/);
    await refused('tampered body under RFC 9421', postSignedRfc9421(inbox, follow(alice), alice, { sendBody: JSON.stringify(follow(mallory)) }), /does not verify/);
    await refused('RFC 9421 without the target', postSignedRfc9421(inbox, follow(alice), alice, { components: ['@method'] }), /must cover/);
    await refused('stale Date', postSigned(inbox, follow(alice), alice, { date: new Date(Date.now() - 2 * 3600_000) }), /does not verify/);
    await refused('Date in the future', postSigned(inbox, follow(alice), alice, { date: new Date(Date.now() + 2 * 3600_000) }), /does not verify/);
    await refused('unknown key', postSigned(inbox, follow(alice), alice, { keyId: `${remote.origin}/users/ghost#main-key` }), /could not be fetched/);
    await refused('key of another actor', postSigned(inbox, follow(alice), mallory), /signer and the actor do not match/);
    t.same(await followers(), before, 'nobody was added');
  });

  await t.test('a body over the limit is refused before it is read', async (t) => {
    const huge = { ...follow(alice), summary: 'x'.repeat(a.config.bodyLimit) };
    const response = await postSigned(inbox, huge, alice);
    t.equal(response.status, 413);
    t.equal(JSON.parse(response.body).error, 'body_too_large');
  });

  await t.test('an activity type we do not handle is acknowledged and ignored', async (t) => {
    const listen = { '@context': AS, id: remote.activityId(), type: 'Listen', actor: alice.id, object: group };
    t.equal((await postSigned(inbox, listen, alice)).status, 202);
    t.equal((await postSigned(`${a.url}/inbox`, listen, alice)).status, 202, 'on the shared inbox as well');
  });

  await t.test('an embedded object from another origin is not trusted', async (t) => {
    const original = follow(mallory, group, elsewhere.activityId());
    t.equal((await postSigned(inbox, original, mallory)).status, 202);
    await eventually(async () => (await followers()).includes(mallory.id), 10_000, 'mallory among the followers');
    // Mallory's server claims a Follow whose id lives on another server: it must come from there, and it does not.
    const spoofed = { '@context': AS, id: elsewhere.activityId(), type: 'Undo', actor: mallory.id, object: { ...original, id: `${remote.origin}/activities/not-there` } };
    t.equal((await postSigned(inbox, spoofed, mallory)).status, 202);
    const marker = follow(dave, `${a.url}/members/robin`);
    await postSigned(`${a.url}/members/robin/inbox`, marker, dave);
    await eventually(() => acceptsFor(marker.id).length, 10_000, 'the marker Accept');
    t.ok((await followers()).includes(mallory.id), 'the spoofed Undo changed nothing');
    const genuine = { '@context': AS, id: elsewhere.activityId(), type: 'Undo', actor: mallory.id, object: original };
    t.equal((await postSigned(inbox, genuine, mallory)).status, 202);
    await eventually(async () => !(await followers()).includes(mallory.id), 10_000, 'mallory gone from the followers');
  });

  await t.test('a rotated key is fetched again once the cached one fails', async (t) => {
    await alice.rotate();
    const activity = follow(alice, `${a.url}/members/robin`);
    const response = await postSigned(`${a.url}/members/robin/inbox`, activity, alice);
    t.equal(response.status, 202, response.body);
    await eventually(async () => (await collectionIds(`${a.url}/members/robin/followers`)).includes(alice.id), 10_000, 'alice follows robin');
  });

  await t.test('without ALLOW_PRIVATE_ADDRESSES nothing on loopback is fetched', async (t) => {
    const strict = await startInstance(t, await anotherDatabase(t, database), { ALLOW_PRIVATE_ADDRESSES: 'false' });
    const jay = await strict.client.signUp('jay');
    const response = await postSigned(`${strict.url}/members/jay/inbox`, follow(alice, `${strict.url}/members/jay`), alice);
    t.equal(response.status, 401);
    t.match(JSON.parse(response.body).message, /could not be fetched/);
    const lookup = await jay.post('/api/following', { account: `@alice@${new URL(remote.origin).host}` });
    t.equal(lookup.status, 502, 'WebFinger on a private address is refused');
    t.match(lookup.body, { error: 'remote_unreachable', message: /private or local address/ }, 'saying why');
    const byUrl = await jay.post('/api/following', { account: alice.id });
    t.equal(byUrl.status, 404, 'an actor URL on a private address is refused');
  });
});
