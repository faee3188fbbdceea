// Square Mile instances on loopback: a neighbourhood on B, followed from A and C. A member on A posts in
// it, C sees it; a reply from C reaches A; D joins late and backfills the thread; a moderator's removal on
// B reaches everyone.
import { eachDatabase } from './helpers.ts';
import { anotherDatabase, collectionIds, startInstance } from './instances.ts';
import { eventually } from './remote-server.ts';

eachDatabase('three instances share a neighbourhood', async (t, database) => {
  const [a, b, c] = [
    await startInstance(t, database),
    await startInstance(t, await anotherDatabase(t, database)),
    await startInstance(t, await anotherDatabase(t, database)),
  ];
  const bea = await b.client.signUp('bea');
  await bea.post('/api/neighbourhoods', { handle: 'market', name: 'Market Street', locality: { placeName: 'Sharrow' } });
  const market = `market@${new URL(b.url).host}`;
  const ann = await a.client.signUp('ann');
  const cal = await c.client.signUp('cal');

  for (const member of [ann, cal]) {
    const followed = await member.post('/api/follows', { neighbourhood: `@${market}` });
    t.equal(followed.status, 201, 'a remote neighbourhood is followed by its handle');
    t.equal(followed.body.neighbourhood.name, 'Market Street');
  }
  await eventually(async () => (await collectionIds(`${b.url}/neighbourhoods/market/followers`)).length === 2, 30_000, 'both followers on B');

  const path = `/api/neighbourhoods/${encodeURIComponent(market)}/threads`;
  const posted = await ann.post(path, { kind: 'discussion', title: 'Stall swap', body: 'Anyone want to share a stall?' });
  t.equal(posted.status, 201, 'a member on A posts in the neighbourhood on B');
  const onB = await eventually(async () => (await bea.get('/api/neighbourhoods/market/threads')).body.threads.find((row: any) => row.title === 'Stall swap'), 30_000, 'the thread on B');
  t.equal(onB.author.username, `ann@${new URL(a.url).host}`, 'by ann, as name@host');
  const onC = await eventually(async () => (await cal.get(path)).body.threads.find((row: any) => row.title === 'Stall swap'), 30_000, 'the thread on C');
  const home = await cal.get('/api/home');
  t.ok(JSON.stringify(home.body).includes('Stall swap'), 'in the home feed of the follower on C');

  t.equal((await cal.post(`/api/threads/${onC.id}/replies`, { body: 'Count me in' })).status, 201);
  await eventually(async () => (await bea.get(`/api/threads/${onB.id}`)).body.replies.some((r: any) => r.body.includes('Count me in')), 30_000, 'the reply on B');
  await eventually(async () => (await ann.get(`/api/threads/${posted.body.thread.id}`)).body.replies.some((r: any) => r.body.includes('Count me in')), 30_000, 'the reply from C on A');

  // A fourth instance joins late: the next reply brings it the whole thread, from its context.
  const d = await startInstance(t, await anotherDatabase(t, database));
  const dee = await d.client.signUp('dee');
  t.equal((await dee.post('/api/follows', { neighbourhood: `@${market}` })).status, 201);
  await eventually(async () => (await collectionIds(`${b.url}/neighbourhoods/market/followers`)).length === 3, 30_000, 'the late follower on B');
  t.equal((await ann.post(`/api/threads/${posted.body.thread.id}/replies`, { body: 'See you Saturday' })).status, 201);
  const onD = await eventually(async () => (await dee.get(path)).body.threads.find((row: any) => row.title === 'Stall swap'), 30_000, 'the thread on D');
  const filled = await eventually(async () => {
    const { replies } = (await dee.get(`/api/threads/${onD.id}`)).body;
    return replies.length === 2 && replies;
  }, 30_000, 'both replies on D');
  t.same(filled.map((r: any) => r.body).sort(), ['Count me in', 'See you Saturday'], 'the thread in full on D');

  t.equal((await bea.post(`/api/threads/${onB.id}/remove`, { reason: 'Off topic' })).status, 204, 'removed by its moderator on B');
  await eventually(async () => (await cal.get(`/api/threads/${onC.id}`)).status === 404, 30_000, 'the removal on C');
  await eventually(async () => (await ann.get(`/api/threads/${posted.body.thread.id}`)).status === 404, 30_000, 'the removal on A');
  await eventually(async () => (await dee.get(`/api/threads/${onD.id}`)).status === 404, 30_000, 'the removal on D');
});
