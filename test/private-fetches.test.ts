// Members-only neighbourhoods over ActivityPub fetches: a thread or reply is served only to a GET signed
// by the key of a remote actor the neighbourhood admitted as a follower; unsigned fetches and fetches
// signed by anyone else are refused, and a public neighbourhood's posts stay open to all.
import { eachDatabase } from './helpers.ts';
import { startInstance } from './instances.ts';
import { eventually, getSigned, postSigned, RemoteServer } from './remote-server.ts';

eachDatabase('signed member fetches of members-only posts', async (t, database) => {
  const a = await startInstance(t, database);
  const mod = await a.client.signUp('mod');
  await mod.post('/api/neighbourhoods', { handle: 'garden', name: 'Secret Garden', locality: { placeName: 'Walkley' } });
  t.equal((await mod.request('PUT', '/api/neighbourhoods/garden/privacy', { membersOnly: true })).status, 204);
  const thread = (await mod.post('/api/neighbourhoods/garden/threads', { kind: 'discussion', title: 'Seed swap', body: 'Members only.' })).body.thread;
  const reply = (await mod.post(`/api/threads/${thread.id}/replies`, { body: 'Bring labels.' })).body.reply;
  const group = `${a.url}/neighbourhoods/garden`;

  const remote = await RemoteServer.start(t);
  const friend = await remote.actor('friend');
  const stranger = await remote.actor('stranger');
  const follow = { '@context': 'https://www.w3.org/ns/activitystreams', id: remote.activityId(), type: 'Follow', actor: friend.id, object: group };
  t.equal((await postSigned(`${group}/inbox`, follow, friend)).status, 202);
  const request = await eventually(async () => (await mod.get('/api/neighbourhoods/garden/follow-requests')).body.requests?.[0], 30_000, 'the follow request');
  t.equal((await mod.post(`/api/neighbourhoods/garden/follow-requests/${request.id}`, { decision: 'accept' })).status < 300, true, 'the moderator admits the follower');

  for (const [what, url] of [['thread', `${a.url}/threads/${thread.id}`], ['reply', `${a.url}/replies/${reply.id}`]]) {
    const unsigned = await fetch(url!, { headers: { accept: 'application/activity+json' } });
    t.equal(unsigned.status, 401, `${what}: an unsigned fetch is refused`);
    t.equal((await getSigned(url!, stranger)).status, 401, `${what}: a fetch signed by a non-member is refused`);
    const served = await getSigned(url!, friend);
    t.equal(served.status, 200, `${what}: served to the admitted follower`);
    t.match(JSON.parse(served.body), { id: url }, `${what}: the document`);
  }
  t.equal((await getSigned(`${a.url}/threads/999999`, friend)).status, 404, 'what does not exist is not found');

  await mod.request('PUT', '/api/neighbourhoods/garden/privacy', { membersOnly: false });
  const open = await fetch(`${a.url}/threads/${thread.id}`, { headers: { accept: 'application/activity+json' } });
  t.equal(open.status, 200, 'a public neighbourhood\u2019s thread is served to anyone');
});
