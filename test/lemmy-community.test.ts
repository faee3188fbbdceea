// A Lemmy community followed from here, from captured payloads moved onto a stand-in server: its
// Announce(Create(Page)) becomes a thread in that neighbourhood here, but the same Announce from a
// community nobody here follows is dropped. A member's like of that thread goes to the community and to the
// Lemmy member who posted it, signed, and its Undo after it. Lemmy's `delete_user` (an account's Delete of
// itself, with `removeData`) marks the member gone here and deletes their posts, verified by the key we
// kept even once their server answers 410 Gone; from an actor whose key we never had, it changes nothing. The table in docs/federation.md lists the fixtures.
import { eachDatabase } from './helpers.ts';
import { startInstance } from './instances.ts';
import { eventually, moveFixture, postSigned, readFixture, RemoteServer } from './remote-server.ts';

eachDatabase('a Lemmy community followed from here', async (t, database) => {
  const a = await startInstance(t, database);
  const robin = await a.client.signUp('robin');
  const remote = await RemoteServer.start(t);
  const host = new URL(remote.origin).host;
  const community = await remote.actor('main', { type: 'Group', name: 'Main' });
  const stranger = await remote.actor('elsewhere', { type: 'Group', name: 'Elsewhere' });
  // Without a shared inbox, so what reaches the author is told apart from what reaches the community.
  const beta = await remote.actor('lemmy_beta', { endpoints: undefined });

  const followed = await robin.post('/api/follows', { neighbourhood: community.id });
  t.equal(followed.status, 201, 'the community is followed as a neighbourhood');
  const follow = await eventually(() => remote.inboxPosts('Follow').find((d) => d.body.object === community.id), 30_000, 'the Follow');
  const accept = { '@context': 'https://www.w3.org/ns/activitystreams', id: remote.activityId(), type: 'Accept', actor: community.id, object: follow.body };
  t.equal((await postSigned(`${a.url}/inbox`, accept, community)).status, 202);
  await eventually(async () => (await a.app.db.selectFrom('remote_follows').select('state').where('activity_id', '=', follow.body.id).executeTakeFirst())?.state === 'accepted', 30_000, 'the follow accepted');

  const path = `/api/neighbourhoods/${encodeURIComponent(`main@${host}`)}/threads`;
  const threadsHere = async () => (await a.app.db.selectFrom('threads').select(['id', 'title', 'ap_id']).execute());

  await t.test('lemmy/activities/community/announce_create_page.json from a community not followed here: ignored', async (t) => {
    const announce = moveFixture(await readFixture('lemmy/activities/community/announce_create_page.json'), remote, 'lemmy', [
      ['http://enterprise.lemmy.ml/c/main/followers', `${stranger.id}/followers`], ['http://enterprise.lemmy.ml/c/main', stranger.id], ['http://enterprise.lemmy.ml/u/lemmy_beta', beta.id],
    ]);
    // Under an id of its own, or the followed community's Announce below would be dropped as a repeat.
    announce.id = remote.activityId();
    t.equal((await postSigned(`${a.url}/inbox`, announce, stranger)).status, 202, 'answered 202');
    // Processing is asynchronous: the followed community's Announce below, handled after it, proves it was dropped.
    await new Promise((resolve) => setTimeout(resolve, 500));
    t.same(await threadsHere(), [], 'nothing stored');
  });

  await t.test('lemmy/activities/community/announce_create_page.json from the followed community: a thread', async (t) => {
    const announce = moveFixture(await readFixture('lemmy/activities/community/announce_create_page.json'), remote, 'lemmy', [
      ['http://enterprise.lemmy.ml/c/main', community.id], ['http://enterprise.lemmy.ml/u/lemmy_beta', beta.id],
    ]);
    t.equal((await postSigned(`${a.url}/inbox`, announce, community)).status, 202);
    const thread = await eventually(async () => (await robin.get(path)).body.threads?.find((row: any) => row.title === 'post 4'), 30_000, 'the thread');
    t.equal(thread.author.username, `lemmy_beta@${host}`, 'by the Lemmy member who posted it');
    t.equal(thread.neighbourhood.handle, `main@${host}`, 'in the followed community');
    t.same((await threadsHere()).map((row) => row.ap_id), [`${remote.origin}/lemmy/post/7`], 'only that one stored, under its Lemmy id');
  });

  await t.test('a member here likes the Lemmy post, then takes the like back', async (t) => {
    const thread = (await robin.get(path)).body.threads.find((row: any) => row.title === 'post 4');
    const postId = `${remote.origin}/lemmy/post/7`;
    const robinUri = `${a.url}/members/robin`;
    t.equal((await robin.post(`/api/threads/${thread.id}/like`, {})).status, 200);
    const likes = await eventually(() => {
      const found = remote.inboxPosts('Like');
      return found.some((d) => d.path === '/inbox') && found.some((d) => d.path === '/users/lemmy_beta/inbox') && found;
    }, 30_000, 'the Like at the community and at the author');
    const like = likes[0]!.body;
    t.match(like, { actor: robinUri, object: postId, audience: community.id }, 'by the member, of the post\'s Lemmy id, with the community as audience');
    t.ok(like.id.startsWith(`${a.url}/`), 'under our origin');
    for (const delivery of likes) t.match(delivery.headers['signature-input'] ?? delivery.headers.signature, /keyid="[^"]+\/members\/robin#main-key"/i, 'signed by the member\'s key');

    t.equal((await robin.post(`/api/threads/${thread.id}/like`, {})).status, 200, 'liked again: nothing changes');
    t.equal((await robin.delete(`/api/threads/${thread.id}/like`)).status, 200);
    const undo = await eventually(() => remote.inboxPosts('Undo').length === 2 && remote.inboxPosts('Undo')[0], 30_000, 'the Undo at both');
    t.match(undo.body, { actor: robinUri, object: { id: like.id, actor: robinUri, object: postId } }, 'the same Like undone');
    t.equal(remote.inboxPosts('Like').length, 2, 'one Like to each, none for the like already there');
  });

  await t.test('lemmy/activities/deletion/delete_user.json: the account gone, its posts here deleted', async (t) => {
    await robin.post('/api/neighbourhoods', { handle: 'park-road', name: 'Park Road', locality: { placeName: 'Walkley' } });
    const group = `${a.url}/neighbourhoods/park-road`;
    const answered = (await robin.post('/api/neighbourhoods/park-road/threads', { kind: 'discussion', title: 'Hedge trimming', body: 'Who has a trimmer?' })).body.thread;
    const alpha = await remote.actor('lemmy_alpha');
    const PUBLIC = 'https://www.w3.org/ns/activitystreams#Public';
    const create = (object: Record<string, unknown>) => ({ '@context': 'https://www.w3.org/ns/activitystreams', id: remote.activityId(), type: 'Create', actor: alpha.id, object: { attributedTo: alpha.id, to: [group, PUBLIC], audience: group, ...object } });
    t.equal((await postSigned(`${group}/inbox`, create({ id: `${remote.origin}/lemmy/post/100`, type: 'Page', name: 'Alpha was here', content: '<p>Hello</p>' }), alpha)).status, 202);
    t.equal((await postSigned(`${group}/inbox`, create({ id: `${remote.origin}/lemmy/comment/100`, type: 'Note', inReplyTo: `${a.url}/threads/${answered.id}`, content: '<p>I do</p>' }), alpha)).status, 202);
    const theirs = await eventually(async () => (await robin.get('/api/neighbourhoods/park-road/threads')).body.threads.find((row: any) => row.title === 'Alpha was here'), 30_000, 'their thread');
    await eventually(async () => (await robin.get(`/api/threads/${answered.id}`)).body.replies.length === 1, 30_000, 'their reply');

    // A Delete by someone else naming them changes nothing.
    const fixture = await readFixture('lemmy/activities/deletion/delete_user.json');
    const byOther = moveFixture(fixture, remote, 'lemmy', [['http://ds9.lemmy.ml/u/lemmy_alpha', alpha.id]]);
    Object.assign(byOther, { id: remote.activityId(), actor: beta.id });
    t.equal((await postSigned(`${a.url}/inbox`, byOther, beta)).status, 202);
    await new Promise((resolve) => setTimeout(resolve, 500));
    t.equal((await robin.get(`/api/threads/${theirs.id}`)).status, 200, 'their thread stays');

    // Their server now answers 410 Gone for them, as it would: their key is the one we kept.
    remote.routes.set('/users/lemmy_alpha', (_req, res) => res.writeHead(410).end());
    const deletion = moveFixture(fixture, remote, 'lemmy', [['http://ds9.lemmy.ml/u/lemmy_alpha', alpha.id]]);
    t.match(deletion, { actor: alpha.id, object: alpha.id, type: 'Delete', removeData: true });
    t.equal((await postSigned(`${a.url}/inbox`, deletion, alpha)).status, 202);
    await eventually(async () => (await robin.get(`/api/threads/${theirs.id}`)).status === 404, 30_000, 'their thread deleted');
    const [reply] = (await robin.get(`/api/threads/${answered.id}`)).body.replies;
    t.match(reply, { author: null, body: '' }, 'their reply left as a tombstone');
    const member = await a.app.db.selectFrom('members').select('status').where('ap_id', '=', alpha.id).executeTakeFirstOrThrow();
    t.equal(member.status, 'suspended', 'their member row marked gone');
    t.equal((await robin.get(`/api/threads/${answered.id}`)).status, 200, 'the thread they answered stays');
  });

  await t.test('delete_user from an actor whose key we never had and cannot fetch: 202, nothing changed', async (t) => {
    const ghost = await remote.actor('ghost');
    remote.routes.set('/users/ghost', (_req, res) => res.writeHead(410).end());
    const deletion = moveFixture(await readFixture('lemmy/activities/deletion/delete_user.json'), remote, 'lemmy', [['http://ds9.lemmy.ml/u/lemmy_alpha', ghost.id]]);
    deletion.id = remote.activityId();
    t.equal((await postSigned(`${a.url}/inbox`, deletion, ghost)).status, 202, 'answered 202, so its server stops retrying');
    const forged = { ...deletion, id: remote.activityId(), actor: beta.id, object: beta.id };
    t.equal((await postSigned(`${a.url}/inbox`, forged, ghost, { keyId: `${ghost.id}#main-key` })).status, 401, 'one signed by another actor\'s key is refused');
  });
});
