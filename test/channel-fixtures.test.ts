// PeerTube and Mbin, from captured payloads moved onto a stand-in server: a PeerTube channel (a Group) is
// followed as a neighbourhood and Mbin's Accept of that Follow is understood; the channel's Announce of a
// Video becomes a thread linking to the video, and a PeerTube comment on it a reply. Mbin's instance actor
// is known as an Application, and is no neighbourhood to follow. The table in docs/federation.md lists them.
import { rememberRemoteActor } from '../federation/delivery.ts';
import { eachDatabase } from './helpers.ts';
import { startInstance } from './instances.ts';
import { eventually, moveFixture, postSigned, readFixture, RemoteServer } from './remote-server.ts';

eachDatabase('PeerTube channels and Mbin magazines', async (t, database) => {
  const a = await startInstance(t, database);
  const robin = await a.client.signUp('robin');
  const remote = await RemoteServer.start(t);

  const channelUrl = 'https://tilvids.com/video-channels/thelinuxexperiment_channel';
  const personUrl = 'https://tilvids.com/accounts/thelinuxexperiment';
  const videoUrl = 'https://tilvids.com/videos/watch/e7946124-7b72-4ad7-9d22-844a84bb2de1';
  // The channel and the account keep the fixtures' fields, with keys of the stand-in's.
  const group = await readFixture('peertube/objects/group.json');
  const person = await readFixture('peertube/objects/person.json');
  const channel = { id: `${remote.origin}/users/channel` };
  const moves: [string, string][] = [[channelUrl, channel.id], [personUrl, `${remote.origin}/users/account`]];
  const { publicKey: _g, ...groupFields } = moveFixture(group, remote, 'peertube', moves);
  const { publicKey: _p, ...personFields } = moveFixture(person, remote, 'peertube', moves);
  const signer = { channel: await remote.actor('channel', groupFields), account: await remote.actor('account', personFields) };
  const host = new URL(remote.origin).host;

  await t.test('peertube/objects/group.json and mbin/activities/accept.json: a channel followed, the Accept understood', async (t) => {
    const followed = await robin.post('/api/follows', { neighbourhood: channel.id });
    t.equal(followed.status, 201, 'a PeerTube channel is followed as a neighbourhood');
    t.equal(followed.body.neighbourhood.name, 'The Linux Experiment');
    const follow = await eventually(() => remote.inboxPosts('Follow').find((d) => d.body.object === channel.id), 30_000, 'the Follow');
    const accept = await readFixture('mbin/activities/accept.json');
    const moved = moveFixture(accept, remote, 'mbin', [
      ['https://some-mbin.instance/m/someMag', channel.id], ['https://some-other.instance/u/someUser', follow.body.actor],
      ['https://some-other.instance/f/object/c51ea652-e594-4920-a989-f5350f0cec05', follow.body.id],
    ]);
    t.equal((await postSigned(`${a.url}/inbox`, moved, signer.channel)).status, 202);
    await eventually(async () => (await a.app.db.selectFrom('remote_follows').select('state').where('activity_id', '=', follow.body.id).executeTakeFirst())?.state === 'accepted', 30_000, 'the follow accepted');
  });

  const path = `/api/neighbourhoods/${encodeURIComponent(`thelinuxexperiment_channel@${host}`)}/threads`;
  let threadId = 0;

  await t.test('peertube/activities/announce_video.json, objects/video.json, objects/person.json: the video becomes a thread', async (t) => {
    const video = moveFixture(await readFixture('peertube/objects/video.json'), remote, 'peertube', moves);
    const movedVideoUrl = video.id as string;
    remote.serve(new URL(movedVideoUrl).pathname, video);
    const announce = moveFixture(await readFixture('peertube/activities/announce_video.json'), remote, 'peertube', moves);
    t.equal(announce.object, movedVideoUrl);
    t.equal((await postSigned(`${a.url}/inbox`, announce, signer.channel)).status, 202);
    const thread = await eventually(async () => (await robin.get(path)).body.threads?.find((row: any) => row.title.startsWith('Mesa, Wayland')), 30_000, 'the thread');
    t.equal(thread.author.username, `thelinuxexperiment@${host}`, 'by the account that uploaded it');
    t.ok(thread.bodyHtml.startsWith(`<p><a href="${movedVideoUrl}"`) && thread.bodyHtml.includes('>Watch the video</a>'), 'linking to the video');
    t.match(thread.bodyHtml, /<p>Head to/, 'its Markdown description rendered');
    threadId = thread.id;
  });

  await t.test('peertube/objects/note.json: a comment on the video becomes a reply', async (t) => {
    const note = await readFixture('peertube/objects/note.json');
    const commenter = await remote.actor('commenter');
    const moved = moveFixture({ ...note, inReplyTo: videoUrl }, remote, 'peertube', [...moves, [note.attributedTo, commenter.id]]);
    const create = { '@context': moved['@context'], id: `${moved.id}#create`, type: 'Create', actor: commenter.id, object: moved };
    t.equal((await postSigned(`${a.url}/inbox`, create, commenter)).status, 202);
    const reply = await eventually(async () => (await robin.get(`/api/threads/${threadId}`)).body.replies?.[0], 30_000, 'the reply');
    t.match(reply.bodyHtml, /idk/);
  });

  await t.test('mbin/objects/instance.json: an instance actor, not a neighbourhood', async (t) => {
    const instance = await remote.actor('instance');
    const { publicKey: _k, ...fields } = moveFixture(await readFixture('mbin/objects/instance.json'), remote, 'mbin', [['https://fedia.io/i/actor', instance.id]]);
    await remote.actor('instance', { ...fields, '@context': ['https://www.w3.org/ns/activitystreams', 'https://w3id.org/security/v1'] });
    const known = await rememberRemoteActor(a.app.federation.context(), new URL(instance.id));
    t.equal(known?.type, 'Application', 'known as an Application (its key verifies what it signs)');
    const followed = await robin.post('/api/follows', { neighbourhood: instance.id });
    t.equal(followed.status, 400, 'following it as a neighbourhood is refused');
    t.equal(followed.body.error, 'not_a_group');
  });
});
