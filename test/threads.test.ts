import type { Test } from 'tap';
import { eachDatabase, snapshot, startApp } from './helpers.ts';

const xssPayloads = [
  '<script>alert(1)</script>',
  '<img src=x onerror="alert(1)">',
  '[click](javascript:alert(1))',
  '<a href="javascript:alert(1)">raw link</a>',
  '<iframe src="https://evil.example"></iframe>',
  '<svg onload=alert(1)>',
  '<p style="background:url(javascript:alert(1))" onclick="alert(1)">styled</p>',
  '[data](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)',
  '<a href="//evil.example">protocol-relative</a>',
];

function assertSafe(t: Test, html: string, label: string) {
  t.notMatch(html, /<script|<iframe|<svg|\bon\w+=|javascript:|data:text|style=|href="\/\//i, `${label} is inert: ${html}`);
}

eachDatabase('threads and replies', async (t, database) => {
  const { client } = await startApp(t, database);
  const alice = await client.signUp('alice');
  const bob = await client.signUp('bob');
  const carol = await client.signUp('carol');
  await alice.post('/api/neighbourhoods', { handle: 'park-road', name: 'Park Road', locality: { placeName: 'Walkley' } });
  await bob.post('/api/neighbourhoods/park-road/members');

  let discussionId = 0;

  await t.test('each kind of thread', async (t) => {
    const discussion = await alice.post('/api/neighbourhoods/park-road/threads', {
      kind: 'discussion',
      title: 'Bins on Tuesday?',
      body: 'Has anyone **heard** about the [new collection day](https://council.example/bins)?',
    });
    t.equal(discussion.status, 201);
    discussionId = discussion.body.thread.id;
    t.equal(discussion.body.thread.body, 'Has anyone **heard** about the [new collection day](https://council.example/bins)?', 'source kept');
    t.equal(
      discussion.body.thread.bodyHtml,
      '<p>Has anyone <strong>heard</strong> about the <a href="https://council.example/bins" rel="nofollow noopener noreferrer ugc">new collection day</a>?</p>\n',
    );
    t.equal(discussion.body.thread.author.username, 'alice');
    t.equal(discussion.body.thread.event, null);

    const event = await bob.post('/api/neighbourhoods/park-road/threads', {
      kind: 'event',
      title: 'Street party',
      body: 'Bring a chair.',
      event: { startsAt: '2027-06-05T12:00:00Z', endsAt: '2027-06-05T18:00:00Z', place: 'Outside number 12' },
    });
    t.equal(event.status, 201);
    t.same(event.body.thread.event, { startsAt: '2027-06-05T12:00:00.000Z', endsAt: '2027-06-05T18:00:00.000Z', place: 'Outside number 12' });

    const offer = await bob.post('/api/neighbourhoods/park-road/threads', {
      kind: 'offer', title: 'Ladder to lend', body: 'Six metres.', exchange: { item: 'Ladder', expiresAt: '2027-01-01T00:00:00Z' },
    });
    t.equal(offer.status, 201);
    t.same(offer.body.thread.exchange, { item: 'Ladder', expiresAt: '2027-01-01T00:00:00.000Z', status: 'open' });
    const fulfilled = await bob.patch(`/api/threads/${offer.body.thread.id}`, { exchange: { status: 'fulfilled' } });
    t.equal(fulfilled.body.thread.exchange.status, 'fulfilled');
    t.equal(fulfilled.body.thread.exchange.item, 'Ladder');

    const want = await alice.post('/api/neighbourhoods/park-road/threads', { kind: 'want', title: 'Help with shopping', body: 'Thursdays.', exchange: { item: 'An hour of time' } });
    t.equal(want.body.thread.exchange.status, 'open');
    const story = await alice.post('/api/neighbourhoods/park-road/threads', { kind: 'story', title: 'The old tram depot', body: 'In 1920…' });
    t.equal(story.status, 201);

    const events = await client.get('/api/neighbourhoods/park-road/threads?kind=event');
    t.same(events.body.threads.map((x: { title: string }) => x.title), ['Street party']);
  });

  await t.test('kind rules and bad input', async (t) => {
    const before = await snapshot(database.db);
    const cases: [string, unknown][] = [
      ['event without start', { kind: 'event', title: 't', body: 'b' }],
      ['event ends before start', { kind: 'event', title: 't', body: 'b', event: { startsAt: '2027-01-02T00:00:00Z', endsAt: '2027-01-01T00:00:00Z' } }],
      ['event details on a discussion', { kind: 'discussion', title: 't', body: 'b', event: { startsAt: '2027-01-02T00:00:00Z' } }],
      ['offer without item', { kind: 'offer', title: 't', body: 'b' }],
      ['exchange on a story', { kind: 'story', title: 't', body: 'b', exchange: { item: 'x' } }],
      ['unknown kind', { kind: 'poll', title: 't', body: 'b' }],
      ['bad date', { kind: 'event', title: 't', body: 'b', event: { startsAt: 'next tuesday' } }],
      ['title too long', { kind: 'story', title: 'x'.repeat(201), body: 'b' }],
      ['blank body', { kind: 'story', title: 't', body: '   ' }],
      ['title as number', { kind: 'story', title: 5, body: 'b' }],
      ['null body', { kind: 'story', title: 't', body: null }],
    ];
    for (const [name, body] of cases) {
      const response = await alice.post('/api/neighbourhoods/park-road/threads', body);
      t.equal(response.status, 400, `${name}: ${response.body.message}`);
      t.type(response.body.error, 'string');
    }
    const outsider = await carol.post('/api/neighbourhoods/park-road/threads', { kind: 'story', title: 't', body: 'b' });
    t.equal(outsider.status, 403, 'non-members cannot post');
    t.equal(outsider.body.error, 'not_a_member');
    t.equal((await client.post('/api/neighbourhoods/park-road/threads', { kind: 'story', title: 't', body: 'b' })).status, 401);
    t.equal((await alice.post('/api/neighbourhoods/nowhere/threads', { kind: 'story', title: 't', body: 'b' })).status, 404);
    t.same(await snapshot(database.db), before, 'nothing stored changed');
  });

  await t.test('XSS in Markdown and raw HTML is sanitized', async (t) => {
    for (const payload of xssPayloads) {
      const thread = await alice.post('/api/neighbourhoods/park-road/threads', { kind: 'discussion', title: payload, body: `Hello ${payload} there` });
      t.equal(thread.status, 201);
      assertSafe(t, thread.body.thread.bodyHtml, payload);
      t.equal(thread.body.thread.title, payload.trim(), 'titles are plain text, escaped where shown');
      const reply = await bob.post(`/api/threads/${thread.body.thread.id}/replies`, { body: payload });
      assertSafe(t, reply.body.reply.bodyHtml, `reply ${payload}`);
      const edited = await alice.patch(`/api/threads/${thread.body.thread.id}`, { body: `edited ${payload}` });
      assertSafe(t, edited.body.thread.bodyHtml, `edit ${payload}`);
    }
  });

  await t.test('SQL metacharacters in every text field', async (t) => {
    const nasty = `'; DROP TABLE threads; -- " \\ % _ $1 \u0000`.replace('\u0000', '');
    const thread = await alice.post('/api/neighbourhoods/park-road/threads', {
      kind: 'event', title: nasty, body: nasty, event: { startsAt: '2027-01-01T10:00:00Z', place: nasty },
    });
    t.equal(thread.status, 201);
    t.equal(thread.body.thread.title, nasty.trim());
    t.equal(thread.body.thread.event.place, nasty.trim());
    const reply = await bob.post(`/api/threads/${thread.body.thread.id}/replies`, { body: nasty });
    t.equal(reply.body.reply.body, nasty);
    const offer = await alice.post('/api/neighbourhoods/park-road/threads', { kind: 'offer', title: nasty, body: nasty, exchange: { item: nasty } });
    t.equal(offer.body.thread.exchange.item, nasty.trim());
    t.equal((await client.get(`/api/threads/${thread.body.thread.id}`)).body.thread.title, nasty.trim());
    const nul = await bob.post(`/api/threads/${thread.body.thread.id}/replies`, { body: 'nul \u0000 byte' });
    t.equal(nul.status, 400, 'PostgreSQL cannot store NUL: refused up front');
    t.equal(nul.body.error, 'invalid_text');
  });

  await t.test('replies nest, and deleted ones keep their place', async (t) => {
    const first = await bob.post(`/api/threads/${discussionId}/replies`, { body: 'Tuesday, I think.' });
    t.equal(first.status, 201);
    const second = await alice.post(`/api/threads/${discussionId}/replies`, { body: 'Thanks!', parentId: first.body.reply.id });
    const third = await bob.post(`/api/threads/${discussionId}/replies`, { body: 'Welcome', parentId: second.body.reply.id });
    const other = await alice.post(`/api/threads/${discussionId}/replies`, { body: 'Also: recycling?' });
    const thread = await client.get(`/api/threads/${discussionId}`);
    t.same(
      thread.body.replies.map((r: { id: number; depth: number }) => [r.id, r.depth]),
      [[first.body.reply.id, 0], [second.body.reply.id, 1], [third.body.reply.id, 2], [other.body.reply.id, 0]],
    );
    t.equal(thread.body.thread.replyCount, 4);

    const wrongParent = await alice.post(`/api/threads/${discussionId}/replies`, { body: 'x', parentId: 999999 });
    t.equal(wrongParent.status, 400);
    t.equal(wrongParent.body.error, 'invalid_parent');
    t.equal((await carol.post(`/api/threads/${discussionId}/replies`, { body: 'x' })).status, 403, 'non-members cannot reply');

    t.equal((await alice.delete(`/api/replies/${second.body.reply.id}`)).status, 204);
    const after = await client.get(`/api/threads/${discussionId}`);
    const deleted = after.body.replies.find((r: { id: number }) => r.id === second.body.reply.id);
    t.equal(deleted.deleted, true);
    t.equal(deleted.body, '');
    t.equal(deleted.author, null);
    t.equal(after.body.replies.length, 4, 'the reply under it is still there');
    t.equal(after.body.thread.replyCount, 3);
    t.equal((await alice.delete(`/api/replies/${second.body.reply.id}`)).status, 204, 'deleting twice is harmless');
    t.equal((await client.get(`/api/threads/${discussionId}`)).body.thread.replyCount, 3);
  });

  await t.test('only the author edits or deletes', async (t) => {
    const thread = await alice.post('/api/neighbourhoods/park-road/threads', { kind: 'story', title: 'Mine', body: 'My words' });
    const id = thread.body.thread.id;
    const before = await snapshot(database.db);
    t.equal((await bob.patch(`/api/threads/${id}`, { title: 'Theirs' })).status, 403);
    t.equal((await bob.delete(`/api/threads/${id}`)).status, 403);
    t.equal((await client.patch(`/api/threads/${id}`, { title: 'Anon' })).status, 401);
    t.equal((await alice.patch(`/api/threads/${id}`, {})).status, 400, 'an empty edit');
    t.equal((await alice.patch(`/api/threads/${id}`, { event: { startsAt: '2027-01-01T00:00:00Z' } })).status, 400, 'event details on a story');
    t.same(await snapshot(database.db), before);

    const edited = await alice.patch(`/api/threads/${id}`, { title: 'Mine, edited', body: 'New *words*' });
    t.equal(edited.body.thread.title, 'Mine, edited');
    t.equal(edited.body.thread.bodyHtml, '<p>New <em>words</em></p>\n');
    t.ok(edited.body.thread.editedAt);
    t.equal((await alice.delete(`/api/threads/${id}`)).status, 204);
    t.equal((await client.get(`/api/threads/${id}`)).status, 404);
    t.equal((await client.get('/api/threads/abc')).status, 400);
    t.equal((await client.get('/api/threads/99999999999')).status, 400);
  });

  await t.test('likes count once per member', async (t) => {
    t.same((await bob.post(`/api/threads/${discussionId}/like`)).body, { liked: true, likeCount: 1 });
    t.same((await bob.post(`/api/threads/${discussionId}/like`)).body, { liked: true, likeCount: 1 });
    t.same((await carol.post(`/api/threads/${discussionId}/like`)).body, { liked: true, likeCount: 2 });
    t.same((await bob.delete(`/api/threads/${discussionId}/like`)).body, { liked: false, likeCount: 1 });
    t.same((await bob.delete(`/api/threads/${discussionId}/like`)).body, { liked: false, likeCount: 1 });
    const reply = (await client.get(`/api/threads/${discussionId}`)).body.replies[0];
    t.same((await carol.post(`/api/replies/${reply.id}/like`)).body, { liked: true, likeCount: 1 });
    t.equal((await client.post(`/api/replies/${reply.id}/like`)).status, 401);
    t.equal((await carol.post('/api/replies/424242/like')).status, 404);
  });

  await t.test('lists are newest activity first, paginated by cursor', async (t) => {
    const seen: number[] = [];
    let cursor: string | null = null;
    do {
      const page: { body: { threads: { id: number; lastActivityAt: string }[]; next: string | null } } = await client.get(
        `/api/neighbourhoods/park-road/threads?limit=3${cursor ? `&cursor=${cursor}` : ''}`,
      );
      seen.push(...page.body.threads.map((x) => x.id));
      cursor = page.body.next;
    } while (cursor);
    t.equal(new Set(seen).size, seen.length, 'no thread twice');
    const all = await client.get('/api/neighbourhoods/park-road/threads?limit=100');
    t.same(seen, all.body.threads.map((x: { id: number }) => x.id), 'pages join up to the full list');
    const times = all.body.threads.map((x: { lastActivityAt: string }) => Date.parse(x.lastActivityAt));
    t.same(times, [...times].sort((a, b) => b - a), 'sorted by last activity, newest first');
    // A reply moves its thread to the top.
    const oldest = all.body.threads[all.body.threads.length - 1].id;
    await bob.post(`/api/threads/${oldest}/replies`, { body: 'bump' });
    t.equal((await client.get('/api/neighbourhoods/park-road/threads?limit=1')).body.threads[0].id, oldest);
  });
});
