// The short path for deliveries (federation/delivery-shortcut.ts). A neighbourhood with followers on five
// servers accepts their Follows and announces new threads through a fan-out job: the deliveries these jobs
// make are sent at once, never stored, and their signatures verify with Fedify's own verifier, in RFC 9421
// and, for a server that refuses RFC 9421, in draft-cavage. A delivery that fails is stored as Fedify
// queued it, due after the retry policy's first delay (or as long as a 429's Retry-After asks), and
// delivered by Fedify then; a server with failures on record is left to Fedify; deliveries queued by a
// web request are only stored.
import { verifyRequest } from '@fedify/fedify';
import { getDocumentLoader } from '@fedify/vocab-runtime';
import { sql } from 'kysely';
import { DatabaseKvStore } from '../server/queue/domain.ts';
import { eachDatabase } from './helpers.ts';
import { collectionIds, startInstance } from './instances.ts';
import { type Delivery, eventually, type InboxAnswer, postSigned, queueDrained, RemoteServer } from './remote-server.ts';

const AS = 'https://www.w3.org/ns/activitystreams';
const loader = getDocumentLoader({ allowPrivateAddress: true });

/** The key that signed a delivery, by Fedify's verifier (both specs), or null. */
async function signer(remote: RemoteServer, delivery: Delivery): Promise<string | null> {
  const headers = Object.entries(delivery.headers).filter(([name, value]) => typeof value === 'string' && !['connection', 'content-length', 'transfer-encoding'].includes(name));
  const request = new Request(`${remote.origin}${delivery.path}`, { method: 'POST', headers: headers as [string, string][], body: delivery.text });
  const key = await verifyRequest(request, { documentLoader: loader, contextLoader: loader });
  return key?.id?.href ?? null;
}

