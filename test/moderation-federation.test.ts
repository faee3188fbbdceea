// Moderation across three instances on loopback: a neighbourhood on B, followed from A and C. B's
// moderator locks, pins, bans and unbans, and every server honours it; a member on A appointed moderator
// of B's neighbourhood removes a post from A and it goes everywhere; B's moderator restores it. Someone
// who moderates nothing, sending each action to B's group, is refused and nothing changes.
import t from 'tap';
import { eachDatabase, snapshot } from './helpers.ts';
import { anotherDatabase, collectionIds, startInstance } from './instances.ts';
import { eventually, postSigned, queueDrained, RemoteServer } from './remote-server.ts';

// Three instances and two databases, round trip after round trip: longer than the usual five minutes
// on a busy machine (PGlite, three in one process, is the slow half).
t.setTimeout(900_000);

eachDatabase('moderation federates across three instances', async (t, database) => {
  const [a, b, c] = [
    await startInstance(t, database),
    await startInstance(t, await anotherDatabase(t, database)),
    await startInstance(t, await anotherDatabase(t, database)),
  ];
  const hostOf = (url: string) => new URL(url).host;
  const bea = await b.client.signUp('bea');
  await bea.post('/api/neighbourhoods', { handle: 'market', name: 'Market Street', locality: { placeName: 'Sharrow' } });
  const market = `market@${hostOf(b.url)}`;
  const group = `${b.url}/neighbourhoods/market`;
  const ann = await a.client.signUp('ann');
  const cal = await c.client.signUp('cal');
  for (const member of [ann, cal]) t.equal((await member.post('/api/follows', { neighbourhood: `@${market}` })).status, 201);
  await eventually(async () => (await collectionIds(`${group}/followers`)).length === 2, 30_000, 'both followers on B');

  const path = `/api/neighbourhoods/${encodeURIComponent(market)}/threads`;
  const listed = async (client: typeof ann, title: string) => (await client.get(path)).body.threads.find((row: any) => row.title === title);
  const onB = async (title: string) => (await bea.get('/api/neighbourhoods/market/threads')).body.threads.find((row: any) => row.title === title);
  const annThread = (await ann.post(path, { kind: 'discussion', title: 'Stall swap', body: 'Anyone want to share a stall?' })).body.thread;
  const calThread = (await cal.post(path, { kind: 'discussion', title: 'Loud music', body: 'Every night!' })).body.thread;
  const swapOnB = await eventually(() => onB('Stall swap'), 30_000, 'the thread from A on B');
  const musicOnB = await eventually(() => onB('Loud music'), 30_000, 'the thread from C on B');
  const swapOnC = await eventually(() => listed(cal, 'Stall swap'), 30_000, 'the thread from A on C');
  const musicOnA = await eventually(() => listed(ann, 'Loud music'), 30_000, 'the thread from C on A');

  await t.test('someone who moderates nothing is refused, whatever they send to the group', async (t) => {
    const remote = await RemoteServer.start(t);
    const mallory = await remote.actor('mallory');
    const thread = `${a.url}/threads/${annThread.id}`;
    const actions = [
      { type: 'Delete', object: thread },
      { type: 'Lock', object: thread },
      { type: 'Add', object: thread, target: `${group}/featured` },
      { type: 'Add', object: mallory.id, target: `${group}/moderators` },
      { type: 'Block', object: `${a.url}/members/ann`, target: group, removeData: true },
    ];
    const unchanged = async () => {
      const { members: _, remote_actors: __, ...rest } = (await snapshot(b.app.db)) as Record<string, unknown>;
      return rest;
    };
    const before = await unchanged();
    for (const action of actions) {
      const activity = { '@context': 'https://www.w3.org/ns/activitystreams', id: remote.activityId(), actor: mallory.id, to: ['https://www.w3.org/ns/activitystreams#Public'], cc: [group], audience: group, ...action };
      t.equal((await postSigned(`${group}/inbox`, activity, mallory)).status, 202, `${action.type} is taken in`);
    }
    // Locally, on C, the API refuses a member who is no moderator there.
    t.equal((await cal.post(`/api/threads/${swapOnC.id}/lock`, {})).status, 403, 'a non-moderator is refused locally');
    // Handling is asynchronous: give the queue time, then nothing has changed on B.
    await queueDrained(b.app.db);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    t.same(await unchanged(), before, 'threads, memberships, bans and the log unchanged on B');
    t.same(await collectionIds(`${group}/featured`), [], 'nothing featured');
  });

  await t.test('a lock on B stops replies from A, and its undo lets them in again', async (t) => {
    t.equal((await bea.post(`/api/threads/${swapOnB.id}/lock`, { reason: 'Heated' })).status, 204);
    await eventually(async () => (await ann.get(`/api/threads/${annThread.id}`)).body.thread.locked, 30_000, 'the lock on A');
    const refused = await ann.post(`/api/threads/${annThread.id}/replies`, { body: 'One more thing' });
    t.equal(refused.status, 403, 'a reply on A is refused');
    t.equal(refused.body.error, 'thread_locked');
    await eventually(async () => (await cal.get(`/api/threads/${swapOnC.id}`)).body.thread.locked, 30_000, 'the lock on C');
    t.equal((await bea.post(`/api/threads/${swapOnB.id}/unlock`, {})).status, 204);
    await eventually(async () => !(await ann.get(`/api/threads/${annThread.id}`)).body.thread.locked, 30_000, 'the unlock on A');
  });

  await t.test('a pin on B is in its featured collection and shows on C', async (t) => {
    t.equal((await bea.post(`/api/threads/${swapOnB.id}/pin`, {})).status, 204);
    t.same(await collectionIds(`${group}/featured`), [`${a.url}/threads/${annThread.id}`], 'B\u2019s featured collection');
    await eventually(async () => (await cal.get(`/api/threads/${swapOnC.id}`)).body.thread.pinned, 30_000, 'the pin on C');
    t.equal((await cal.get(path)).body.threads[0].title, 'Stall swap', 'first in the list on C');
    t.equal((await bea.post(`/api/threads/${swapOnB.id}/unpin`, {})).status, 204);
    await eventually(async () => !(await cal.get(`/api/threads/${swapOnC.id}`)).body.thread.pinned, 30_000, 'the unpin on C');
  });

  await t.test('a ban on B of a member of A holds on A and on B, until lifted', async (t) => {
    const annOnB = `ann@${hostOf(a.url)}`;
    const until = new Date(Date.now() + 86_400_000).toISOString();
    t.equal((await bea.post('/api/neighbourhoods/market/bans', { username: annOnB, reason: 'Spam', expiresAt: until })).status, 204);
    const banned = await eventually(async () => {
      const response = await ann.post(path, { kind: 'discussion', title: 'Still here', body: 'Hello?' });
      return response.status === 403 && response.body;
    }, 30_000, 'the ban on A');
    t.equal(banned.error, 'banned', 'A refuses her post in the neighbourhood on B');
    t.equal((await bea.delete(`/api/neighbourhoods/market/bans/${encodeURIComponent(annOnB)}`)).status, 204);
    await eventually(async () => (await ann.post(path, { kind: 'discussion', title: 'Back again', body: 'Hello!' })).status === 201, 30_000, 'the lifted ban on A');
    await eventually(() => onB('Back again'), 30_000, 'her post on B once the ban is lifted');
  });

  await t.test('a member on A appointed moderator on B removes a post from A; it goes everywhere and B restores it', async (t) => {
    t.equal((await bea.request('PUT', `/api/neighbourhoods/market/moderators/${encodeURIComponent(`ann@${hostOf(a.url)}`)}`, {})).status, 204);
    t.ok((await collectionIds(`${group}/moderators`)).includes(`${a.url}/members/ann`), 'in B\u2019s moderators collection by her id on A');
    await eventually(async () => (await ann.post(`/api/threads/${musicOnA.id}/remove`, { reason: 'Off topic' })).status === 204, 30_000, 'ann a moderator on A');
    await eventually(async () => (await bea.get(`/api/threads/${musicOnB.id}`)).status === 404, 30_000, 'the removal on B');
    await eventually(async () => (await cal.get(`/api/threads/${calThread.id}`)).status === 404, 30_000, 'the removal on C');
    const logged = (await bea.get('/api/neighbourhoods/market/moderation-log')).body.entries.find((e: any) => e.action === 'remove_thread');
    t.equal(logged.moderator, `ann@${hostOf(a.url)}`, 'in B\u2019s log as hers');
    t.equal(logged.reason, 'Off topic');
    t.equal((await bea.post(`/api/threads/${musicOnB.id}/restore`, {})).status, 204);
    await eventually(async () => (await cal.get(`/api/threads/${calThread.id}`)).status === 200, 30_000, 'restored on C');
    await eventually(async () => (await ann.get(`/api/threads/${musicOnA.id}`)).status === 200, 30_000, 'restored on A');
  });
});
