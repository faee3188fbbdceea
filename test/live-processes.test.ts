// Two server processes on one PostgreSQL database: a post accepted by one reaches streams held by the other.
import t from 'tap';
import { postgresForTest } from './helpers.ts';
import { callJson, startServer } from './processes.ts';
import { openStream } from './streams.ts';

t.test('a post through process 1 reaches a websocket client on process 2', async (t) => {
  const database = await postgresForTest(t);
  if (!database) return;
  const env = { DATABASE_URL: database.url, PORT: '0', PUBLIC_URL: 'http://forum.test' };
  const first = await startServer(env);
  t.teardown(() => first.stop());
  const second = await startServer(env);
  t.teardown(() => second.stop());

  const call = callJson;
  const signUp = async (username: string) => {
    await call(first.url, 'POST', '/api/accounts', { username, password: 'a long enough password' });
    return (await call(first.url, 'POST', '/api/tokens', { username, password: 'a long enough password' })).body.token as string;
  };
  const alice = await signUp('alice');
  const bob = await signUp('bob');
  t.equal((await call(first.url, 'POST', '/api/neighbourhoods', { handle: 'park-road', name: 'Park Road', locality: { placeName: 'Walkley' } }, bob)).status, 201);

  const wsUrl = (path: string) => `${second.url.replace('http', 'ws')}${path}`;
  const home = await openStream(wsUrl('/api/streams/home'), { headers: { authorization: `Bearer ${alice}` } });
  const neighbourhood = await openStream(wsUrl('/api/streams/neighbourhoods/park-road'));
  t.teardown(() => {
    home.close();
    neighbourhood.close();
  });

  // Following through process 1 updates the home stream held by process 2: the follow's notice was committed
  // before the post's, and the bus handles notices in order, so no waiting is needed in between.
  t.equal((await call(first.url, 'POST', '/api/follows', { neighbourhood: 'park-road' }, alice)).status, 201);
  const posted = await call(first.url, 'POST', '/api/neighbourhoods/park-road/threads', { kind: 'discussion', title: 'Across processes', body: 'x' }, bob);
  t.equal(posted.status, 201);
  const seenByNeighbourhood = await neighbourhood.next();
  t.same([seenByNeighbourhood.event, seenByNeighbourhood.thread.id], ['thread.created', posted.body.thread.id]);
  const seenAtHome = await home.next();
  t.same([seenAtHome.event, seenAtHome.thread.title], ['thread.created', 'Across processes']);

  const replied = await call(first.url, 'POST', `/api/threads/${posted.body.thread.id}/replies`, { body: 'And back' }, bob);
  t.equal((await home.next()).replyId, replied.body.reply.id);
});
