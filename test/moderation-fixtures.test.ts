// Lemmy's moderation activities, as captured in its fixtures, moved onto a stand-in server and our
// neighbourhood (as test/group-fixtures.test.ts does), delivered signed to the neighbourhood's inbox: each
// first by someone who moderates nothing (refused: nothing changes), then by a remote moderator of the
// neighbourhood (honoured, and in the moderation log). docs/federation.md lists each fixture.
import { readFile } from 'node:fs/promises';
import { eachDatabase } from './helpers.ts';
import { collectionIds, getJson, startInstance } from './instances.ts';
import { eventually, postSigned, queueDrained, RemoteServer } from './remote-server.ts';

const fixtures = new URL('../../shared/fixtures/fediverse/lemmy/activities/', import.meta.url);
const standards = /^https?:\/\/(www\.w3\.org|w3id\.org)$/;

interface Case {
  file: string;
  /** The moderation log entry it makes, or null when it is ignored. */
  logged: string | null;
  /** What the activity is about: one of our threads, a reply, or a second remote member. */
  about: 'thread' | 'reply' | 'member' | 'none';
}

const cases: Case[] = [
  { file: 'community/lock_page.json', logged: 'lock_thread', about: 'thread' },
  { file: 'community/undo_lock_page.json', logged: 'unlock_thread', about: 'thread' },
  // Lemmy 0.20 locks a comment's subtree; we lock whole threads only.
  { file: 'community/lock_note.json', logged: null, about: 'reply' },
  { file: 'community/undo_lock_note.json', logged: null, about: 'reply' },
  { file: 'community/add_featured_post.json', logged: 'pin_thread', about: 'thread' },
  { file: 'community/remove_featured_post.json', logged: 'unpin_thread', about: 'thread' },
  { file: 'community/add_mod.json', logged: 'appoint_moderator', about: 'member' },
  { file: 'community/remove_mod.json', logged: 'dismiss_moderator', about: 'member' },
  { file: 'deletion/remove_note.json', logged: 'remove_reply', about: 'reply' },
  { file: 'deletion/undo_remove_note.json', logged: 'restore_reply', about: 'reply' },
  { file: 'block/block_user.json', logged: 'ban', about: 'member' },
  { file: 'block/undo_block_user.json', logged: 'unban', about: 'member' },
  // A neighbourhood here is described by its moderators here; Lemmy's warning goes to a person, not a group.
  { file: 'community/update_community.json', logged: null, about: 'none' },
  { file: 'community/warn.json', logged: null, about: 'thread' },
];

