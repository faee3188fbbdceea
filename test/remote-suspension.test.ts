// Staff may suspend an account from another server (`name@host`): what it sends afterwards (posts, replies,
// votes) is refused whichever inbox it reaches, what it posted before stays, and lifting the suspension lets
// it post again.
import { eachDatabase } from './helpers.ts';
import { startInstance } from './instances.ts';
import { eventually, postSigned, queueDrained, RemoteServer } from './remote-server.ts';

const AS = ['https://www.w3.org/ns/activitystreams', 'https://w3id.org/security/v1'];
const Public = 'https://www.w3.org/ns/activitystreams#Public';

eachDatabase('a suspended account from another server', async (t, database) => {
  const a = await startInstance(t, database);
  const staff = await a.client.signUp('staff');
  await database.db.updateTable('members').set({ role: 'admin' }).where('username', '=', 'staff').execute();
  await staff.post('/api/neighbourhoods', { handle: 'park-road', name: 'Park Road', locality: { placeName: 'Walkley' } });
  const group = `${a.url}/neighbourhoods/park-road`;
  const remote = await RemoteServer.start(t);
  const stranger = await remote.actor('stranger');
  const page = (n: number) => {
    const id = `${remote.origin}/posts/${n}`;
    return {
      '@context': AS, id: `${id}#create`, type: 'Create', actor: stranger.id, to: [Public, group],
      object: { id, type: 'Page', name: `Post ${n}`, attributedTo: stranger.id, content: `<p>Post ${n}</p>`, audience: group, to: [Public, group] },
    };
  };
  const titles = async () => (await database.db.selectFrom('threads').select('title').orderBy('id').execute()).map((row) => row.title);

  t.equal((await postSigned(`${group}/inbox`, page(1), stranger)).status, 202);
  await eventually(async () => (await titles()).includes('Post 1'), 20_000, 'the first post stored');
  const [thread] = await database.db.selectFrom('threads').select('id').where('title', '=', 'Post 1').execute();
  const username = `stranger@${new URL(remote.origin).host}`;

  t.equal((await staff.post(`/api/members/${encodeURIComponent(username)}/suspend`, { reason: 'Spam' })).status, 204, 'staff suspend the remote account');
  t.equal((await postSigned(`${group}/inbox`, page(2), stranger)).status, 202);
  t.equal((await postSigned(`${a.url}/inbox`, page(3), stranger)).status, 202);
  const like = { '@context': AS, id: `${remote.origin}/likes/1`, type: 'Like', actor: stranger.id, object: `${a.url}/threads/${thread!.id}` };
  t.equal((await postSigned(`${a.url}/inbox`, like, stranger)).status, 202);

  await queueDrained(database.db, 20_000);
  await staff.post(`/api/members/${encodeURIComponent(username)}/unsuspend`);
  t.equal((await postSigned(`${group}/inbox`, page(4), stranger)).status, 202);
  await eventually(async () => (await titles()).includes('Post 4'), 20_000, 'a post after the suspension was lifted');
  t.same(await titles(), ['Post 1', 'Post 4'], 'nothing sent while suspended was stored; the earlier post stays');
  const { like_count } = await database.db.selectFrom('threads').select('like_count').where('id', '=', thread!.id).executeTakeFirstOrThrow();
  t.equal(like_count, 0, 'nor was the vote counted');
});
