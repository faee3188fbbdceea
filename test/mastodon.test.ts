// The Mastodon client API's rules: bad input, tokens and scopes, ids and paging, bodies in every encoding.
import { eachDatabase, snapshot, startApp } from './helpers.ts';

const password = 'a long enough password';
const form = { 'content-type': 'application/x-www-form-urlencoded' };

eachDatabase('Mastodon client API', async (t, database) => {
  const { client } = await startApp(t, database);
  const alice = await client.signUp('alice');
  const bob = await client.signUp('bob');
  await alice.post('/api/neighbourhoods', { handle: 'park-road', name: 'Park Road', locality: { placeName: 'Walkley' } });
  await alice.post('/api/neighbourhoods', { handle: 'mill-lane', name: 'Mill Lane', locality: { placeName: 'Hillsborough' } });
  const thread = (await alice.post('/api/v1/statuses', { status: '@park-road Bins\nTuesday?' })).body;

  await t.test('instance, with the streaming address apps connect to', async (t) => {
    const v1 = await client.get('/api/v1/instance');
    t.equal(v1.body.urls.streaming_api, 'ws://forum.test');
    t.match(v1.body.version, /^4\.\d+\.\d+ \(compatible; Square Mile/);
    t.equal(v1.body.registrations, true);
    t.equal(v1.body.stats.user_count, 2);
    t.equal(v1.body.stats.status_count, 1);
    const v2 = await client.get('/api/v2/instance/');
    t.equal(v2.status, 200, 'trailing slashes are tolerated');
    t.equal(v2.body.configuration.urls.streaming, 'ws://forum.test');
    t.equal(v2.body.domain, 'forum.test');
  });

  await t.test('status ids are unique across threads and replies, and sort by time', async (t) => {
    t.match(thread.id, /^\d{24}$/);
    const reply = (await alice.post('/api/v1/statuses', { status: 'Yes.', in_reply_to_id: thread.id })).body;
    t.match(reply.id, /^\d{24}$/);
    t.ok(reply.id > thread.id, 'a later post has a greater id, as a string and as a number');
    t.ok(BigInt(reply.id) > BigInt(thread.id));
    t.equal((await client.get(`/api/v1/statuses/${reply.id}`)).body.in_reply_to_id, thread.id);
    await alice.delete(`/api/v1/statuses/${reply.id}`);
  });

  await t.test('a status that mentions no neighbourhood is a post on the member\u2019s profile', async (t) => {
    const posted = await alice.post('/api/v1/statuses', { status: 'Just my thoughts on **bins** #tidy' });
    t.equal(posted.status, 200);
    t.match(posted.body.id, /^\d{13}3\d{10}$/, 'a third kind of status id');
    t.match(posted.body.url, /^http:\/\/forum\.test\/posts\/\d+$/);
    t.same(posted.body.mentions, []);
    t.match(posted.body.content, /<strong>bins<\/strong>/);
    const me = (await alice.get('/api/v1/accounts/verify_credentials')).body;
    t.ok((await client.get(`/api/v1/accounts/${me.id}/statuses`)).body.some((s: any) => s.id === posted.body.id), 'on the member\u2019s account');
    t.ok((await client.get('/api/v1/timelines/public')).body.some((s: any) => s.id === posted.body.id), 'in public');
    t.ok((await client.get('/api/v1/timelines/tag/tidy')).body.some((s: any) => s.id === posted.body.id), 'by its hashtag');
    t.notOk((await bob.get('/api/v1/timelines/home')).body.some((s: any) => s.id === posted.body.id), 'not in a neighbourhood\u2019s home timeline');
    t.same((await client.get(`/api/v1/statuses/${posted.body.id}/context`)).body, { ancestors: [], descendants: [] });
    t.equal((await bob.post(`/api/v1/statuses/${posted.body.id}/favourite`)).status, 422, 'likes are not taken yet');
    t.equal((await bob.post('/api/v1/statuses', { status: 'Agreed', in_reply_to_id: posted.body.id })).status, 422, 'nor replies');
    const page = await client.get(`/members/alice`);
    t.match(page.body, /Just my thoughts on <strong>bins<\/strong>/, 'on the profile page');

    const edited = await alice.request('PUT', `/api/v1/statuses/${posted.body.id}`, { status: 'Second thoughts' });
    t.equal(edited.status, 200);
    t.match(edited.body.content, /Second thoughts/);
    t.ok(edited.body.edited_at);
    t.equal((await bob.request('PUT', `/api/v1/statuses/${posted.body.id}`, { status: 'mine' })).status, 403, 'only the author edits');
    t.equal((await bob.delete(`/api/v1/statuses/${posted.body.id}`)).status, 403, 'or deletes');
    const deleted = await alice.delete(`/api/v1/statuses/${posted.body.id}`);
    t.equal(deleted.body.text, 'Second thoughts');
    t.equal((await client.get(`/api/v1/statuses/${posted.body.id}`)).status, 404);
  });

  await t.test('a status with a one-line text and a long first line', async (t) => {
    const one = (await alice.post('/api/v1/statuses', { status: '@park-road Hedgehog in the garden!' })).body;
    const shown = await client.get(`/api/v1/statuses/${one.id}`);
    t.match(shown.body.content, /<strong>Hedgehog in the garden!<\/strong><\/p><p>Hedgehog in the garden!<\/p>/, 'the one line is title and body');
    const long = (await alice.post('/api/v1/statuses', { status: `${'a'.repeat(250)}\n\nmore @park-road` })).body;
    const row = await database.db.selectFrom('threads').select(['title', 'body_source']).where('id', '=', Number(long.id.slice(14))).executeTakeFirstOrThrow();
    t.equal(row.title, 'a'.repeat(200), 'the title is cut to 200 characters');
    t.equal(row.body_source, 'more');
    const withRemote = (await alice.post('/api/v1/statuses', { status: 'cc @someone@elsewhere.example: @park-road Found keys\nBy the post box.' })).body;
    t.match(withRemote.content, /<strong>cc @someone@elsewhere.example: Found keys<\/strong>/, 'a remote person mentioned first does not stop the thread');
    const html = (await alice.post('/api/v1/statuses', { status: '@park-road <script>alert(1)</script> title\n<img src=x onerror=alert(1)>' })).body;
    t.notMatch(html.content, /<script|onerror/, 'content is sanitized');
    t.match(html.content, /&lt;script&gt;/, 'and a title is text');
  });

  await t.test('form-encoded and JSON bodies both work', async (t) => {
    const viaForm = await alice.request('POST', '/api/v1/statuses', new URLSearchParams({ status: '@mill-lane From a form\nIt works.', visibility: 'public' }).toString(), form);
    t.equal(viaForm.status, 200);
    t.equal(viaForm.body.mentions[0].acct, 'mill-lane');
    const liked = await bob.request('POST', `/api/v1/statuses/${viaForm.body.id}/favourite`, '', form);
    t.equal(liked.body.favourited, true);
    await alice.delete(`/api/v1/statuses/${viaForm.body.id}`);
  });

  await t.test('bad input: clear errors, nothing stored', async (t) => {
    const session = await client.post('/api/session', { username: 'alice', password });
    const cookie = String(([] as string[]).concat(session.headers['set-cookie'] as string)[0]).split(';')[0]!;
    const gone = (await alice.post('/api/v1/statuses', { status: 'Soon gone', in_reply_to_id: thread.id })).body;
    await alice.delete(`/api/v1/statuses/${gone.id}`);
    const before = await snapshot(database.db);
    const wrongToken = await alice.as('not-a-token').get('/api/v1/timelines/home');
    t.equal(wrongToken.status, 401);
    t.same(wrongToken.body, { error: 'The access token is invalid', message: 'The access token is invalid', code: 'unauthorized' });
    t.equal(wrongToken.headers['www-authenticate'], 'Bearer error="invalid_token"');
    t.equal((await client.get('/api/v1/timelines/home')).status, 401, 'no token');
    t.equal((await alice.as('not-a-token').get('/api/v1/timelines/public')).status, 401, 'a bad token is refused even where none is needed');

    const outsider = await bob.post('/api/v1/statuses', { status: '@park-road Hello\nI live here too' });
    t.equal(outsider.status, 403, 'posting where one is not a member');
    t.equal(outsider.body.code, 'not_a_member');
    t.equal((await bob.post('/api/v1/statuses', { status: 'Me too', in_reply_to_id: thread.id })).status, 403, 'replying likewise');

    const unprocessable: [string, unknown][] = [
      ['a blank status', { status: '   ' }],
      ['no status at all', {}],
      ['only a mention', { status: '@park-road' }],
      ['a number for a status', { status: 5 }],
      ['direct message', { status: '@park-road Secret\nshh', visibility: 'direct' }],
      ['an unknown visibility', { status: '@park-road x\ny', visibility: 'everyone' }],
      ['media', { status: '@park-road Photo\nlook', media_ids: ['1'] }],
      ['a poll', { status: '@park-road Vote\nnow', poll: { options: ['a', 'b'], expires_in: 60 } }],
      ['a neighbourhood elsewhere', { status: '@park-road@elsewhere.example Hello\nthere' }],
      ['too long', { status: `@park-road ${'x'.repeat(20_001)}` }],
    ];
    for (const [name, body] of unprocessable) {
      const response = await alice.post('/api/v1/statuses', body);
      t.equal(response.status, 422, `${name}: ${response.body.error}`);
      t.type(response.body.error, 'string');
    }
    const malformed = await alice.request('POST', '/api/v1/statuses', '{"status": "@park-road', { 'content-type': 'application/json' });
    t.equal(malformed.status, 400, 'unreadable JSON');
    t.equal((await alice.request('POST', '/api/v1/statuses', 'status=x', { 'content-type': 'text/plain' })).status, 415);
    t.equal((await alice.post('/api/v1/statuses', { status: 'hi', in_reply_to_id: '12345' })).status, 404, 'replying to nothing');
    t.equal((await alice.post('/api/v1/statuses', { status: 'hi', in_reply_to_id: gone.id })).status, 404, 'replying to a deleted reply');
    t.equal((await alice.get('/api/v1/statuses/abc')).status, 404);
    t.equal((await alice.get('/api/v1/statuses/999999999999999999999999')).status, 404);
    t.equal((await alice.get('/api/v1/accounts/99999990')).status, 404);
    t.equal((await alice.get('/api/v1/accounts/99999999990')).status, 404, 'an id beyond any row');
    t.equal((await alice.get('/api/v1/statuses/179531686093119999999999')).status, 404, 'a status id beyond any row');
    t.equal((await alice.post('/api/v1/accounts/99999999991/follow')).status, 404);
    t.same((await alice.get('/api/v1/accounts/relationships?id[]=99999999991&id[]=x')).body.map((r: { following: boolean }) => r.following), [false, false]);
    t.equal((await alice.get('/api/v2/search?q=%00')).body.code, 'invalid_text', 'NUL never reaches the database');
    t.equal((await alice.post('/api/v1/statuses', { status: '@park-road a\u0000b' })).status, 422);
    t.equal((await alice.get('/api/v1/timelines/home?max_id=abc')).status, 422);
    t.equal((await bob.delete(`/api/v1/statuses/${thread.id}`)).status, 403, 'only the author deletes');
    t.equal((await alice.post('/api/v1/accounts/20/follow')).status, 422, 'following a member is not supported yet');

    // A session cookie never authenticates here, even with a JSON body.
    const withCookie = await client.request('POST', '/api/v1/statuses', { status: '@park-road Cookie\npost' }, { cookie });
    t.equal(withCookie.status, 401);
    t.equal((await client.request('GET', '/api/v1/timelines/home', undefined, { cookie, authorization: 'bearer not-a-token' })).status, 401, 'nor behind a bad token');
    t.equal((await client.request('GET', '/api/v1/timelines/home', undefined, { authorization: `bearer ${alice.token}` })).status, 200, 'the scheme name is case-insensitive');
    t.same(await snapshot(database.db), before, 'nothing stored changed');
  });

  await t.test('registration from an app', async (t) => {
    const app = (await client.post('/api/v1/apps', { client_name: 'Signup', redirect_uris: 'urn:ietf:wg:oauth:2.0:oob', scopes: 'read write' })).body;
    const appToken = (await client.post('/oauth/token', { grant_type: 'client_credentials', client_id: app.client_id, client_secret: app.client_secret, scope: 'read write' })).body.access_token;
    const registering = client.as(appToken);
    t.equal((await alice.post('/api/v1/accounts', { username: 'carol', password, agreement: true })).status, 401, 'a member\u2019s token cannot register others');
    t.equal((await registering.post('/api/v1/accounts', { username: 'carol', password, agreement: false })).status, 422, 'the agreement must be accepted');
    t.equal((await registering.post('/api/v1/accounts', { username: 'bad name', password, agreement: true })).status, 422);
    t.equal((await registering.post('/api/v1/accounts', { username: 'park-road', password, agreement: true })).status, 422, 'names are shared with neighbourhoods');
    const readOnly = (await client.post('/oauth/token', { grant_type: 'client_credentials', client_id: app.client_id, client_secret: app.client_secret, scope: 'read' })).body.access_token;
    t.equal((await client.as(readOnly).post('/api/v1/accounts', { username: 'carol', password })).status, 403, 'registering needs write:accounts');
    const created = await registering.post('/api/v1/accounts', { username: 'carol', email: 'carol@example.test', password, agreement: 'true', locale: 'en' });
    t.equal(created.status, 200);
    t.equal(created.body.scope, 'read write');
    t.equal((await client.as(created.body.access_token).get('/api/v1/accounts/verify_credentials')).body.username, 'carol');
    t.equal((await registering.post('/api/v1/accounts', { username: 'Carol', password })).status, 409, 'a taken name');
  });

  await t.test('registration closed', async (t) => {
    const closed = await startApp(t, database, { REGISTRATION: 'closed' });
    const app = (await closed.client.post('/api/v1/apps', { client_name: 'Signup', redirect_uris: 'urn:ietf:wg:oauth:2.0:oob', scopes: 'write' })).body;
    const token = (await closed.client.post('/oauth/token', { grant_type: 'client_credentials', client_id: app.client_id, client_secret: app.client_secret, scope: 'write' })).body.access_token;
    const refused = await closed.client.as(token).post('/api/v1/accounts', { username: 'dave', password });
    t.equal(refused.status, 403);
    t.equal((await closed.client.get('/api/v1/instance')).body.registrations, false);
  });

  await t.test('timelines page by id, with Link headers', async (t) => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i += 1) ids.push((await alice.post('/api/v1/statuses', { status: `@mill-lane Post ${i}\nbody` })).body.id);
    const newestFirst = [...ids].reverse();
    const first = await alice.get('/api/v1/accounts/21/statuses?limit=2');
    t.same(first.body.map((s: { id: string }) => s.id), newestFirst.slice(0, 2), 'a neighbourhood account lists its posts');
    t.match(first.headers.link, new RegExp(`max_id=${newestFirst[1]}>; rel="next"`));
    t.match(first.headers.link, new RegExp(`min_id=${newestFirst[0]}>; rel="prev"`));
    const seen: string[] = [];
    let maxId = '';
    for (let page = 0; page < 10; page += 1) {
      const response = await alice.get(`/api/v1/timelines/public?limit=2${maxId ? `&max_id=${maxId}` : ''}`);
      if (!response.body.length) break;
      seen.push(...response.body.map((s: { id: string }) => s.id));
      maxId = response.body[response.body.length - 1].id;
    }
    t.same(seen, [...seen].sort().reverse(), 'newest first');
    t.ok(newestFirst.every((id) => seen.includes(id)), 'pages join up');
    t.equal(new Set(seen).size, seen.length, 'no status twice');
    const above = await alice.get(`/api/v1/timelines/public?min_id=${ids[1]}&limit=2`);
    t.same(above.body.map((s: { id: string }) => s.id), [ids[3], ids[2]], 'min_id gives the ones just above, newest first');
    const since = await alice.get(`/api/v1/timelines/public?since_id=${ids[2]}&limit=40`);
    t.same(since.body.map((s: { id: string }) => s.id), [ids[4], ids[3]]);
    t.same((await alice.get('/api/v1/timelines/home?limit=1')).body.map((s: { id: string }) => s.id), [ids[4]]);
    t.same((await bob.get('/api/v1/timelines/home')).body, [], 'home shows only the neighbourhoods one follows');
    // Following without joining fills the home timeline, as it fills /api/home and the user stream.
    const followed = await bob.post('/api/follows', { neighbourhood: 'mill-lane' });
    t.equal(followed.status, 201);
    const home = (await bob.get('/api/v1/timelines/home?limit=1')).body.map((s: { id: string }) => s.id);
    t.same(home, [ids[4]], 'a followed neighbourhood is in the home timeline');
    t.ok((await bob.get('/api/home')).body.items.length, 'as it is in the home feed');
    const group = (await bob.get('/api/v1/accounts/lookup?acct=mill-lane')).body;
    t.equal((await bob.get(`/api/v1/accounts/relationships?id[]=${group.id}`)).body[0].following, true, 'following is following');
    t.equal((await bob.post(`/api/v1/accounts/${group.id}/unfollow`)).body.following, false);
    t.same((await bob.get('/api/v1/timelines/home')).body, [], 'unfollowing from an app empties the home timeline again');
    t.same((await alice.get('/api/v1/timelines/public?remote=true')).body, []);
    t.same((await alice.get('/api/v1/timelines/tag/no%20such')).body, []);
  });

  await t.test('what apps ask for as they start', async (t) => {
    for (const url of ['/api/v1/lists', '/api/v1/filters', '/api/v2/filters', '/api/v1/announcements', '/api/v1/conversations', '/api/v1/follow_requests', '/api/v1/bookmarks']) {
      t.same((await alice.get(url)).body, [], url);
      t.equal((await client.get(url)).status, 401, `${url} needs a member`);
    }
    t.same((await alice.get('/api/v1/markers?timeline[]=home')).body, {});
    t.equal((await alice.get('/api/v1/preferences')).body['posting:default:visibility'], 'public');
    t.same((await client.get('/api/v1/custom_emojis')).body, []);
  });

  await t.test('accounts and search', async (t) => {
    const member = await client.get('/api/v1/accounts/lookup?acct=alice@forum.test');
    t.equal(member.body.id, '10');
    t.equal(member.body.group, false);
    t.equal((await client.get('/api/v1/accounts/lookup?acct=alice@elsewhere.example')).status, 404);
    const statuses = await client.get('/api/v1/accounts/10/statuses?exclude_replies=true&limit=40');
    t.ok(statuses.body.length > 0 && statuses.body.every((s: { account: { id: string }; in_reply_to_id: string | null }) => s.account.id === '10' && !s.in_reply_to_id));
    t.same((await client.get('/api/v1/accounts/10/statuses?pinned=true')).body, []);
    const remote = await alice.get('/api/v2/search?q=@someone@elsewhere.example&resolve=true');
    t.same(remote.body, { accounts: [], statuses: [], hashtags: [] }, 'remote handles find nothing until federation resolves them');
    const local = await alice.get('/api/v2/search?q=@mill-lane@forum.test&type=accounts');
    t.same(local.body.accounts.map((a: { acct: string }) => a.acct), ['mill-lane']);
    const tags = await alice.get('/api/v2/search?q=%23bins&type=hashtags');
    t.equal(tags.body.hashtags[0].name, 'bins');
    t.equal((await alice.get('/api/v2/search')).status, 422, 'q is required');
  });
});
