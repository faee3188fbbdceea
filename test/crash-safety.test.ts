// Crash safety: a real server process is killed with SIGKILL in the middle of a burst of API posts, incoming
// Follows and outgoing Follows. After a restart every post that was answered 201 is there, every delivery
// that was queued is made at least once (receivers drop repeats by activity id), and the counters kept beside
// the rows agree with the rows, so nothing half-written is visible.
import t from 'tap';
import { openDatabase } from '../server/database.ts';
import { postgresForTest } from './helpers.ts';
import { federationSettings, freePort } from './instances.ts';
import { callJson, startServer } from './processes.ts';
import { eventually, postSigned, RemoteServer } from './remote-server.ts';

const AS = 'https://www.w3.org/ns/activitystreams';

t.test('SIGKILL during a burst of posts and deliveries', async (t) => {
  const database = await postgresForTest(t);
  if (!database) return;
  const port = await freePort();
  const publicUrl = `http://127.0.0.1:${port}`;
  // The burst is one member posting as fast as it can: the hourly posting limit is lifted for it.
  const env = { ...federationSettings, DATABASE_URL: database.url, PORT: String(port), PUBLIC_URL: publicUrl, QUEUE_LEASE_SECONDS: '2', POSTS_PER_HOUR: '100000' };
  let server = await startServer(env);
  t.teardown(() => server.stop('SIGKILL'));

  const call = (method: string, path: string, body?: unknown, token?: string) => callJson(server.url, method, path, body, token);
  await call('POST', '/api/accounts', { username: 'sam', password: 'a long enough password' });
  const sam = (await call('POST', '/api/tokens', { username: 'sam', password: 'a long enough password' })).body.token as string;
  t.equal((await call('POST', '/api/neighbourhoods', { handle: 'park-road', name: 'Park Road', locality: { placeName: 'Walkley' } }, sam)).status, 201);
  const first = (await call('POST', '/api/neighbourhoods/park-road/threads', { kind: 'discussion', title: 'Before', body: 'x' }, sam)).body.thread.id as number;

  const remote = await RemoteServer.start(t);
  const followers = await Promise.all(Array.from({ length: 10 }, (_, i) => remote.actor(`neighbour${i}`)));
  const followed = await Promise.all(Array.from({ length: 10 }, (_, i) => remote.actor(`friend${i}`)));
  // The remote side is slow to take deliveries, so some are in flight when the sender dies.
  const slowly = () => new Promise<number>((resolve) => setTimeout(() => resolve(202), 300));
  for (const actor of [...followers, ...followed]) remote.inbox(`${new URL(actor.id).pathname}/inbox`, slowly);
  remote.inbox('/inbox', slowly);
  const objectOf = (body: any) => (typeof body.object === 'string' ? body.object : body.object?.id);

  // The burst: loops of threads and replies, Follows of the neighbourhood coming in and Follows from sam going
  // out, each sending until the server is gone; the kill comes once some of each have been accepted.
  const created: any[] = [];
  const followsIn: string[] = [];
  const followsOut: string[] = [];
  const until = async (send: (i: number) => Promise<boolean>, count: number) => {
    for (let i = 0; i < count; i++) if (!(await send(i).catch(() => false))) return;
  };
  const post = async (i: number) => {
    const response = await (i % 2
      ? call('POST', '/api/neighbourhoods/park-road/threads', { kind: 'discussion', title: `Burst ${i}`, body: 'x' }, sam)
      : call('POST', `/api/threads/${first}/replies`, { body: `Reply ${i}` }, sam));
    if (response.status === 201) created.push(response.body);
    return response.status === 201;
  };
  const burst = Promise.all([
    until(post, 200),
    until((i) => post(i + 1), 200),
    until(async (i) => {
      const actor = followers[i]!;
      const activity = { '@context': AS, id: remote.activityId(), type: 'Follow', actor: actor.id, object: `${publicUrl}/neighbourhoods/park-road` };
      const accepted = (await postSigned(`${server.url}/inbox`, activity, actor)).status === 202;
      if (accepted) followsIn.push(activity.id);
      return accepted;
    }, followers.length),
    until(async (i) => {
      const accepted = (await call('POST', '/api/following', { account: followed[i]!.id }, sam)).status === 202;
      if (accepted) followsOut.push(followed[i]!.id);
      return accepted;
    }, followed.length),
  ]);
  await eventually(() => created.length >= 10 && followsIn.length >= 4 && followsOut.length >= 4, 30_000, 'the burst under way');
  t.equal(await server.stop('SIGKILL'), null, 'killed mid-burst');
  await burst;
  const delivered = remote.inboxPosts('Accept').length + remote.inboxPosts('Follow').length;
  t.comment(`accepted before the kill: ${created.length} posts, ${followsIn.length} incoming and ${followsOut.length} outgoing Follows; ${delivered} deliveries made before it`);

  server = await startServer(env);
  const threads = created.filter((b) => b.thread).map((b) => b.thread.id as number);
  const missingThreads: number[] = [];
  for (const id of threads) if ((await call('GET', `/api/threads/${id}`)).status !== 200) missingThreads.push(id);
  t.same(missingThreads, [], `all ${threads.length} threads answered 201 are there`);
  await eventually(() => followsIn.every((id) => remote.inboxPosts('Accept').some((p) => objectOf(p.body) === id)), 30_000, 'an Accept for every incoming Follow');
  await eventually(() => followsOut.every((id) => remote.inboxPosts('Follow').some((p) => p.body.object === id)), 30_000, 'every outgoing Follow delivered');
  t.pass('every queued delivery was made after the restart');

  const db = await openDatabase({ databaseUrl: database.url, dataDir: 'memory://' });
  t.teardown(() => db.destroy());
  const miscounted = await db.selectFrom('threads as t')
    .select(['t.id', 't.reply_count'])
    .where((eb) => eb('t.reply_count', '!=', eb.selectFrom('replies as r').select((r) => r.fn.countAll<number>().as('n')).whereRef('r.thread_id', '=', 't.id').where('r.deleted_at', 'is', null)))
    .execute();
  t.same(miscounted, [], 'every thread’s reply count matches its replies');
  const replies = created.filter((b) => b.reply).map((b) => b.reply.id as number);
  const stored = (await db.selectFrom('replies').select('id').execute()).map((r) => r.id);
  t.ok(replies.every((id) => stored.includes(id)), 'every reply answered 201 is stored');
});
