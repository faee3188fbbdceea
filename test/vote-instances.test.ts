// Likes across Square Mile instances on loopback: a member on A likes a thread and a reply that came from
// a neighbourhood on B; B counts them, and the counts go back down when the likes are taken back, and up
// again when given again from a Mastodon app (a new Like, not a repeat receivers drop).
import { eachDatabase } from './helpers.ts';
import { anotherDatabase, collectionIds, startInstance } from './instances.ts';
import { eventually } from './remote-server.ts';

eachDatabase('likes from another instance', async (t, database) => {
  const [a, b] = [await startInstance(t, database), await startInstance(t, await anotherDatabase(t, database))];
  const bea = await b.client.signUp('bea');
  await bea.post('/api/neighbourhoods', { handle: 'market', name: 'Market Street', locality: { placeName: 'Sharrow' } });
  const market = `market@${new URL(b.url).host}`;
  const ann = await a.client.signUp('ann');
  t.equal((await ann.post('/api/follows', { neighbourhood: `@${market}` })).status, 201);
  await eventually(async () => (await collectionIds(`${b.url}/neighbourhoods/market/followers`)).length === 1, 30_000, 'the follower on B');

  const posted = (await bea.post('/api/neighbourhoods/market/threads', { kind: 'discussion', title: 'Bulb swap', body: 'Tulips for daffodils?' })).body.thread;
  const replied = (await bea.post(`/api/threads/${posted.id}/replies`, { body: 'Crocuses too' })).body.reply;
  const path = `/api/neighbourhoods/${encodeURIComponent(market)}/threads`;
  const onA = await eventually(async () => (await ann.get(path)).body.threads.find((row: any) => row.title === 'Bulb swap'), 30_000, 'the thread on A');
  const replyOnA = await eventually(async () => (await ann.get(`/api/threads/${onA.id}`)).body.replies[0], 30_000, 'the reply on A');

  const countsOnB = async () => {
    const { thread, replies } = (await bea.get(`/api/threads/${posted.id}`)).body;
    return [thread.likeCount, replies.find((r: any) => r.id === replied.id).likeCount];
  };
  const reach = (counts: number[], what: string) => eventually(async () => JSON.stringify(await countsOnB()) === JSON.stringify(counts), 30_000, what);

  t.equal((await ann.post(`/api/threads/${onA.id}/like`)).body.likeCount, 1, 'counted on A');
  t.equal((await ann.post(`/api/replies/${replyOnA.id}/like`)).body.likeCount, 1);
  await reach([1, 1], 'both likes on B');
  t.pass('the thread and the reply liked on B');

  t.equal((await ann.delete(`/api/threads/${onA.id}/like`)).body.likeCount, 0);
  t.equal((await ann.delete(`/api/replies/${replyOnA.id}/like`)).body.likeCount, 0);
  await reach([0, 0], 'both likes taken back on B');
  t.pass('taken back on B');

  // Liked again, from a Mastodon app this time.
  const statuses = (await ann.get('/api/v1/timelines/public?limit=40')).body as any[];
  const status = statuses.find((row) => row.uri === `${a.url}/threads/${onA.id}`);
  t.equal((await ann.post(`/api/v1/statuses/${status.id}/favourite`)).body.favourited, true, 'favourited in a Mastodon app');
  await reach([1, 0], 'the thread liked again on B');
  t.pass('liked again on B');
});
