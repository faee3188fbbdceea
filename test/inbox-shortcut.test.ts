// The shared inbox's short path (federation/inbox-shortcut.ts). Once Fedify has fetched a sender's key, a
// draft-cavage signed activity is checked against the key kept in memory and queued without the JSON-LD
// work; the instance's own worker then handles what was queued. Everything the short path cannot vouch for
// is left to Fedify (which refuses it with a reason: test/federation-inbox.test.ts), so here each kind of
// bad request must be answered "not mine", never queued.
import { DatabaseJobQueue, DatabaseKvStore } from '../server/queue/domain.ts';
import { InboxShortcut } from '../federation/inbox-shortcut.ts';
import { eachDatabase } from './helpers.ts';
import { collectionIds, getJson, startInstance } from './instances.ts';
import { eventually, postSigned, queueDrained, RemoteServer, type SignOptions, signDraftCavage, signRfc9421 } from './remote-server.ts';

const AS = 'https://www.w3.org/ns/activitystreams';

eachDatabase('inbox shortcut', async (t, database) => {
  const a = await startInstance(t, database);
  const robin = await a.client.signUp('robin');
  await robin.post('/api/neighbourhoods', { handle: 'park-road', name: 'Park Road', locality: { placeName: 'Walkley' } });
  const group = `${a.url}/neighbourhoods/park-road`;
  const member = `${a.url}/members/robin`;
  const sharedInbox = `${a.url}/inbox`;
  const remote = await RemoteServer.start(t);
  const alice = await remote.actor('alice');
  const mallory = await remote.actor('mallory');
  const ghost = await remote.actor('ghost');
  const follow = (actor: { id: string }, object: string) => ({ '@context': AS, id: remote.activityId(), type: 'Follow', actor: actor.id, object });

  // Fedify's full path fetches and caches alice's and mallory's keys; ghost never sends through it.
  for (const actor of [alice, mallory]) t.equal((await postSigned(sharedInbox, follow(actor, group), actor)).status, 202);
  await eventually(async () => (await collectionIds(`${group}/followers`)).length === 2, 10_000, 'both follows handled');
  await queueDrained(database.db);

  const queue = new DatabaseJobQueue(database.db, { leaseMs: 60_000, pollMs: 1000, workers: 1, longestJobMs: 60_000 });
  const kv = new DatabaseKvStore(database.db);
  const shortcut = new InboxShortcut({ kv, queue, origin: new URL(a.url), windowSeconds: a.config.signatureWindowSeconds });
  const admit = async (activity: Record<string, unknown>, actor = alice, options: SignOptions & { path?: string; body?: string; extraHeaders?: Record<string, string> } = {}) => {
    const url = `${a.url}${options.path ?? '/inbox'}`;
    const { headers, body } = await signDraftCavage(url, activity, actor, options);
    const sent = options.body ?? body;
    return shortcut.admit(new URL(url).pathname, { ...headers, ...options.extraHeaders }, Buffer.from(sent), JSON.parse(sent));
  };

  // Fedify's RFC 9421 signer, as every Square Mile instance sends: the headers as a Node request has them.
  const admitRfc9421 = async (activity: Record<string, unknown>, actor = alice, options: { components?: string[]; body?: string } = {}) => {
    const signed = await signRfc9421(sharedInbox, activity, actor, options.components);
    const body = options.body ?? (await signed.text());
    return shortcut.admit('/inbox', Object.fromEntries(signed.headers), Buffer.from(body), JSON.parse(body));
  };

  await t.test('an activity signed by a known key is queued, and the worker handles it as Fedify would', async (t) => {
    const activity = follow(alice, member);
    t.equal(await admit(activity), true, 'taken by the short path');
    await eventually(async () => (await collectionIds(`${member}/followers`)).includes(alice.id), 10_000, 'alice follows robin');
    await eventually(() => remote.inboxPosts('Accept').some((post) => post.body.object?.id === activity.id), 10_000, 'the Accept');
    t.equal(await admit(follow(alice, member), alice, { algorithm: 'hs2019' }), true, 'hs2019 names the same RSA check');
    // Linked Data signatures and integrity proofs (Mastodon signs public posts; every Square Mile instance
    // adds a proof) are not needed where the HTTP signature verifies, as on Fedify's own path.
    const ldSigned = { ...follow(alice, member), signature: { type: 'RsaSignature2017', creator: alice.keyId, created: new Date().toISOString(), signatureValue: 'bm90IGNoZWNrZWQ=' } };
    t.equal(await admit(ldSigned), true, 'beside a Linked Data signature');
    const proved = { ...follow(alice, member), proof: { type: 'DataIntegrityProof', cryptosuite: 'eddsa-jcs-2022', verificationMethod: `${alice.id}#ed25519-key`, proofPurpose: 'assertionMethod', proofValue: 'z58DAdFfa9SkqZMVPxAQpic7ndSayn1PzZs6ZjWp1CktyGesjuTSwRdoWhAfGFCF5bppETSTojQCrfFPP2oumHKtz' } };
    t.equal(await admit(proved), true, 'beside an integrity proof');
    await eventually(() => [ldSigned, proved].every((sent) => remote.inboxPosts('Accept').some((post) => post.body.object?.id === sent.id)), 10_000, 'both handled');
    const rfc = follow(alice, member);
    t.equal(await admitRfc9421(rfc), true, 'an RFC 9421 signature as Fedify makes it');
    await eventually(() => remote.inboxPosts('Accept').some((post) => post.body.object?.id === rfc.id), 10_000, 'the Accept for the RFC 9421 one');
    await queueDrained(database.db);
  });

  await t.test('whatever it cannot vouch for is left to Fedify, and nothing is queued', async (t) => {
    const depth = (await queue.getDepth()).queued;
    const activity = follow(alice, member);
    const cases: [string, Promise<boolean>][] = [
      ['a key Fedify has not fetched', admit(follow(ghost, member), ghost)],
      ['a tampered body', admit(activity, alice, { body: JSON.stringify(follow(mallory, member)) })],
      ['another actor\u2019s key', admit(follow(alice, member), mallory)],
      ['a stale Date', admit(activity, alice, { date: new Date(Date.now() - 2 * 3600_000) })],
      ['a Date in the future', admit(activity, alice, { date: new Date(Date.now() + 2 * 3600_000) })],
      ['a signature without the digest', admit(activity, alice, { covered: ['(request-target)', 'host', 'date'] })],
      ['a signature without the host', admit(activity, alice, { covered: ['(request-target)', 'date', 'digest'] })],
      ['an algorithm it does not check', admit(activity, alice, { algorithm: 'ed25519' })],
      ['a personal inbox', admit(activity, alice, { path: '/members/robin/inbox' })],
      ['a draft-cavage signature with an RFC 9421 input alongside', admit(activity, alice, { extraHeaders: { 'signature-input': 'sig1=("@method");keyid="x"' } })],
      ['RFC 9421 over the method alone', admitRfc9421(activity, alice, { components: ['@method'] })],
      ['RFC 9421 without the target', admitRfc9421(activity, alice, { components: ['@method', '@authority', 'date'] })],
      ['RFC 9421 with a tampered body', admitRfc9421(activity, alice, { body: JSON.stringify(follow(mallory, member)) })],
      ['RFC 9421 with another actor\u2019s key', admitRfc9421(follow(alice, member), mallory)],
      ['no JSON-LD context', admit({ id: remote.activityId(), type: 'Follow', actor: alice.id, object: member })],
      ['no actor', admit({ '@context': AS, id: remote.activityId(), type: 'Follow', object: member })],
      ['text the database will not store (a NUL)', admit({ ...activity, summary: 'a\u0000b' })],
    ];
    for (const [name, admitted] of cases) t.equal(await admitted, false, name);
    t.equal((await queue.getDepth()).queued, depth, 'nothing was queued');
  });

  await t.test('a key that stops verifying is read again from the store, so a rotation is picked up', async (t) => {
    await alice.rotate();
    t.equal(await admit(follow(alice, member)), false, 'the new signature does not verify against the old key');
    // Fedify's path fetches the new key, so the sender is not refused meanwhile.
    t.equal((await postSigned(sharedInbox, follow(alice, group), alice)).status, 202);
    // Once the store holds the new key (this test's store stands for another process, whose read cache
    // would lapse), the short path uses it.
    const { publicKey } = await getJson(alice.id);
    await kv.set(['_fedify', 'publicKey', alice.keyId], { '@context': 'https://w3id.org/security/v1', type: 'CryptographicKey', ...publicKey });
    t.equal(await admit(follow(alice, member)), true, 'the new key is used');
    await queueDrained(database.db);
  });
});