eachDatabase('delivery shortcut', async (t, database) => {
  const a = await startInstance(t, database);
  const robin = await a.client.signUp('robin');
  await robin.post('/api/neighbourhoods', { handle: 'park-road', name: 'Park Road', locality: { placeName: 'Walkley' } });
  const group = `${a.url}/neighbourhoods/park-road`;
  // Every delivery stored as a job is noted, so a test can tell which were sent without being stored.
  await sql`create table stored_deliveries (inbox text, type text, due_in_ms double precision)`.execute(database.db);
  await sql`create function note_delivery() returns trigger language plpgsql as $$
    begin
      if new.message->>'type' = 'outbox' then
        insert into stored_deliveries values (new.message->>'inbox', new.message->>'activityType', extract(epoch from new.run_at - now()) * 1000);
      end if;
      return new;
    end $$`.execute(database.db);
  await sql`create trigger note_delivery after insert on federation_jobs for each row execute function note_delivery()`.execute(database.db);
  const storedRows = async (type: string) => (await sql<{ inbox: string; due_in_ms: number }>`select inbox, due_in_ms from stored_deliveries where type = ${`${AS}#${type}`}`.execute(database.db)).rows;
  const stored = async (type: string) => (await storedRows(type)).map((row) => row.inbox);

  // Five servers (a fan-out takes five inboxes or more), one follower on each. The last refuses RFC 9421
  // signatures, as Mastodon did before 4.5, so Fedify falls back to draft-cavage there and remembers it.
  const remotes = await Promise.all(Array.from({ length: 5 }, () => RemoteServer.start(t)));
  const [, , , failing, cavageOnly] = remotes as [RemoteServer, RemoteServer, RemoteServer, RemoteServer, RemoteServer];
  cavageOnly.inbox('/inbox', (req) => (req.headers['signature-input'] ? 401 : 202));
  let failingAnswer: InboxAnswer = 202;
  let failingAsked = 0;
  failing.inbox('/inbox', () => {
    failingAsked++;
    return failingAnswer;
  });
  const followers = await Promise.all(remotes.map((remote) => remote.actor('neighbour')));
  for (const [i, follower] of followers.entries()) {
    const status = (await postSigned(`${a.url}/inbox`, { '@context': AS, id: remotes[i]!.activityId(), type: 'Follow', actor: follower.id, object: group }, follower)).status;
    t.equal(status, 202);
  }
  await eventually(async () => (await collectionIds(`${group}/followers`)).length === 5, 10_000, 'five followers');
  await eventually(() => remotes.every((remote) => remote.inboxPosts('Accept').length === 1), 10_000, 'an Accept on each server');
  await queueDrained(database.db);

  const newThread = async (title: string) => {
    const { status } = await robin.post('/api/neighbourhoods/park-road/threads', { kind: 'discussion', title, body: 'Bring gloves.' });
    t.equal(status, 201);
  };
  const announcesOf = (remote: RemoteServer, title: string) => remote.inboxPosts('Announce').filter((d) => d.body.object?.object?.name === title || d.body.object?.name === title);

  await t.test('the Accepts go at once, each server asked as Fedify asks it, and its spec is remembered for Fedify', async (t) => {
    t.same(await stored('Accept'), [], 'no Accept was stored');
    const kv = new DatabaseKvStore(database.db);
    for (const [i, remote] of remotes.entries()) {
      t.equal(await signer(remote, remote.inboxPosts('Accept')[0]!), `${group}#main-key`, `server ${i + 1}: the signature verifies`);
      t.equal(await kv.get(['_fedify', 'httpMessageSignaturesSpec', remote.origin]), remote === cavageOnly ? 'draft-cavage-http-signatures-12' : 'rfc9421');
    }
  });

  await t.test('a fan-out then delivers at once, signed in each server\'s spec, and stores nothing', async (t) => {
    await newThread('Litter pick on Saturday');
    await eventually(() => remotes.every((remote) => announcesOf(remote, 'Litter pick on Saturday').length >= 1), 10_000, 'the announcement on every server');
    await queueDrained(database.db);
    t.same(await stored('Announce'), [], 'no delivery was stored');
    for (const [i, remote] of remotes.entries()) {
      const [delivery] = announcesOf(remote, 'Litter pick on Saturday');
      t.equal(await signer(remote, delivery!), `${group}#main-key`, `server ${i + 1}: the signature verifies`);
      t.equal(Boolean(delivery!.headers['signature-input']), remote !== cavageOnly, remote === cavageOnly ? 'draft-cavage where RFC 9421 was refused' : 'RFC 9421');
    }
  });

  await t.test('a delivery that fails is stored as Fedify queued it, due after the first retry delay, and Fedify delivers it then', async (t) => {
    await sql`delete from stored_deliveries`.execute(database.db);
    failingAnswer = 503;
    await newThread('Bulb swap at the hall');
    await eventually(() => remotes.filter((remote) => remote !== failing).every((remote) => announcesOf(remote, 'Bulb swap at the hall').length >= 1), 10_000, 'delivered to the others');
    await eventually(async () => (await stored('Announce')).length >= 1, 10_000, 'the failed delivery stored');
    const rows = await storedRows('Announce');
    t.ok(rows.every((row) => row.inbox === `${failing.origin}/inbox`), 'only what failed was stored');
    // The policy's first delay is one second, times 1 to 2 for jitter: not tried again at once.
    t.ok(rows.every((row) => row.due_in_ms >= 1000 && row.due_in_ms <= 2000), `due in ${rows.map((row) => Math.round(row.due_in_ms)).join(', ')} ms`);
    failingAnswer = 202;
    await eventually(() => announcesOf(failing, 'Bulb swap at the hall').length >= 1, 30_000, 'delivered once the server is back');
    t.equal(await signer(failing, announcesOf(failing, 'Bulb swap at the hall')[0]!), `${group}#main-key`);
    await queueDrained(database.db, 60_000);
  });

  await t.test('a server that answers 429 with Retry-After is asked again only after that long', async (t) => {
    await sql`delete from stored_deliveries`.execute(database.db);
    failingAnswer = { status: 429, headers: { 'retry-after': '4' } };
    failingAsked = 0;
    await newThread('Seed swap');
    // A new thread is announced twice (wrapped for group followers, boosted for microblogs).
    await eventually(async () => (await stored('Announce')).length >= 2, 10_000, 'both refused deliveries stored');
    const rows = await storedRows('Announce');
    t.ok(rows.every((row) => row.due_in_ms >= 3500 && row.due_in_ms <= 4500), `due in ${rows.map((row) => Math.round(row.due_in_ms)).join(', ')} ms`);
    await new Promise((resolve) => setTimeout(resolve, 2000));
    t.equal(failingAsked, 2, 'asked once for each in the first two seconds');
    failingAnswer = 202;
    await eventually(() => announcesOf(failing, 'Seed swap').length >= 1, 30_000, 'delivered after the wait');
    await queueDrained(database.db, 60_000);
  });

  await t.test('a server with failures on record is left to Fedify', async (t) => {
    await sql`delete from stored_deliveries`.execute(database.db);
    // As Fedify's circuit breaker records a failure (the workers read it again within two seconds).
    const host = new URL(remotes[1]!.origin).host;
    await new DatabaseKvStore(database.db).set(['_fedify', 'circuit', host], { state: 'closed', failures: [new Date().toISOString()] });
    await new Promise((resolve) => setTimeout(resolve, 2100));
    await newThread('Choir practice');
    await eventually(() => remotes.every((remote) => announcesOf(remote, 'Choir practice').length >= 1), 10_000, 'delivered everywhere');
    t.ok((await stored('Announce')).length >= 1, 'stored');
    t.ok((await stored('Announce')).every((inbox) => inbox === `${remotes[1]!.origin}/inbox`), 'only for that server');
    await queueDrained(database.db);
  });

  await t.test('what a web request queues is stored, not sent from the request', async (t) => {
    const friend = await remotes[0]!.actor('friend');
    const { status } = await robin.post('/api/following', { account: friend.id });
    t.equal(status, 202);
    await eventually(() => remotes[0]!.inboxPosts('Follow').length === 1, 10_000, 'the Follow delivered');
    t.same(await stored('Follow'), [`${remotes[0]!.origin}/inbox`], 'stored first, then delivered by a worker');
  });
});
