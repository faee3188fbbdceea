// A network-weaver on instance A follows neighbourhoods on A, B and C; what members post on each instance
// reaches A's home feed newest first, and A's live home stream as it arrives.
import { eachDatabase } from './helpers.ts';
import { anotherDatabase, collectionIds, startInstance } from './instances.ts';
import { eventually } from './remote-server.ts';
import { openStream } from './streams.ts';

eachDatabase('a weaver follows neighbourhoods on three instances', async (t, database) => {
  const [a, b, c] = [
    await startInstance(t, database),
    await startInstance(t, await anotherDatabase(t, database)),
    await startInstance(t, await anotherDatabase(t, database)),
  ];
  const host = (instance: typeof a) => new URL(instance.url).host;
  const ann = await a.client.signUp('ann');
  const bea = await b.client.signUp('bea');
  const cal = await c.client.signUp('cal');
  await ann.post('/api/neighbourhoods', { handle: 'park-road', name: 'Park Road', locality: { placeName: 'Walkley' } });
  await bea.post('/api/neighbourhoods', { handle: 'market', name: 'Market Street', locality: { placeName: 'Sharrow' } });
  await cal.post('/api/neighbourhoods', { handle: 'allotments', name: 'Allotments', locality: { placeName: 'Meersbrook' } });

  const wes = await a.client.signUp('wes');
  t.equal((await wes.post('/api/follows', { neighbourhood: 'park-road' })).status, 201, 'a neighbourhood here');
  for (const handle of [`@market@${host(b)}`, `@allotments@${host(c)}`]) {
    const followed = await wes.post('/api/follows', { neighbourhood: handle });
    t.equal(followed.status, 201, `followed ${handle}`);
  }
  await eventually(async () => (await collectionIds(`${b.url}/neighbourhoods/market/followers`)).length === 1, 30_000, 'A follows market on B');
  await eventually(async () => (await collectionIds(`${c.url}/neighbourhoods/allotments/followers`)).length === 1, 30_000, 'A follows allotments on C');

  const port = (a.app.server.address() as { port: number }).port;
  const home = await openStream(`ws://127.0.0.1:${port}/api/streams/home`, { headers: { authorization: `Bearer ${wes.token}` } });
  t.teardown(() => home.close());

  // One post at a time, each waited for on A, so the order they were written in is the order A saw them.
  const posts = [
    [bea, 'market', 'Stall swap on Saturday'],
    [ann, 'park-road', 'Bin day moved'],
    [cal, 'allotments', 'Spare seedlings'],
    [bea, 'market', 'Lost umbrella'],
  ] as const;
  const arrived: { title: string; neighbourhood: string }[] = [];
  for (const [author, handle, title] of posts) {
    t.equal((await author.post(`/api/neighbourhoods/${handle}/threads`, { kind: 'discussion', title, body: 'x' })).status, 201);
    const event = await home.next((e) => e.event === 'thread.created' && e.thread.title === title, 30_000);
    arrived.push({ title, neighbourhood: event.neighbourhood.handle });
  }
  t.same(arrived.map((e) => e.neighbourhood), ['market@' + host(b), 'park-road', 'allotments@' + host(c), 'market@' + host(b)], 'each live event names its neighbourhood, with its instance when remote');

  const feed = await wes.get('/api/home');
  t.equal(feed.status, 200);
  const titles = feed.body.items.filter((item: any) => item.type === 'thread').map((item: any) => item.thread.title);
  t.same(titles, posts.map(([, , title]) => title).reverse(), 'the home feed, newest first, across the three instances');
  const times = feed.body.items.map((item: any) => Date.parse(item.at));
  t.same([...times].sort((x, y) => y - x), times, 'ordered by time');

  // A reply on B to a thread there reaches A's home stream and feed as well.
  const onB = (await bea.get('/api/neighbourhoods/market/threads')).body.threads.find((row: any) => row.title === 'Stall swap on Saturday');
  t.equal((await bea.post(`/api/threads/${onB.id}/replies`, { body: 'Table for two' })).status, 201);
  const replied = await home.next((e) => e.event === 'reply.created', 30_000);
  t.equal(replied.reply.body, 'Table for two');
  const latest = (await wes.get('/api/home')).body.items[0];
  t.same([latest.type, latest.reply.body, latest.thread.title], ['reply', 'Table for two', 'Stall swap on Saturday']);
});