/** The post or person each fixture acts on, and the community it addresses, by their URLs there. */
const objects: Record<Case['about'], RegExp> = {
  thread: /^https?:\/\/[^/]+\/post\/\d+$/,
  reply: /^https?:\/\/[^/]+\/comment\/\d+$/,
  member: /^https?:\/\/[^/]+\/u\/lemmy_alpha$/,
  none: /^$/,
};
const community = /https?:\/\/[a-z0-9.-]+(:\d+)?\/(c|u)\/(main|test)(?=["/])/g;

eachDatabase('Lemmy\u2019s moderation activities', async (t, database) => {
  const a = await startInstance(t, database);
  const robin = await a.client.signUp('robin');
  await robin.post('/api/neighbourhoods', { handle: 'park-road', name: 'Park Road', locality: { placeName: 'Walkley' } });
  const group = `${a.url}/neighbourhoods/park-road`;
  const remote = await RemoteServer.start(t);
  const [moderator, stranger, alpha] = [await remote.actor('beta'), await remote.actor('stranger'), await remote.actor('alpha')];
  const host = new URL(remote.origin).host;

  // Remote members become member rows when they first post; then robin appoints beta.
  const thread = (await robin.post('/api/neighbourhoods/park-road/threads', { kind: 'discussion', title: 'Bins', body: 'Collection moved to Tuesday.' })).body.thread;
  for (const [actor, text] of [[moderator, 'I can help'], [stranger, 'Me too'], [alpha, 'Thanks']] as const) {
    const note = { id: `${actor.id}/notes/1`, type: 'Note', attributedTo: actor.id, inReplyTo: `${a.url}/threads/${thread.id}`, to: ['https://www.w3.org/ns/activitystreams#Public'], cc: [group], content: `<p>${text}</p>` };
    const create = { '@context': 'https://www.w3.org/ns/activitystreams', id: `${note.id}#create`, type: 'Create', actor: actor.id, object: note };
    t.equal((await postSigned(`${group}/inbox`, create, actor)).status, 202);
  }
  const replies = await eventually(async () => {
    const { replies } = (await robin.get(`/api/threads/${thread.id}`)).body;
    return replies.length === 3 && replies;
  }, 30_000, 'the three replies');
  const reply = replies.find((r: any) => r.author.username === `alpha@${host}`);
  t.equal((await robin.request('PUT', `/api/neighbourhoods/park-road/moderators/${encodeURIComponent(`beta@${host}`)}`, {})).status, 204, 'beta moderates Park Road');

  const log = async () => (await robin.get('/api/neighbourhoods/park-road/moderation-log?limit=100')).body.entries as any[];
  const settled = async () => {
    await queueDrained(a.app.db);
    await new Promise((resolve) => setTimeout(resolve, 200));
  };

  for (const c of cases) {
    await t.test(c.file, async (t) => {
      const text = await readFile(new URL(c.file, fixtures), 'utf8');
      const send = async (actor: typeof moderator) => {
        const json = JSON.parse(text);
        const subject = c.about === 'thread' ? `${a.url}/threads/${thread.id}` : c.about === 'reply' ? `${a.url}/replies/${reply.id}` : alpha.id;
        let body = JSON.stringify({ '@context': 'https://www.w3.org/ns/activitystreams', ...json })
          .replace(community, group)
          .replace(/"(https?:\/\/[^"]+)"/g, (whole, url: string) => (objects[c.about].test(url) ? `"${subject}"` : whole));
        // The acting moderator (the activity's and any undone activity's actor) is the one signing.
        for (const actorUrl of new Set([json.actor, json.object?.actor].filter((x) => typeof x === 'string'))) body = body.split(`"${actorUrl}"`).join(`"${actor.id}"`);
        for (const origin of new Set(body.match(/https?:\/\/[a-z0-9.-]+(:\d+)?/gi) ?? [])) {
          if (!standards.test(origin) && origin !== a.url && origin !== remote.origin) body = body.split(origin).join(`${remote.origin}/lemmy`);
        }
        const activity = JSON.parse(body);
        // Each delivery is a new activity (two of the captures share an id), and a ban ends in the future.
        activity.id = remote.activityId();
        for (const block of [activity, activity.object]) if (block?.type === 'Block') block.endTime = new Date(Date.now() + 86_400_000).toISOString();
        return postSigned(`${group}/inbox`, activity, actor);
      };

      const before = await log();
      t.equal((await send(stranger)).status, 202, 'taken in from a non-moderator');
      await settled();
      t.same(await log(), before, 'refused: nothing in the log');
      t.equal((await send(moderator)).status, 202, 'taken in from a moderator');
      if (c.logged) {
        const entry = await eventually(async () => (await log()).find((e) => e.action === c.logged && !before.some((b) => b.id === e.id)), 30_000, c.logged);
        t.equal(entry.moderator, `beta@${host}`, 'logged as the remote moderator\u2019s');
      } else {
        await settled();
        t.same(await log(), before, 'ignored: nothing in the log');
      }
      const state = (await robin.get(`/api/threads/${thread.id}`)).body;
      const details = (await robin.get('/api/neighbourhoods/park-road')).body;
      switch (c.file) {
        case 'community/lock_page.json':
          t.equal(state.thread.locked, true, 'the thread is locked');
          break;
        case 'community/undo_lock_page.json':
        case 'community/lock_note.json':
          t.equal(state.thread.locked, false, 'the thread is not locked');
          break;
        case 'community/add_featured_post.json':
          t.equal(state.thread.pinned, true, 'the thread is pinned');
          break;
        case 'community/remove_featured_post.json':
          t.equal(state.thread.pinned, false, 'the thread is unpinned');
          break;
        case 'community/add_mod.json':
          t.ok(details.moderators.some((m: any) => m.username === `alpha@${host}`), 'alpha is a moderator');
          break;
        case 'community/remove_mod.json':
          t.notOk(details.moderators.some((m: any) => m.username === `alpha@${host}`), 'alpha is a moderator no more');
          break;
        case 'block/block_user.json':
          t.same((await robin.get('/api/neighbourhoods/park-road/bans')).body.bans.map((b: any) => b.username), [`alpha@${host}`], 'alpha is banned');
          t.notOk(state.replies.some((r: any) => r.id === reply.id && r.body), 'and their reply removed (removeData)');
          break;
        case 'block/undo_block_user.json':
          t.same((await robin.get('/api/neighbourhoods/park-road/bans')).body.bans, [], 'the ban is lifted');
          break;
        case 'deletion/remove_note.json':
          t.notOk(state.replies.find((r: any) => r.id === reply.id)?.body, 'the reply is removed');
          break;
        case 'deletion/undo_remove_note.json':
          t.equal(state.replies.find((r: any) => r.id === reply.id)?.body, 'Thanks', 'the reply is back');
          break;
        case 'community/update_community.json':
          t.equal(details.neighbourhood.name, 'Park Road', 'the neighbourhood is as it was');
      }
    });
  }

  await t.test('what the group sends, in Lemmy\u2019s shapes', async (t) => {
    const follower = await remote.actor('follower');
    const follow = { '@context': 'https://www.w3.org/ns/activitystreams', id: remote.activityId(), type: 'Follow', actor: follower.id, object: group };
    t.equal((await postSigned(`${group}/inbox`, follow, follower)).status, 202);
    await eventually(() => remote.inboxPosts('Accept').length > 0, 30_000, 'the Accept');
    const sent = async (check: (object: any) => boolean, what: string) =>
      (await eventually(() => remote.inboxPosts('Announce').find((post) => typeof post.body.object === 'object' && check(post.body.object)), 30_000, what))!.body;
    const threadUrl = `${a.url}/threads/${thread.id}`;
    const robinUrl = `${a.url}/members/robin`;
    const common = { actor: robinUrl, audience: group, cc: group };

    await robin.post(`/api/threads/${thread.id}/lock`, { reason: 'Settled' });
    const lock = await sent((o) => o.type === 'Lock', 'the Lock');
    t.equal(lock.actor, group, 'announced by the group');
    t.match(lock.object, { ...common, object: threadUrl, summary: 'Settled' }, 'Lock by the moderator, of the thread');
    await robin.post(`/api/threads/${thread.id}/unlock`, {});
    t.match((await sent((o) => o.type === 'Undo' && o.object?.type === 'Lock', 'the Undo(Lock)')).object, { actor: robinUrl, object: { type: 'Lock', actor: robinUrl, object: threadUrl } });

    await robin.post(`/api/threads/${thread.id}/pin`, {});
    t.match((await sent((o) => o.type === 'Add' && o.target === `${group}/featured`, 'the Add')).object, { ...common, object: threadUrl });
    t.match(await getJson(`${group}/featured`), { type: 'OrderedCollection', totalItems: 1, orderedItems: [{ type: 'Page', id: threadUrl }] }, 'the featured collection');
    t.equal((await getJson(group)).featured, `${group}/featured`, 'named by the group');
    await robin.post(`/api/threads/${thread.id}/unpin`, {});
    await sent((o) => o.type === 'Remove' && o.target === `${group}/featured`, 'the Remove from featured');

    const strangerName = encodeURIComponent(`stranger@${host}`);
    const until = new Date(Date.now() + 3_600_000);
    await robin.post('/api/neighbourhoods/park-road/bans', { username: `stranger@${host}`, reason: 'Spam', expiresAt: until.toISOString(), removeContent: true });
    const block = (await sent((o) => o.type === 'Block', 'the Block')).object;
    t.match(block, { ...common, object: stranger.id, target: group, summary: 'Spam', removeData: true }, 'Block of the member from the group');
    t.equal(new Date(block.endTime).getTime(), until.getTime(), 'ending when the ban ends');
    await robin.delete(`/api/neighbourhoods/park-road/bans/${strangerName}`);
    t.match((await sent((o) => o.type === 'Undo' && o.object?.type === 'Block', 'the Undo(Block)')).object, { object: { type: 'Block', object: stranger.id, target: group } });
    const removedReply = replies.find((r: any) => r.author.username === `stranger@${host}`);
    await robin.post(`/api/replies/${removedReply.id}/restore`, {});
    t.match((await sent((o) => o.type === 'Undo' && o.object?.type === 'Delete', 'the Undo(Delete)')).object, { actor: robinUrl, object: { type: 'Delete', object: `${stranger.id}/notes/1` } }, 'by the reply\u2019s id where it was written');
    await robin.post(`/api/replies/${removedReply.id}/remove`, { reason: 'Again' });
    t.match((await sent((o) => o.type === 'Delete' && o.summary === 'Again', 'the Delete')).object, { ...common, object: `${stranger.id}/notes/1` });

    await robin.request('PUT', `/api/neighbourhoods/park-road/moderators/${encodeURIComponent(`alpha@${host}`)}`, {});
    t.match((await sent((o) => o.type === 'Add' && o.target === `${group}/moderators`, 'the Add to moderators')).object, { ...common, object: alpha.id });
    t.ok((await collectionIds(`${group}/moderators`)).includes(alpha.id), 'listed by their own id');
  });

  await t.test('a community elsewhere announces its moderators\u2019 actions; only theirs are honoured', async (t) => {
    const lemmy = await RemoteServer.start(t);
    const [mod, nobody, author] = [await lemmy.actor('mod'), await lemmy.actor('nobody'), await lemmy.actor('author')];
    const community = await lemmy.actor('main', { type: 'Group', attributedTo: `${lemmy.origin}/users/main/moderators` });
    const communityId = community.id;
    lemmy.serve('/users/main/moderators', { '@context': 'https://www.w3.org/ns/activitystreams', id: `${communityId}/moderators`, type: 'OrderedCollection', totalItems: 1, orderedItems: [mod.id] });
    t.equal((await robin.post('/api/follows', { neighbourhood: communityId })).status, 201, 'robin follows the community');
    const handle = `main@${new URL(lemmy.origin).host}`;
    const announce = (object: unknown) => ({ '@context': 'https://www.w3.org/ns/activitystreams', id: lemmy.activityId(), type: 'Announce', actor: communityId, to: ['https://www.w3.org/ns/activitystreams#Public'], cc: [`${communityId}/followers`], object });
    const page = { id: `${lemmy.origin}/post/1`, type: 'Page', attributedTo: author.id, name: 'Lost cat', content: '<p>Ginger, answers to Biscuit.</p>', audience: communityId, to: [communityId, 'https://www.w3.org/ns/activitystreams#Public'] };
    lemmy.serve('/post/1', { '@context': 'https://www.w3.org/ns/activitystreams', ...page });
    t.equal((await postSigned(`${a.url}/inbox`, announce({ id: `${page.id}#create`, type: 'Create', actor: author.id, object: page }), community)).status, 202);
    const path = `/api/neighbourhoods/${encodeURIComponent(handle)}/threads`;
    const here = await eventually(async () => (await robin.get(path)).body.threads?.find((row: any) => row.title === 'Lost cat'), 30_000, 'the announced thread');
    const lock = (actor: string) => ({ id: lemmy.activityId(), type: 'Lock', actor, object: page.id, audience: communityId, to: ['https://www.w3.org/ns/activitystreams#Public'], cc: [communityId] });

    t.equal((await postSigned(`${a.url}/inbox`, announce(lock(nobody.id)), community)).status, 202);
    await settled();
    t.equal((await robin.get(`/api/threads/${here.id}`)).body.thread.locked, false, 'a lock by someone not in its moderators collection is refused');
    t.equal((await postSigned(`${a.url}/inbox`, announce(lock(mod.id)), community)).status, 202);
    await eventually(async () => (await robin.get(`/api/threads/${here.id}`)).body.thread.locked, 30_000, 'the lock by its moderator');
    const removal = { id: lemmy.activityId(), type: 'Delete', actor: mod.id, object: page.id, summary: 'Found', audience: communityId, to: ['https://www.w3.org/ns/activitystreams#Public'], cc: [communityId] };
    t.equal((await postSigned(`${a.url}/inbox`, announce(removal), community)).status, 202);
    await eventually(async () => (await robin.get(`/api/threads/${here.id}`)).status === 404, 30_000, 'the removal by its moderator');
    t.equal((await postSigned(`${a.url}/inbox`, announce({ id: lemmy.activityId(), type: 'Undo', actor: mod.id, object: removal, audience: communityId }), community)).status, 202);
    await eventually(async () => (await robin.get(`/api/threads/${here.id}`)).status === 200, 30_000, 'restored by its moderator');
  });
});
