// Pre-moderation across servers: posts that reach a neighbourhood from another server (signed by a stand-in
// remote actor) are held like local ones, and a held post, local or remote, is announced to no follower
// (an instance on loopback following the neighbourhood, and a microblog follower) until a moderator
// approves it; then it arrives once. A silenced server's posts and follows wait for a moderator.
import { eachDatabase } from './helpers.ts';
import { anotherDatabase, collectionIds, startInstance } from './instances.ts';
import { eventually, postSigned, RemoteServer } from './remote-server.ts';

const AS = ['https://www.w3.org/ns/activitystreams', 'https://w3id.org/security/v1'];

eachDatabase('held posts are not delivered until approved', async (t, database) => {
  const a = await startInstance(t, database);
  const b = await startInstance(t, await anotherDatabase(t, database));
  const mod = await a.client.signUp('mod');
  await mod.post('/api/neighbourhoods', { handle: 'park-road', name: 'Park Road', locality: { placeName: 'Walkley' } });
  await mod.request('PUT', '/api/neighbourhoods/park-road/premoderation', { holdFirstPosts: 1, holdWords: ['casino'] });
  const group = `${a.url}/neighbourhoods/park-road`;
  const handle = `park-road@${new URL(a.url).host}`;
  const path = `/api/neighbourhoods/${encodeURIComponent(handle)}/threads`;

  const bob = await b.client.signUp('bob');
  t.equal((await bob.post('/api/follows', { neighbourhood: `@${handle}` })).status, 201);
  const remote = await RemoteServer.start(t);
  const follower = await remote.actor('follower');
  t.equal((await postSigned(`${group}/inbox`, { '@context': AS, id: remote.activityId(), type: 'Follow', actor: follower.id, object: group }, follower)).status, 202);
  await eventually(async () => (await collectionIds(`${group}/followers`)).length === 2, 30_000, 'both followers on A');

  const stranger = await remote.actor('stranger');
  const note = (id: string, content: string) => ({
    '@context': AS, id: `${id}#create`, type: 'Create', actor: stranger.id, to: ['https://www.w3.org/ns/activitystreams#Public', group],
    object: { id, type: 'Page', name: content, attributedTo: stranger.id, content: `<p>${content}</p>`, audience: group, to: ['https://www.w3.org/ns/activitystreams#Public', group] },
  });
  const remotePost = `${remote.origin}/posts/1`;
  // Followers fetch a post from its own server when another server announces it.
  remote.serve('/posts/1', { '@context': AS, ...note(remotePost, 'Hello from afar').object });
  t.equal((await postSigned(`${group}/inbox`, note(remotePost, 'Hello from afar'), stranger)).status, 202);
  const newcomer = await a.client.signUp('newcomer');
  await newcomer.post('/api/neighbourhoods/park-road/members');
  t.equal((await newcomer.post('/api/neighbourhoods/park-road/threads', { kind: 'discussion', title: 'First words', body: 'Hi all' })).status, 202);

  const queue = await eventually(async () => {
    const held = (await mod.get('/api/neighbourhoods/park-road/held-posts')).body.heldPosts;
    return held.length === 2 && held;
  }, 30_000, 'both posts held on A');
  t.match(queue, [{ title: 'Hello from afar', author: /^stranger@/ }, { title: 'First words', author: 'newcomer' }]);
  t.equal((await postSigned(`${group}/inbox`, note(remotePost, 'Hello from afar'), stranger)).status, 202, 'a repeat');
  t.equal((await mod.get('/api/neighbourhoods/park-road/held-posts')).body.heldPosts.length, 2, 'is held once');

  // A post the moderator makes goes out; once it has arrived, the held ones would have too.
  t.equal((await mod.post('/api/neighbourhoods/park-road/threads', { kind: 'discussion', title: 'Marker', body: 'From the moderator' })).status, 201);
  await eventually(async () => (await bob.get(path)).body.threads?.some((row: any) => row.title === 'Marker'), 30_000, 'the marker on B');
  await eventually(() => remote.inboxPosts('Announce').some((p) => JSON.stringify(p.body).includes('Marker')), 30_000, 'the marker at the follower');
  t.notMatch(JSON.stringify(remote.inboxPosts()), /Hello from afar|First words/, 'nothing held reached the microblog follower');
  t.notMatch(JSON.stringify((await bob.get(path)).body), /Hello from afar|First words/, 'nor the instance following it');
  t.equal((await bob.get('/api/home')).body.items?.some((i: any) => /Hello from afar|First words/.test(JSON.stringify(i))), false);
  const outbox = await fetch(`${group}/outbox`, { headers: { accept: 'application/activity+json' } });
  if (outbox.ok) t.notMatch(await outbox.text(), /Hello from afar|First words/, 'nor the group outbox');

  for (const held of queue) t.equal((await mod.post(`/api/held-posts/${held.id}/approve`)).status, 200);
  await eventually(async () => {
    const titles = (await bob.get(path)).body.threads.map((row: any) => row.title);
    return titles.includes('Hello from afar') && titles.includes('First words');
  }, 30_000, 'both on B after approval');
  await eventually(() => ['Hello from afar', 'First words'].every((title) => remote.inboxPosts('Announce').some((p) => p.body.object?.type === 'Create' && p.body.object.object?.name === title)), 30_000, 'both announced to the follower');
  const created = remote.inboxPosts('Announce').filter((p) => p.body.object?.type === 'Create' && /Hello from afar|First words/.test(p.body.object.object?.name));
  t.equal(created.length, 2, 'each announced once');

  // Past its first posts, the remote author is held for a word, and withdraws the post by deleting it.
  const later = `${remote.origin}/posts/2`;
  t.equal((await postSigned(`${group}/inbox`, note(later, 'Casino tonight'), stranger)).status, 202);
  await eventually(async () => (await mod.get('/api/neighbourhoods/park-road/held-posts')).body.heldPosts.length === 1, 30_000, 'the worded post held');
  t.equal((await postSigned(`${group}/inbox`, { '@context': AS, id: remote.activityId(), type: 'Delete', actor: stranger.id, object: later }, stranger)).status, 202);
  await eventually(async () => (await mod.get('/api/neighbourhoods/park-road/held-posts')).body.heldPosts.length === 0, 30_000, 'withdrawn by its author');
});

