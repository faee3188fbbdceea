// Neighbourhoods as FEP-1b12 groups: what the group sends its followers, and what posts from other
// software (captured payloads, moved onto a stand-in server and signed by its actors) become here.
import { readFile } from 'node:fs/promises';
import { eachDatabase } from './helpers.ts';
import { getJson, startInstance } from './instances.ts';
import { eventually, postSigned, type RemoteActor, RemoteServer } from './remote-server.ts';

const fixtures = new URL('../../shared/fixtures/fediverse/', import.meta.url);
const AS = ['https://www.w3.org/ns/activitystreams', 'https://w3id.org/security/v1'];

async function fixture(path: string): Promise<any> {
  const json = JSON.parse(await readFile(new URL(path, fixtures), 'utf8'));
  return '@context' in json ? json : { '@context': AS, ...json };
}

/** The fixture with its servers' URLs replaced, longest first, by ours. */
function transplant(json: unknown, replacements: [string, string][]): any {
  let text = JSON.stringify(json);
  for (const [from, to] of [...replacements].sort((x, y) => y[0].length - x[0].length)) text = text.split(from).join(to);
  return JSON.parse(text);
}

eachDatabase('a neighbourhood federates as a group', async (t, database) => {
  const a = await startInstance(t, database);
  const robin = await a.client.signUp('robin');
  await robin.post('/api/neighbourhoods', { handle: 'park-road', name: 'Park Road', locality: { placeName: 'Walkley' } });
  const group = `${a.url}/neighbourhoods/park-road`;
  const remote = await RemoteServer.start(t);
  const thread = async (id: number) => (await robin.get(`/api/threads/${id}`)).body;
  const threadsHere = async () => (await robin.get('/api/neighbourhoods/park-road/threads')).body.threads as any[];

  await t.test('the group announces threads to microblogs and to Lemmy-family followers, replies only wrapped', async (t) => {
    const follower = await remote.actor('follower');
    const follow = { '@context': AS, id: remote.activityId(), type: 'Follow', actor: follower.id, object: group };
    t.equal((await postSigned(`${group}/inbox`, follow, follower)).status, 202);
    await eventually(() => remote.inboxPosts('Accept').length > 0, 10_000, 'the Accept');

    const created = (await robin.post('/api/neighbourhoods/park-road/threads', { kind: 'discussion', title: 'Bins on Tuesday', body: 'Collection moved to **Tuesday**.' })).body.thread;
    const threadUrl = `${a.url}/threads/${created.id}`;
    const announces = () => remote.inboxPosts('Announce').filter((post) => JSON.stringify(post.body).includes(threadUrl));
    await eventually(() => announces().length >= 2, 10_000, 'both announces of the thread');
    const wrapped = announces().find((post) => typeof post.body.object === 'object' && post.body.object.type === 'Create')!.body;
    t.equal(wrapped.actor, group, 'announced by the group');
    t.match(wrapped.object, { actor: `${a.url}/members/robin`, object: { type: 'Page', id: threadUrl, name: 'Bins on Tuesday', audience: group, attributedTo: `${a.url}/members/robin` } });
    t.match(wrapped.object.object.content, /<strong>Tuesday<\/strong>/);
    const boost = announces().find((post) => post.body.object === threadUrl || post.body.object?.type === 'Page');
    t.ok(boost, 'a boost of the Page, as Mastodon shows it');

    const page = await getJson(threadUrl);
    t.match(page, { type: 'Page', id: threadUrl, name: 'Bins on Tuesday', audience: group, context: `${threadUrl}/context` }, 'the thread is served as a Page');

    const reply = (await robin.post(`/api/threads/${created.id}/replies`, { body: 'Thanks!' })).body.reply;
    const replyUrl = `${a.url}/replies/${reply.id}`;
    await eventually(() => remote.inboxPosts('Announce').some((post) => post.body.object?.object?.id === replyUrl), 10_000, 'the reply announced');
    const forReply = remote.inboxPosts('Announce').filter((post) => JSON.stringify(post.body).includes(replyUrl));
    t.equal(forReply.length, 1, 'a reply is announced once, wrapped, and never boosted');
    t.match(forReply[0]!.body.object, { type: 'Create', object: { type: 'Note', inReplyTo: threadUrl, context: `${threadUrl}/context` } });

    await robin.patch(`/api/threads/${created.id}`, { title: 'Bins on Wednesday' });
    await eventually(() => remote.inboxPosts('Announce').some((post) => post.body.object?.type === 'Update' && post.body.object.object?.name === 'Bins on Wednesday'), 10_000, 'the edit announced');
    await robin.delete(`/api/threads/${created.id}`);
    await eventually(() => remote.inboxPosts('Announce').some((post) => post.body.object?.type === 'Delete' && JSON.stringify(post.body.object.object).includes(threadUrl)), 10_000, 'the deletion announced');
  });

  await t.test('Lemmy: a post, a comment, a vote, an edit and a deletion', async (t) => {
    const alpha = await remote.actor('lemmy_alpha');
    const moved: [string, string][] = [
      ['http://ds9.lemmy.ml/u/lemmy_alpha', alpha.id],
      ['http://enterprise.lemmy.ml/c/main', group],
      ['https://enterprise.lemmy.ml/c/main', group],
      ['https://enterprise.lemmy.ml/c/tenforward', group],
      ['http://ds9.lemmy.ml', remote.origin],
    ];
    const deliver = async (path: string, actor: RemoteActor = alpha) =>
      t.equal((await postSigned(`${group}/inbox`, transplant(await fixture(path), moved), actor)).status, 202, path);

    await deliver('lemmy/activities/create_or_update/create_page.json');
    const started = await eventually(async () => (await threadsHere()).find((row) => row.title === 'test post'), 10_000, 'the Lemmy post as a thread');
    t.match(started, { author: { username: `lemmy_alpha@${new URL(remote.origin).host}` }, bodyHtml: '<p>test body</p>', kind: 'discussion' });

    await deliver('lemmy/activities/create_or_update/create_comment.json');
    await eventually(async () => (await thread(started.id)).replies.length === 1, 10_000, 'the comment as a reply');
    t.match((await thread(started.id)).replies[0], { bodyHtml: 'hello', parentId: null, author: { username: `lemmy_alpha@${new URL(remote.origin).host}` } });

    // A Lemmy moderator's removal, from someone who is neither the author nor a moderator here: refused.
    const beta = await remote.actor('lemmy_beta');
    const removal = transplant(await fixture('lemmy/activities/deletion/remove_note.json'), [['http://enterprise.lemmy.ml/u/lemmy_beta', beta.id], ['http://enterprise.lemmy.ml/activities', `${remote.origin}/activities`], ...moved]);
    t.equal((await postSigned(`${group}/inbox`, removal, beta)).status, 202);
    await deliver('lemmy/activities/voting/like_note.json');
    await eventually(async () => (await thread(started.id)).replies[0].likeCount === 1, 10_000, 'the vote counted');
    t.equal((await thread(started.id)).replies[0].bodyHtml, 'hello', 'the removal by a stranger changed nothing');
    await deliver('lemmy/activities/voting/undo_like_note.json');
    await eventually(async () => (await thread(started.id)).replies[0].likeCount === 0, 10_000, 'the vote withdrawn');

    await deliver('lemmy/activities/create_or_update/update_page.json');
    await eventually(async () => (await thread(started.id)).thread.title === 'test post 1', 10_000, 'the edit');
    t.ok((await thread(started.id)).thread.editedAt, 'marked edited');

    await deliver('lemmy/activities/deletion/delete_page.json');
    await eventually(async () => !(await threadsHere()).some((row) => row.id === started.id), 10_000, 'the deletion');
  });

  await t.test('Mastodon: a status mentioning the neighbourhood in reply to a thread, and a like', async (t) => {
    const felix = await remote.actor('felix');
    const created = (await robin.post('/api/neighbourhoods/park-road/threads', { kind: 'discussion', title: 'Laptops?', body: 'Which laptop?' })).body.thread;
    const moved: [string, string][] = [
      ['https://mastodon.madrid/users/felix', felix.id],
      ['https://mamot.fr/users/retiolus/statuses/107224244380204526', `${a.url}/threads/${created.id}`],
      ['https://mamot.fr/users/retiolus', group],
      ['https://ds9.lemmy.ml/post/147', `${a.url}/threads/${created.id}`],
      ['https://mastodon.madrid', remote.origin],
    ];
    const create = transplant(await fixture('mastodon/activities/create_note.json'), moved);
    t.equal((await postSigned(`${a.url}/inbox`, create, felix)).status, 202);
    await eventually(async () => (await thread(created.id)).replies.length === 1, 10_000, 'the status as a reply');
    t.match((await thread(created.id)).replies[0].bodyHtml, /never been disappointed by a thinkpad/);

    const like = transplant(await fixture('mastodon/activities/like_page.json'), moved);
    t.equal((await postSigned(`${a.url}/inbox`, like, felix)).status, 202);
    await eventually(async () => (await thread(created.id)).thread.likeCount === 1, 10_000, 'the like');
  });
});
