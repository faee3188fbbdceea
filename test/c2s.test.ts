// ActivityPub client-to-server over HTTP with bearer tokens: a member posts a thread and a reply through
// their outbox on A, and a follower on B sees both arrive; likes, follows, edits, deletions and undos take
// the same domain paths; bad tokens, scopes, activities and places are refused with a reason.
import { eachDatabase } from './helpers.ts';
import { anotherDatabase, collectionIds, getJson, startInstance } from './instances.ts';
import { eventually, postSigned, RemoteServer } from './remote-server.ts';

const password = 'a long enough password';

async function send(url: string, token: string | undefined, body: unknown, contentType = 'application/activity+json') {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': contentType, ...(token && { authorization: `Bearer ${token}` }) },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: response.status, location: response.headers.get('location'), body: (await response.json()) as any };
}

async function read(url: string, token?: string) {
  const response = await fetch(url, { headers: { accept: 'application/activity+json', ...(token && { authorization: `Bearer ${token}` }) } });
  return { status: response.status, body: (await response.json()) as any };
}

eachDatabase('ActivityPub client-to-server', async (t, database) => {
  const a = await startInstance(t, database);
  const b = await startInstance(t, await anotherDatabase(t, database));
  const ann = await a.client.signUp('ann');
  const dan = await a.client.signUp('dan');
  await ann.post('/api/neighbourhoods', { handle: 'park-road', name: 'Park Road', locality: { placeName: 'Walkley' } });
  await dan.post('/api/neighbourhoods', { handle: 'closed-court', name: 'Closed Court', locality: { placeName: 'Crookes' } });
  const cal = await b.client.signUp('cal');
  t.equal((await cal.post('/api/follows', { neighbourhood: `@park-road@${new URL(a.url).host}` })).status, 201);
  await eventually(async () => (await collectionIds(`${a.url}/neighbourhoods/park-road/followers`)).length === 1, 30_000, 'the follower on A');

  const outbox = `${a.url}/members/ann/outbox`;
  const group = `${a.url}/neighbourhoods/park-road`;
  const actor = `${a.url}/members/ann`;

  await t.test('a thread and a reply through the outbox reach a follower on another instance', async (t) => {
    const created = await send(outbox, ann.token, {
      '@context': 'https://www.w3.org/ns/activitystreams',
      type: 'Create',
      actor,
      to: ['https://www.w3.org/ns/activitystreams#Public', group],
      object: { type: 'Page', name: 'Lost cat', content: '<p>Grey, answers to <em>Moss</em>.</p>', to: [group] },
    });
    t.equal(created.status, 201, 'Create(Page) is taken');
    t.match(created.location, new RegExp(`^${a.url}/threads/\\d+#create-`), 'Location names the new activity');
    t.equal(created.body.type, 'Create');
    const threadUrl = created.body.object.id as string;
    const page = await getJson(threadUrl);
    t.equal(page.name, 'Lost cat');
    t.equal(page.attributedTo, actor);

    const onB = await eventually(async () => JSON.stringify((await cal.get('/api/home')).body).includes('Lost cat') && (await cal.get('/api/home')).body, 30_000, 'the thread on B');
    t.ok(onB, 'the thread is federated to B');

    // A bare Note is wrapped in Create; a reply needs no neighbourhood, only what it answers.
    const replied = await send(outbox, ann.token, { type: 'Note', content: 'Found her, thanks all!', inReplyTo: threadUrl }, 'application/ld+json; profile="https://www.w3.org/ns/activitystreams"');
    t.equal(replied.status, 201, 'a bare Note is wrapped in Create');
    t.equal(replied.body.type, 'Create');
    t.equal(replied.body.object.inReplyTo, threadUrl);
    const threadOnB = onB.items.find((item: any) => item.thread?.title === 'Lost cat').thread;
    await eventually(async () => (await cal.get(`/api/threads/${threadOnB.id}`)).body.replies?.some((r: any) => r.body.includes('Found her')), 30_000, 'the reply on B');

    const listed = await collectionIds(outbox);
    t.same(listed.length, 2, 'the outbox lists both Creates');
    t.match(listed[0], /\/replies\/\d+#create-/, 'newest first');

    const inbox = await read(`${b.url}/members/cal/inbox`, cal.token);
    t.equal(inbox.status, 200, 'the owner reads their inbox');
    t.ok(JSON.stringify(inbox.body).includes('Lost cat'), 'holding what their home feed shows');
  });

  await t.test('Like, Update, Delete, Follow and Undo take the domain paths', async (t) => {
    const made = await send(outbox, ann.token, { type: 'Note', content: 'Street party\nSaturday at noon', to: [group] });
    t.equal(made.status, 201);
    const url = made.body.object.id as string;
    const id = Number(url.split('/').pop());
    t.equal((await ann.get(`/api/threads/${id}`)).body.thread.title, 'Street party', 'a Note’s first line is the title');

    const danToken = dan.token!;
    const liked = await send(`${a.url}/members/dan/outbox`, danToken, { type: 'Like', object: url });
    t.equal(liked.status, 201);
    t.equal((await ann.get(`/api/threads/${id}`)).body.thread.likeCount, 1, 'the like is counted');
    const undone = await send(`${a.url}/members/dan/outbox`, danToken, { type: 'Undo', object: liked.location });
    t.equal(undone.status, 201, 'Undo by the Like’s id');
    t.equal((await ann.get(`/api/threads/${id}`)).body.thread.likeCount, 0, 'and taken back');

    const edited = await send(outbox, ann.token, { type: 'Update', object: { type: 'Page', id: url, name: 'Street party (moved)', content: 'Sunday now' } });
    t.equal(edited.status, 201);
    const after = (await ann.get(`/api/threads/${id}`)).body.thread;
    t.equal(after.title, 'Street party (moved)');
    t.ok(after.editedAt, 'marked edited');
    t.equal((await send(`${a.url}/members/dan/outbox`, danToken, { type: 'Update', object: { type: 'Page', id: url, content: 'mine now' } })).status, 403, 'only the author edits');

    const followed = await send(`${a.url}/members/dan/outbox`, danToken, { type: 'Follow', object: group });
    t.equal(followed.status, 201);
    t.ok((await dan.get('/api/follows')).body.neighbourhoods.some((n: any) => n.handle === 'park-road'), 'the follow is stored');
    t.equal((await send(`${a.url}/members/dan/outbox`, danToken, { type: 'Undo', object: { type: 'Follow', object: group } })).status, 201);
    t.notOk((await dan.get('/api/follows')).body.neighbourhoods.some((n: any) => n.handle === 'park-road'), 'and undone');

    t.equal((await send(outbox, ann.token, { type: 'Delete', object: url })).status, 201);
    t.equal((await ann.get(`/api/threads/${id}`)).status, 404, 'deleted');
  });

  await t.test('a post addressed to no neighbourhood is the member\u2019s own, sent to their followers', async (t) => {
    const remote = await RemoteServer.start(t);
    const rex = await remote.actor('rex');
    const follow = { '@context': 'https://www.w3.org/ns/activitystreams', id: `${remote.origin}/follows/1`, type: 'Follow', actor: rex.id, object: actor };
    t.equal((await postSigned(`${a.url}/members/ann/inbox`, follow, rex)).status, 202);
    await eventually(() => remote.received.some((d) => d.body.type === 'Accept'), 30_000, 'the Accept');

    const posted = await send(outbox, ann.token, { type: 'Note', content: '<p>Lovely morning on the hill.</p>', to: ['https://www.w3.org/ns/activitystreams#Public'] });
    t.equal(posted.status, 201);
    t.match(posted.location, new RegExp(`^${a.url}/posts/\\d+#create-`));
    const url = posted.body.object.id as string;
    const delivered = await eventually(() => remote.received.find((d) => d.body.type === 'Create' && d.body.object?.id === url), 30_000, 'the Create at the follower');
    t.equal(delivered.body.actor, actor);
    t.ok([delivered.body.to].flat().includes('as:Public') || [delivered.body.to].flat().includes('https://www.w3.org/ns/activitystreams#Public'), 'public');
    t.same([delivered.body.cc].flat(), [`${actor}/followers`], 'to the followers');
    t.ok((await collectionIds(outbox)).some((id) => id.startsWith(`${url}#create-`)), 'its Create is in the outbox');
    const note = await getJson(url);
    t.equal(note.type, 'Note', 'served as AS2 at its URL');
    t.match(note.content, /Lovely morning/);
    const page = await fetch(url, { redirect: 'manual' });
    t.equal(page.headers.get('location'), `/members/ann#post-${url.split('/').pop()}`, 'browsers go to the profile');
    t.match(await (await fetch(`${a.url}/members/ann`)).text(), /Lovely morning on the hill/, 'on the profile page');

    t.equal((await send(outbox, ann.token, { type: 'Update', object: { type: 'Note', id: url, content: 'Lovely evening too.' } })).status, 201);
    await eventually(() => remote.received.some((d) => d.body.type === 'Update' && d.body.object?.id === url), 30_000, 'the Update at the follower');
    t.equal((await send(`${a.url}/members/dan/outbox`, dan.token, { type: 'Delete', object: url })).status, 403, 'only the author deletes');
    t.equal((await send(outbox, ann.token, { type: 'Delete', object: url })).status, 201);
    await eventually(() => remote.received.some((d) => d.body.type === 'Delete' && (d.body.object?.id ?? d.body.object) === url), 30_000, 'the Delete at the follower');
    t.equal((await fetch(url, { headers: { accept: 'application/activity+json' } })).status, 404, 'gone');
  });

  await t.test('the outbox pages through threads, replies and own posts together', async (t) => {
    const eve = await a.client.signUp('eve');
    t.equal((await eve.post('/api/neighbourhoods/park-road/members')).status < 300, true, 'eve joins');
    const posted: string[] = [];
    for (let i = 0; i < 13; i += 1) {
      for (const to of [[group], []]) posted.push((await send(`${a.url}/members/eve/outbox`, eve.token, { type: 'Note', content: `Note ${i}`, to })).location!);
    }
    const seen: string[] = [];
    let page = await getJson((await getJson(`${a.url}/members/eve/outbox`)).first);
    for (let pages = 0; page && pages < 5; pages += 1) {
      seen.push(...[page.orderedItems ?? []].flat().map((item: any) => item.id));
      page = page.next ? await getJson(page.next) : null;
    }
    t.equal(seen.length, 26, 'every Create once');
    t.same(seen, [...posted].reverse(), 'newest first, across both kinds');
  });

  await t.test('a like from another server is a favourite notification', async (t) => {
    const remote = await RemoteServer.start(t);
    const rae = await remote.actor('rae');
    const made = await send(outbox, ann.token, { type: 'Note', content: 'Plant swap\nCuttings by the gate', to: [group] });
    const like = { '@context': 'https://www.w3.org/ns/activitystreams', id: `${remote.origin}/likes/1`, type: 'Like', actor: rae.id, object: made.body.object.id };
    t.equal((await postSigned(`${a.url}/inbox`, like, rae)).status, 202);
    const notification = await eventually(async () => (await ann.get('/api/v1/notifications')).body.find((n: any) => n.type === 'favourite'), 30_000, 'the favourite');
    t.equal(notification.account.acct, `rae@${new URL(remote.origin).host}`, 'from the remote member, by name@host');
    t.equal(notification.account.username, 'rae');
    t.equal(notification.account.url, rae.id);
    t.equal(notification.status.url, made.body.object.id);
  });

  await t.test('bad tokens, scopes, activities and places', async (t) => {
    const note = { type: 'Note', content: 'Hello', to: [group] };
    t.equal((await send(outbox, undefined, note)).status, 401, 'no token');
    t.equal((await send(outbox, 'not-a-token', note)).status, 401, 'an unknown token');
    t.equal((await send(outbox, dan.token, note)).status, 403, 'someone else’s outbox');

    const registered = (await ann.post('/api/v1/apps', { client_name: 'Reader', redirect_uris: 'urn:ietf:wg:oauth:2.0:oob', scopes: 'read write:favourites' })).body;
    const grant = { grant_type: 'password', client_id: registered.client_id, client_secret: registered.client_secret, username: 'ann', password };
    const reader = (await a.client.post('/oauth/token', { ...grant, scope: 'read write:favourites' })).body.access_token;
    const refused = await send(outbox, reader, note);
    t.equal(refused.status, 403, 'a token without write:statuses cannot post');
    t.equal(refused.body.error, 'insufficient_scope');
    t.equal((await read(`${a.url}/members/ann/inbox`, reader)).status, 200, 'but reads the inbox');

    const revoked = (await a.client.post('/oauth/token', { ...grant, scope: 'read write:favourites' })).body.access_token;
    await a.client.post('/oauth/revoke', { token: revoked, client_id: registered.client_id, client_secret: registered.client_secret });
    t.equal((await send(outbox, revoked, note)).status, 401, 'a revoked token');
    t.equal((await read(`${a.url}/members/ann/inbox`)).status, 401, 'an inbox is not for anyone');
    t.equal((await read(`${a.url}/members/ann/inbox`, dan.token)).status, 403, 'nor for another member');

    const bad: [unknown, string, RegExp][] = [
      ['{"type": "Note",', 'application/activity+json', /not valid JSON/],
      [['a list'], 'application/activity+json', /one JSON object/],
      [{ content: 'no type' }, 'application/activity+json', /needs a `type`/],
      [{ type: 'Person', name: 'me' }, 'application/activity+json', /neither an activity nor a post/],
      [{ type: 'Note', content: '', to: [group] }, 'application/activity+json', /no content/],
      [{ type: 'Note', content: 'x', inReplyTo: 'https://elsewhere.example/notes/1' }, 'application/activity+json', /inReplyTo names no post/],
      [{ type: 'Create', actor: `${a.url}/members/dan`, object: note }, 'application/activity+json', /actor must be the owner/],
      [{ type: 'Block', object: group }, 'application/activity+json', /not an activity this outbox takes/],
      [{ type: 'Undo', object: 'https://elsewhere.example/x' }, 'application/activity+json', /Undo takes a Like or a Follow/],
    ];
    for (const [body, type, reason] of bad) {
      const answer = await send(outbox, ann.token, body, type);
      t.equal(answer.status, 400, `400 for ${JSON.stringify(body).slice(0, 60)}`);
      t.match(answer.body.message, reason);
    }
    const deep = `${'{"a":'.repeat(100)}1${'}'.repeat(100)}`;
    t.equal((await send(outbox, ann.token, deep)).status, 400, 'nested too deeply');

    const forbidden = await send(outbox, ann.token, { type: 'Note', content: 'Hi', to: [`${a.url}/neighbourhoods/closed-court`] });
    t.equal(forbidden.status, 403, 'posting where the member does not belong');
    t.equal((await send(outbox, ann.token, { type: 'Delete', object: `${a.url}/threads/999999` })).status, 404, 'deleting what is not there');
  });
});