eachDatabase('a silenced server is heard but waits for approval', async (t, database) => {
  const a = await startInstance(t, database);
  const mod = await a.client.signUp('mod');
  const staff = mod;
  await a.database.db.updateTable('members').set({ role: 'admin' }).where('username', '=', 'mod').execute();
  await mod.post('/api/neighbourhoods', { handle: 'park-road', name: 'Park Road', locality: { placeName: 'Walkley' } });
  const group = `${a.url}/neighbourhoods/park-road`;
  // A server of its own on another loopback address, so silencing it touches no other test server.
  const remote = await RemoteServer.start(t, '127.0.0.2');
  const loud = await remote.actor('loud');
  t.equal((await staff.post('/api/admin/domain-blocks', { domain: '127.0.0.2', severity: 'silence' })).status, 204);

  const follow = { '@context': AS, id: remote.activityId(), type: 'Follow', actor: loud.id, object: group };
  t.equal((await postSigned(`${group}/inbox`, follow, loud)).status, 202, 'its activities are accepted');
  const requests = await eventually(async () => {
    const rows = (await mod.get('/api/neighbourhoods/park-road/follow-requests')).body.requests;
    return rows?.length && rows;
  }, 30_000, 'the follow waits for a moderator');
  t.equal(requests.length, 1);
  t.equal(remote.inboxPosts('Accept').length, 0, 'not accepted yet');

  const id = `${remote.origin}/posts/1`;
  const create = {
    '@context': AS, id: `${id}#create`, type: 'Create', actor: loud.id, to: ['https://www.w3.org/ns/activitystreams#Public', group],
    object: { id, type: 'Note', attributedTo: loud.id, content: '<p>Buy my stuff</p>', audience: group, to: ['https://www.w3.org/ns/activitystreams#Public', group] },
  };
  t.equal((await postSigned(`${group}/inbox`, create, loud)).status, 202);
  const held = await eventually(async () => (await mod.get('/api/neighbourhoods/park-road/held-posts')).body.heldPosts[0], 30_000, 'the post held');
  t.match(held.reason, /silenced/);
  t.notMatch(JSON.stringify((await a.client.get('/api/neighbourhoods/park-road/threads')).body), /Buy my stuff/);

  // Suspending it instead refuses its activities outright.
  t.equal((await staff.post('/api/admin/domain-blocks', { domain: '127.0.0.2', severity: 'suspend' })).status, 204);
  const again = { ...create, id: `${id}-2#create`, object: { ...create.object, id: `${id}-2` } };
  t.equal((await postSigned(`${group}/inbox`, again, loud)).status, 403);
});
