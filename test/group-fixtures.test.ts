// Posts captured from other fediverse software, moved onto a stand-in server (every host becomes it, the
// community or account they address becomes our neighbourhood, what they answer becomes one of our
// threads), signed by its actor and delivered to the neighbourhood's inbox, become threads, replies,
// events, edits, deletions, votes up and down, and attachments shown. The table in docs/federation.md
// lists each fixture.
import { eachDatabase } from './helpers.ts';

type Test = import('tap').Test;
import { startInstance } from './instances.ts';
import { eventually, moveFixture, postSigned, readFixture as fixture, RemoteServer } from './remote-server.ts';

interface Case {
  file: string;
  /** Fixtures of a bare object are sent as their software sends them to a group: in a Create. */
  wrap?: boolean;
  /** URLs that stand for the community, category or account addressed: they become our neighbourhood. */
  group?: string[];
  /** The post answered, liked or edited: it becomes a thread of ours. */
  parent?: string;
  expect: 'thread' | 'event' | 'reply' | 'votes' | 'edit' | 'delete' | 'ignored';
  /** For votes: the likes and dislikes the answered thread has afterwards. */
  votes?: [number, number];
  /** URLs left where they are (attachments are links, never fetched; an https image shows as one). */
  keep?: string[];
  /** For threads: the attachments expected, as the API shows them. */
  attachments?: { url: string; image: boolean; description?: string | null }[];
  /** For new threads: the title expected. For replies and edits: text the body holds. */
  text?: string;
  /** Delivered first (an earlier case's file), for edits and deletions of something we must have. */
  after?: string;
}

const cases: Case[] = [
  { file: 'lemmy/activities/create_or_update/create_page.json', group: ['http://enterprise.lemmy.ml/c/main', 'https://enterprise.lemmy.ml/c/main'], expect: 'thread', text: 'test post' },
  { file: 'lotide/activities/create_page.json', group: ['https://c.tide.tk/communities/1'], expect: 'thread', text: 'test post from b' },
  { file: 'lotide/activities/create_note_reply.json', parent: 'https://c.tide.tk/posts/51', expect: 'reply' },
  { file: 'mitra/activities/create_post.json', group: ['https://voyager.lemmy.ml/c/pubtest0906'], expect: 'thread' },
  { file: 'gnusocial/activities/create_page.json', group: ['https://instance.gnusocial.test/actor/21'], expect: 'thread', text: 'hello, world.' },
  { file: 'friendica/activities/create_page_1.json', group: ['https://lemmy.qa.urbanwildlife.biz/c/lemmy_community'], expect: 'thread' },
  { file: 'friendica/activities/create_note.json', group: ['https://lemmy.schuerz.at/c/test'], parent: 'https://lemmy.schuerz.at/post/25360', expect: 'reply' },
  { file: 'smithereen/activities/create_note.json', parent: 'https://ds9.lemmy.ml/post/1723', expect: 'reply' },
  { file: 'pleroma/activities/create_note.json', parent: 'https://enterprise.lemmy.ml/post/55143', expect: 'reply' },
  { file: 'mastodon/activities/create_note.json', group: ['https://mamot.fr/users/retiolus'], parent: 'https://mamot.fr/users/retiolus/statuses/107224244380204526', expect: 'reply', text: 'thinkpad' },
  { file: 'nodebb/objects/page.json', wrap: true, group: ['https://bb.devnull.land/category/2'], expect: 'thread', text: 'Welcome to your NodeBB!' },
  { file: 'discourse/objects/page.json', wrap: true, group: ['https://socialhub.activitypub.rocks/ap/actor/797217cf18c0e819dfafc52425590146'], expect: 'thread', text: 'Our next meeting' },
  { file: 'wordpress/objects/page.json', wrap: true, group: ['https://dbzer0.com/?author=0'], expect: 'thread', text: 'An Epic 3D-Printed Fan Expansion for Last Light' },
  { file: 'wordpress/objects/note.json', wrap: true, parent: 'https://socialhub.activitypub.rocks/ap/object/ce040f1ead95964f6dbbf1084b81432d', expect: 'reply' },
  { file: 'mobilizon/objects/event.json', wrap: true, group: ['https://rendezvous.nomagic.uk/@emorrp1/followers'], expect: 'event', text: 'Caledonian scottish dance class' },
  { file: 'friendica/activities/like_page.json', parent: 'https://pirati.ca/objects/ec054ce7-2062-3bfa-8687-ca8313624820', expect: 'votes', votes: [1, 0] },
  // The same person's Dislike turns their like into a dislike; their Undo takes it back.
  { file: 'friendica/activities/dislike_page.json', parent: 'https://pirati.ca/objects/ec054ce7-2062-3bfa-8687-ca8313624820', expect: 'votes', votes: [0, 1] },
  { file: 'friendica/activities/undo_dislike_page.json', parent: 'https://pirati.ca/objects/ec054ce7-2062-3bfa-8687-ca8313624820', expect: 'votes', votes: [0, 0] },
  { file: 'lemmy/activities/voting/dislike_page.json', parent: 'http://ds9.lemmy.ml/post/1', expect: 'votes', votes: [0, 1] },
  // Lemmy undoes a dislike as Undo(Like): the vote goes whichever way it went.
  { file: 'lemmy/activities/voting/undo_dislike_page.json', parent: 'http://ds9.lemmy.ml/post/1', expect: 'votes', votes: [0, 0] },
  { file: 'lemmy/activities/voting/like_note.json', parent: 'http://ds9.lemmy.ml/comment/1', expect: 'votes', votes: [1, 0] },
  { file: 'lemmy/activities/voting/undo_like_note.json', parent: 'http://ds9.lemmy.ml/comment/1', expect: 'votes', votes: [0, 0] },
  {
    file: 'lemmy/objects/page_image_and_link.json', wrap: true, group: ['https://enterprise.lemmy.ml/c/tenforward'], expect: 'thread', text: 'Post with image and link',
    keep: ['https://enterprise.lemmy.ml/pictrs/image/eOtYb9iEiB.png', 'https://example.com/some-article'],
    attachments: [{ url: 'https://enterprise.lemmy.ml/pictrs/image/eOtYb9iEiB.png', image: true }, { url: 'https://example.com/some-article', image: false }],
  },
  {
    file: 'lotide/activities/create_page_image.json', group: ['http://localhost:8536/c/elsewhere'], expect: 'thread', text: 'image',
    keep: ['http://ltthostname.local:3334/api/stable/posts/46/href'], attachments: [{ url: 'http://ltthostname.local:3334/api/stable/posts/46/href', image: true }],
  },
  { file: 'friendica/activities/update_note.json', parent: 'https://pirati.ca/objects/ec054ce7-2062-3bfa-8687-ca8313624820', group: ['https://ds9.lemmy.ml/c/testcom'], expect: 'edit' },
  { file: 'friendica/activities/delete.json', parent: 'https://pirati.ca/objects/ec054ce7-2062-3bfa-8687-ca8313624820', group: ['https://ds9.lemmy.ml/c/testcom'], after: 'friendica/activities/update_note.json', expect: 'delete' },
  { file: 'lemmy/activities/create_or_update/create_private_message.json', expect: 'ignored' },
  { file: 'mastodon/activities/private_message.json', wrap: true, expect: 'ignored' },
  { file: 'peertube/activities/announce_video.json', expect: 'ignored' },
];

