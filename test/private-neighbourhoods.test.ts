// Members-only neighbourhoods: joining waits for a moderator, and a non-member (anonymous or signed in)
// cannot read a thread by any path: API, pages, fragments, profiles, feeds, Mastodon API, search, streams.
import { eachDatabase, startApp } from './helpers.ts';
import { openStream, type StreamClient } from './streams.ts';
import { Visitor } from './visitor.ts';

eachDatabase('members-only neighbourhoods', async (t, database) => {
  const { app, client } = await startApp(t, database);
  const mod = await client.signUp('mod');
  const member = await client.signUp('member');
  const outsider = await client.signUp('outsider');
  await mod.post('/api/neighbourhoods', { handle: 'garden', name: 'Secret Garden', locality: { placeName: 'Walkley' } });

  await t.test('joining a members-only neighbourhood waits for a moderator', async (t) => {
    t.equal((await outsider.request('PUT', '/api/neighbourhoods/garden/privacy', { membersOnly: true })).status, 403);
    t.equal((await mod.request('PUT', '/api/neighbourhoods/garden/privacy', { membersOnly: true })).status, 204);
    t.equal((await client.get('/api/neighbourhoods/garden')).body.neighbourhood.membersOnly, true);
    const asked = await member.post('/api/neighbourhoods/garden/members');
    t.equal(asked.status, 200);
    t.equal(asked.body.viewerRole, null, 'not a member yet');
    await outsider.post('/api/neighbourhoods/garden/members');
    t.equal((await outsider.get('/api/neighbourhoods/garden/join-requests')).status, 403);
    t.match((await mod.get('/api/neighbourhoods/garden/join-requests')).body.requests, [{ username: 'member' }, { username: 'outsider' }]);
    t.equal((await outsider.post('/api/neighbourhoods/garden/join-requests/member/approve')).status, 403);
    t.equal((await mod.post('/api/neighbourhoods/garden/join-requests/member/approve')).status, 204);
    t.equal((await mod.post('/api/neighbourhoods/garden/join-requests/outsider/reject')).status, 204);
    t.equal((await mod.post('/api/neighbourhoods/garden/join-requests/outsider/reject')).status, 404, 'settled once');
    t.equal((await member.get('/api/neighbourhoods/garden')).body.viewerRole, 'member');
    t.equal((await outsider.get('/api/neighbourhoods/garden')).body.viewerRole, null);
    const entries = (await client.get('/api/neighbourhoods/garden/moderation-log')).body.entries.map((e: { action: string }) => e.action);
    t.same(entries.slice(0, 3), ['reject_join', 'approve_join', 'make_members_only']);
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
  const anonymousPublic = await open('/api/streams/public');
  const outsiderPublic = await open('/api/streams/public', outsider.token);
  const memberPublic = await open('/api/streams/public', member.token);

  const secret = (await member.post('/api/neighbourhoods/garden/threads', { kind: 'discussion', title: 'Hidden key', body: 'Under the third pot' })).body.thread;
  const reply = (await member.post(`/api/threads/${secret.id}/replies`, { body: 'Behind the shed too' })).body.reply;
  await mod.post('/api/neighbourhoods', { handle: 'open-road', name: 'Open Road', locality: { placeName: 'Walkley' } });
  await member.post('/api/follows', { neighbourhood: 'garden' });
  await outsider.post('/api/follows', { neighbourhood: 'garden' });
  const open_ = (await mod.post('/api/neighbourhoods/open-road/threads', { kind: 'discussion', title: 'Public news', body: 'Fete' })).body.thread;

  await t.test('a member reads it everywhere', async (t) => {
    t.equal((await member.get(`/api/threads/${secret.id}`)).status, 200);
    for (const url of ['/api/neighbourhoods/garden/threads', '/api/v1/timelines/public', '/api/v2/search?q=Hidden', '/api/home']) {
      const response = await member.get(url);
      t.match(JSON.stringify(response.body), /Hidden key|third pot/, `member: ${url} ${response.status}`);
    }
    t.equal((await memberPublic.next((m) => m.event === 'thread.created')).thread.title, 'Hidden key');
  });

  await t.test('a non-member, anonymous or signed in, reads it by no path', async (t) => {
    for (const [who, c] of [['anonymous', client], ['outsider', outsider]] as const) {
      t.equal((await c.get(`/api/threads/${secret.id}`)).status, 404, `${who}: API thread`);
      t.equal((await c.get('/api/neighbourhoods/garden/threads')).status, 404, `${who}: API list`);
      t.equal((await c.post(`/api/threads/${secret.id}/like`)).status, who === 'anonymous' ? 401 : 404, `${who}: like`);
      const leaks = [
        await c.get('/feeds/public/feed.atom'), await c.get('/feeds/public/feed.rss'), await c.get('/feeds/neighbourhoods/garden/threads.atom'),
        await c.get('/feeds/neighbourhoods/garden/events.ics'), await c.get('/api/public'), await c.get('/api/neighbourhoods/garden/feed'), await c.get('/api/home'),
        await c.get('/api/v1/timelines/public'), await c.get('/api/v2/search?q=Hidden'), await c.get('/api/v2/search?q=shed'),
        await c.get(`/members/member`), await c.get('/neighbourhoods/garden'),
      ];
      t.same(leaks.slice(0, 2).map((r) => r.status), [200, 200], 'the public feeds are there, without it');
      for (const response of leaks) {
        t.notMatch(JSON.stringify(response.body), /Hidden key|third pot|Behind the shed/, `${who}: ${response.status}`);
      }
      const statusId = (await member.get('/api/v1/timelines/public')).body.find((s: { content: string }) => /third pot/.test(s.content))?.id;
      t.ok(statusId, 'the member sees it as a status');
      t.equal((await c.get(`/api/v1/statuses/${statusId}`)).status, 404, `${who}: status`);
      t.equal((await c.get(`/api/v1/statuses/${statusId}/context`)).status, 404, `${who}: context`);
    }
    const visitor = new Visitor(app);
    t.equal((await visitor.get(`/threads/${secret.id}`)).statusCode, 404, 'page');
    t.equal((await visitor.get(`/fragments/threads/${secret.id}`)).statusCode, 404, 'fragment');
    t.equal((await visitor.get(`/fragments/replies/${reply.id}`)).statusCode, 404, 'reply fragment');
    const outsiderPages = new Visitor(app, { authorization: `Bearer ${outsider.token}` });
    t.equal((await outsiderPages.get(`/replies/${reply.id}/reply`)).statusCode, 404, 'the form answering a reply');
    t.match((await visitor.get('/neighbourhoods/garden')).body, /Only members read/);
    t.equal((await client.get(`/api/threads/${open_.id}`)).status, 200, 'public neighbourhoods are unaffected');
  });

  await t.test('streams carry it to members only', async (t) => {
    await mod.post(`/api/threads/${open_.id}/replies`, { body: 'marker' });
    for (const stream of [anonymousPublic, outsiderPublic]) {
      await stream.next((m) => m.event === 'reply.created' && m.reply.body === 'marker');
      t.notMatch(JSON.stringify(stream.messages), /Hidden key|Behind the shed/);
    }
    t.equal((await open('/api/streams/neighbourhoods/garden', outsider.token)).messages.length, 0);
  });
});
