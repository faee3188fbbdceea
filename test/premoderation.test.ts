// Pre-moderation: a neighbourhood holds the first posts of members new to it, and posts with its moderators'
// words. A held post is invisible by every read path (API, pages, fragments, feeds, Mastodon API, search,
// streams) to all but its author and the moderators, until a moderator approves it; then it appears once,
// as if just posted. Rejections and approvals are logged.
import { eachDatabase, startApp } from './helpers.ts';
import { openStream, type StreamClient } from './streams.ts';
import { Visitor } from './visitor.ts';

eachDatabase('pre-moderation', async (t, database) => {
  const { app, client } = await startApp(t, database);
  const mod = await client.signUp('mod');
  const newcomer = await client.signUp('newcomer');
  const regular = await client.signUp('regular');
  const outsider = await client.signUp('outsider');
  await mod.post('/api/neighbourhoods', { handle: 'park-road', name: 'Park Road', locality: { placeName: 'Walkley' } });
  await regular.post('/api/neighbourhoods/park-road/members');
  const old = (await regular.post('/api/neighbourhoods/park-road/threads', { kind: 'discussion', title: 'Bins', body: 'Bin day moved' })).body.thread;

  await t.test('only moderators set what is held, and the setting is logged', async (t) => {
    const settings = { holdFirstPosts: 1, holdWords: ['  Cheap Watches ', 'casino', 'casino'] };
    t.equal((await regular.request('PUT', '/api/neighbourhoods/park-road/premoderation', settings)).status, 403);
    t.equal((await client.request('PUT', '/api/neighbourhoods/park-road/premoderation', settings)).status, 401);
    const saved = await mod.request('PUT', '/api/neighbourhoods/park-road/premoderation', settings);
    t.equal(saved.status, 200);
    t.same(saved.body, { holdFirstPosts: 1, holdWords: ['cheap watches', 'casino'] });
    t.same((await mod.get('/api/neighbourhoods/park-road/premoderation')).body, saved.body);
    t.equal((await mod.request('PUT', '/api/neighbourhoods/park-road/premoderation', { holdFirstPosts: -1, holdWords: [] })).status, 400);
    const log = (await client.get('/api/neighbourhoods/park-road/moderation-log')).body.entries;
    t.equal(log[0].action, 'set_premoderation');
  });

  await app.listen({ host: '127.0.0.1', port: 0 });
  const port = (app.server.address() as { port: number }).port;
  const streams: StreamClient[] = [];
  t.teardown(() => streams.forEach((s) => s.close()));
  const open = async (path: string, token?: string) => {
    const stream = await openStream(`ws://127.0.0.1:${port}${path}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
    streams.push(stream);
    return stream;
  };
  const publicStream = await open('/api/streams/public');
  const modStream = await open('/api/streams/neighbourhoods/park-road', mod.token);

  await newcomer.post('/api/neighbourhoods/park-road/members');
  await outsider.post('/api/follows', { neighbourhood: 'park-road' });
  const first = await newcomer.post('/api/neighbourhoods/park-road/threads', { kind: 'event', title: 'Street party', body: 'Bring a chair', event: { startsAt: '2030-06-01T12:00:00Z' } });
  const worded = await regular.post(`/api/threads/${old.id}/replies`, { body: 'Visit my CASINO tonight' });
  const wordedThread = await regular.post('/api/neighbourhoods/park-road/threads', { kind: 'offer', title: 'Cheap watches!', body: 'Very cheap', exchange: { item: 'watches' } });
  const fine = await regular.post(`/api/threads/${old.id}/replies`, { body: 'Casinos are not casino-free... marker' });

  await t.test('a newcomer\u2019s first post and posts with a held word wait, with where to see them', async (t) => {
    for (const held of [first, worded, wordedThread]) {
      t.equal(held.status, 202);
      t.equal(held.body.error, 'held_for_approval');
      t.match(held.body.message, /awaiting approval by the moderators of Park Road/);
      t.match(held.headers.location, /^\/api\/held-posts\/\d+$/);
    }
    t.equal(fine.status, 202, '"casino-free" is the word casino');
    const mine = (await newcomer.get('/api/held-posts')).body.heldPosts;
    t.match(mine, [{ title: 'Street party', status: 'awaiting_approval', neighbourhood: 'park-road', reason: /first 1 posts/ }]);
    t.equal((await newcomer.get(first.headers.location as string)).status, 200, 'the author sees it');
    t.equal((await mod.get(first.headers.location as string)).status, 200, 'a moderator sees it');
    t.equal((await outsider.get(first.headers.location as string)).status, 404, 'no one else does');
    const queue = (await mod.get('/api/neighbourhoods/park-road/held-posts')).body.heldPosts;
    t.equal(queue.length, 4);
    t.match(queue[1], { author: 'regular', threadId: old.id, html: /CASINO/, reason: /casino/ });
    t.equal((await regular.get('/api/neighbourhoods/park-road/held-posts')).status, 403);
  });

  await t.test('a moderator is not held', async (t) => {
    t.equal((await mod.post(`/api/threads/${old.id}/replies`, { body: 'No casino here, marker' })).status, 201);
  });

  await t.test('held posts are invisible on every read path, to everyone but author and moderators', async (t) => {
    const secret = /Street party|Bring a chair|CASINO|Cheap watches|Very cheap/;
    for (const [who, c] of [['anonymous', client], ['outsider', outsider], ['regular', regular]] as const) {
      const responses = [
        await c.get(`/api/threads/${old.id}`), await c.get('/api/neighbourhoods/park-road/threads'),
        await c.get('/feeds/public/feed.atom'), await c.get('/feeds/public/feed.rss'), await c.get('/feeds/neighbourhoods/park-road/threads.atom'),
        await c.get('/feeds/neighbourhoods/park-road/events.ics'), await c.get('/api/public'), await c.get('/api/neighbourhoods/park-road/feed'),
        await c.get('/api/home'), await c.get('/api/v1/timelines/public'), await c.get('/api/v2/search?q=party'), await c.get('/api/v2/search?q=watches'),
        await c.get('/members/newcomer'), await c.get('/neighbourhoods/park-road'), await c.get(`/threads/${old.id}`), await c.get('/api/directory'),
      ];
      for (const response of responses) t.notMatch(JSON.stringify(response.body), secret, `${who}: ${response.status}`);
    }
    t.equal((await client.get(`/api/threads/${old.id}`)).body.thread.replyCount, 1, 'the reply count leaves them out');
    const ap = await app.inject({ url: `/threads/${old.id}`, headers: { accept: 'application/activity+json' } });
    t.notMatch(ap.body, secret, 'ActivityPub');
    const visitor = new Visitor(app);
    t.notMatch((await visitor.get(`/threads/${old.id}`)).body, secret, 'page');
    await publicStream.next((m) => m.event === 'reply.created' && /No casino here/.test(m.reply.body));
    t.notMatch(JSON.stringify(publicStream.messages), secret, 'public stream');
    t.notMatch(JSON.stringify(modStream.messages), secret, 'neighbourhood stream');
  });

  await t.test('approval publishes it once, live, and logs it; rejection drops it', async (t) => {
    const [party, casino, watches, casinoFree] = (await mod.get('/api/neighbourhoods/park-road/held-posts')).body.heldPosts;
    t.equal((await regular.post(`/api/held-posts/${party.id}/approve`)).status, 403);
    const approved = await mod.post(`/api/held-posts/${party.id}/approve`, { reason: 'Welcome' });
    t.equal(approved.status, 200);
    t.equal(approved.body.thread.title, 'Street party');
    t.equal(approved.body.thread.author.username, 'newcomer');
    t.equal((await mod.post(`/api/held-posts/${party.id}/approve`)).status, 404, 'decided once');
    t.equal((await publicStream.next((m) => m.event === 'thread.created')).thread.title, 'Street party');
    t.equal((await client.get(`/api/threads/${approved.body.thread.id}`)).status, 200);
    t.match((await client.get('/feeds/neighbourhoods/park-road/events.ics')).body, /Street party/);
    t.same((await newcomer.get('/api/held-posts')).body.heldPosts, []);
    t.equal((await newcomer.post(`/api/threads/${approved.body.thread.id}/replies`, { body: 'Second post goes straight out' })).status, 201, 'past the first posts');

    const reply = (await mod.post(`/api/held-posts/${casinoFree.id}/approve`)).body.reply;
    t.equal(reply.body, 'Casinos are not casino-free... marker');
    t.equal((await client.get(`/api/threads/${old.id}`)).body.thread.replyCount, 2);
    for (const held of [casino, watches]) t.equal((await mod.post(`/api/held-posts/${held.id}/reject`, { reason: 'Spam' })).status, 204);
    t.same((await mod.get('/api/neighbourhoods/park-road/held-posts')).body.heldPosts, []);
    const log = (await client.get('/api/neighbourhoods/park-road/moderation-log')).body.entries;
    t.match(log.slice(0, 4), [
      { action: 'reject_post', member: 'regular', reason: 'Spam' },
      { action: 'reject_post', member: 'regular', threadId: old.id },
      { action: 'approve_post', replyId: reply.id },
      { action: 'approve_post', member: 'newcomer', threadId: approved.body.thread.id, reason: 'Welcome' },
    ]);
    t.notMatch(JSON.stringify(publicStream.messages), /CASINO|Cheap watches/);
  });

  await t.test('in a members-only neighbourhood a held post is hidden from members and non-members alike', async (t) => {
    await mod.post('/api/neighbourhoods', { handle: 'garden', name: 'Secret Garden', locality: { placeName: 'Walkley' } });
    await mod.request('PUT', '/api/neighbourhoods/garden/privacy', { membersOnly: true });
    await mod.request('PUT', '/api/neighbourhoods/garden/premoderation', { holdFirstPosts: 1, holdWords: [] });
    for (const [name, member] of [['newcomer', newcomer], ['regular', regular]] as const) {
      await member.post('/api/neighbourhoods/garden/members');
      t.equal((await mod.post(`/api/neighbourhoods/garden/join-requests/${name}/approve`)).status, 204);
    }
    const held = await newcomer.post('/api/v1/statuses', { status: '@garden Hidden key\nUnder the third pot' });
    t.equal(held.status, 202, 'the Mastodon API says it is held');
    t.match(held.body, { code: 'held_for_approval', error: /awaiting approval/ });
    const location = held.headers.location as string;
    t.equal((await newcomer.get(location)).body.title, 'Hidden key');
    const gardenStream = await open('/api/streams/neighbourhoods/garden', regular.token);
    for (const [who, c] of [['member', regular], ['outsider', outsider], ['anonymous', client]] as const) {
      if (c.token) t.equal((await c.get(location)).status, 404, `${who}: the held post`);
      const responses = [
        await c.get('/api/neighbourhoods/garden/threads'), await c.get('/api/home'), await c.get('/api/v1/timelines/public'),
        await c.get('/api/v2/search?q=third'), await c.get('/feeds/neighbourhoods/garden/threads.atom'), await c.get('/members/newcomer'),
        await c.get('/api/held-posts'),
      ];
      for (const response of responses) t.notMatch(JSON.stringify(response.body), /Hidden key|third pot/, `${who}: ${response.status}`);
    }
    await mod.post(`/api/threads/${old.id}/replies`, { body: 'garden marker' });
    await publicStream.next((m) => m.event === 'reply.created' && m.reply.body === 'garden marker');
    t.notMatch(JSON.stringify([gardenStream.messages, publicStream.messages]), /Hidden key|third pot/, 'streams');
    t.equal((await regular.delete(location)).status, 404, 'only its author withdraws it');
    t.equal((await newcomer.delete(location)).status, 204);
    t.same((await mod.get('/api/neighbourhoods/garden/held-posts')).body.heldPosts, []);
  });
});