eachDatabase('posts from other software become threads and replies', async (t, database) => {
  const a = await startInstance(t, database);
  const robin = await a.client.signUp('robin');
  await robin.post('/api/neighbourhoods', { handle: 'park-road', name: 'Park Road', locality: { placeName: 'Walkley' } });
  const group = `${a.url}/neighbourhoods/park-road`;
  const remote = await RemoteServer.start(t);
  const threadsHere = async () => (await robin.get('/api/neighbourhoods/park-road/threads?limit=100')).body.threads as any[];
  const actors = new Map<string, Awaited<ReturnType<RemoteServer['actor']>>>();

  /** The fixture moved onto the stand-in server and our neighbourhood, signed by a fresh actor there. */
  async function deliver(c: Case, parentUrl: string | null, given?: any) {
    let json = given ?? (await fixture(c.file));
    if (c.wrap) json = { '@context': json['@context'], id: `${json.id}#create`, type: 'Create', actor: json.attributedTo, object: json };
    const actorUri = typeof json.actor === 'string' ? json.actor : json.actor.id;
    // One stand-in actor per original, so an edit or deletion comes from the post's author.
    if (!actors.has(actorUri)) actors.set(actorUri, await remote.actor(`actor${actors.size + 1}`));
    const actor = actors.get(actorUri)!;
    const moved: [string, string][] = [[actorUri, actor.id], ...(c.group ?? []).map((url): [string, string] => [url, group])];
    if (c.parent && parentUrl) moved.push([c.parent, parentUrl]);
    const activity = moveFixture(json, remote, c.file.split('/')[0]!, moved, c.keep);
    if (c.wrap && c.group) activity.object.audience = group;
    const response = await postSigned(`${group}/inbox`, activity, actor);
    return { status: response.status, activity };
  }

  const parents = new Map<string, { id: number; url: string }>();
  const parentFor = async (c: Case) => {
    if (!c.parent) return null;
    if (!parents.has(c.parent)) {
      const created = (await robin.post('/api/neighbourhoods/park-road/threads', { kind: 'discussion', title: `Answered by ${c.file}`, body: 'A thread to answer.' })).body.thread;
      parents.set(c.parent, { id: created.id, url: `${a.url}/threads/${created.id}` });
    }
    return parents.get(c.parent)!;
  };
  const thread = async (id: number) => (await robin.get(`/api/threads/${id}`)).body;

  /** Attachments in the API, on the thread's page (an https image as an <img> with its alt text) and as Mastodon media. */
  async function checkAttachments(t: Test, row: any, expected: NonNullable<Case['attachments']>) {
    t.match(row.attachments, expected, 'its attachments in the API');
    const page = (await a.client.request('GET', `/threads/${row.id}`)).body as string;
    for (const attachment of expected) {
      const shownAsImage = attachment.image && attachment.url.startsWith('https:');
      const escaped = attachment.url.replace(/[.?*+^$()[\]{}|\\]/g, '\\$&');
      t.match(page, new RegExp(shownAsImage ? `<img src="${escaped}" alt="[^"]*" loading="lazy"` : `<a href="${escaped}" rel="nofollow noopener">`), `${attachment.url} on the page`);
    }
    const statuses = (await robin.get('/api/v1/timelines/public?limit=40')).body as any[];
    const status = statuses.find((s) => s.uri === `${a.url}/threads/${row.id}`);
    t.match(status?.media_attachments, expected.map((e) => ({ url: e.url, remote_url: e.url, type: e.image ? 'image' : 'unknown' })), 'as Mastodon media attachments');
  }

  for (const c of cases) {
    await t.test(c.file, async (t) => {
      const parent = await parentFor(c);
      const before = await threadsHere();
      const replies = async () => (parent ? (await thread(parent.id)).replies : []);
      if (c.expect === 'edit' || c.expect === 'delete') {
        // What is edited or deleted must be here first: the Note as its Create would have brought it.
        const update = await fixture(c.after ?? c.file);
        const original = { ...update, id: `${update.object.id}#create`, type: 'Create', object: { ...update.object, content: '<p>first version</p>' } };
        const path = `create-for-${c.after ?? c.file}`;
        if (!parents.has(path)) {
          parents.set(path, parent!);
          const { status } = await deliver(c, parent!.url, original);
          t.equal(status, 202);
          await eventually(async () => (await replies()).some((r: any) => r.body === 'first version'), 30_000, 'the original reply');
        }
      }
      const { status } = await deliver(c, parent?.url ?? null);
      t.equal(status, 202, 'accepted by the inbox');
      switch (c.expect) {
        case 'thread':
        case 'event': {
          const row = await eventually(async () => (await threadsHere()).find((r) => !before.some((b) => b.id === r.id) && (!c.text || r.title === c.text)), 30_000, 'a new thread');
          if (c.text) t.equal(row.title, c.text, 'its title');
          t.match(row.author.username, /@127\.0\.0\.1:\d+$/, 'by a remote author, named name@host');
          t.equal(row.kind, c.expect === 'event' ? 'event' : 'discussion');
          if (c.expect === 'event') t.ok(row.event.startsAt, 'with its start time');
          t.notMatch(row.bodyHtml, /<script|onerror=/i, 'sanitized');
          if (c.attachments) await checkAttachments(t, row, c.attachments);
          break;
        }
        case 'reply': {
          const reply = await eventually(async () => (await replies())[0], 30_000, 'the reply');
          if (c.text) t.match(reply.bodyHtml, c.text);
          t.match(reply.author.username, /@127\.0\.0\.1:\d+$/);
          break;
        }
        case 'votes': {
          const [likes, dislikes] = c.votes!;
          const counted = await eventually(async () => {
            const { thread: row } = await thread(parent!.id);
            return row.likeCount === likes && row.dislikeCount === dislikes && row;
          }, 30_000, `${likes} likes and ${dislikes} dislikes`);
          t.equal(counted.score, likes - dislikes, 'the score');
          if (dislikes) t.match((await a.client.request('GET', `/threads/${parent!.id}`)).body, /1 dislike from elsewhere/, 'the page shows the dislike');
          break;
        }
        case 'edit':
          await eventually(async () => (await replies()).some((r: any) => r.editedAt && r.body !== 'first version'), 30_000, 'the edit');
          break;
        case 'delete':
          await eventually(async () => (await replies()).every((r: any) => r.author === null), 30_000, 'the deletion');
          break;
        case 'ignored': {
          // Processing is asynchronous: a later, known-good delivery proves this one was handled (and dropped).
          await new Promise((resolve) => setTimeout(resolve, 300));
          t.same((await threadsHere()).map((r) => r.id), before.map((r) => r.id), 'no new thread');
        }
      }
    });
  }
});
