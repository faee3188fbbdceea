// Moderation from the web pages: moderators get the buttons and the forms work; everyone else gets
// neither, and a forged or refused post changes nothing.
import { eachDatabase, snapshot, startApp } from './helpers.ts';
import { Visitor } from './visitor.ts';

eachDatabase('moderation pages', async (t, database) => {
  const { db } = database;
  const { app } = await startApp(t, database);
  const [mod, alice, bob, staff] = [new Visitor(app), new Visitor(app), new Visitor(app), new Visitor(app)];
  await mod.register('mod');
  await alice.register('alice');
  await bob.register('bob');
  await staff.register('staff');
  await db.updateTable('members').set({ role: 'admin' }).where('username', '=', 'staff').execute();
  await mod.post('/neighbourhoods', { handle: 'park-road', name: 'Park Road', placeName: 'Walkley' });
  for (const v of [alice, bob]) {
    await v.get('/neighbourhoods/park-road');
    await v.post('/neighbourhoods/park-road/join', {});
  }
  const posted = await alice.post('/neighbourhoods/park-road/threads', { kind: 'discussion', title: 'Noise', body: 'Loud party' });
  const threadId = Number(/\/threads\/(\d+)/.exec(String(posted.headers.location))![1]);
  const replied = await alice.post(`/threads/${threadId}/replies`, { body: 'Very loud' });
  const replyId = Number(/#reply-(\d+)/.exec(String(replied.headers.location))![1]);

  await t.test('only moderators see the moderation buttons', async (t) => {
    const forMod = (await mod.get(`/threads/${threadId}`)).body;
    for (const action of ['remove', 'lock', 'pin']) t.match(forMod, `action="/threads/${threadId}/${action}"`);
    t.match(forMod, `action="/replies/${replyId}/remove"`);
    const forBob = (await bob.get(`/threads/${threadId}`)).body;
    t.notMatch(forBob, `/threads/${threadId}/remove`);
    t.notMatch(forBob, `/replies/${replyId}/remove`);
    t.notMatch((await bob.get('/neighbourhoods/park-road/moderation')).body, /action="\/neighbourhoods\/park-road\/bans"/, 'no ban form');
  });

  await t.test('a non-moderator, or a form without its token, is refused every action and nothing changes', async (t) => {
    await bob.get(`/threads/${threadId}`);
    const before = await snapshot(db);
    const urls = [
      ...['remove', 'restore', 'lock', 'unlock', 'pin', 'unpin'].map((a) => `/threads/${threadId}/${a}`),
      `/replies/${replyId}/remove`, `/replies/${replyId}/restore`, '/members/alice/suspend',
    ];
    for (const url of urls) {
      t.equal((await bob.post(url, { reason: 'x' })).statusCode, 403, url);
      t.equal((await mod.post(url, { reason: 'x' }, 'forged')).statusCode, 403, `forged: ${url}`);
    }
    t.equal((await bob.post('/neighbourhoods/park-road/bans', { username: 'alice', removeContent: '1' })).statusCode, 403);
    t.equal((await bob.post('/neighbourhoods/park-road/bans/alice/lift', {})).statusCode, 403);
    t.equal((await bob.get('/moderation')).statusCode, 403);
    t.same(await snapshot(db), before);
  });

  await t.test('lock, pin, remove and restore from the pages, all in the public log', async (t) => {
    await mod.get(`/threads/${threadId}`);
    t.equal((await mod.post(`/threads/${threadId}/lock`, {})).headers.location, `/threads/${threadId}`);
    const locked = (await bob.get(`/threads/${threadId}`)).body;
    t.match(locked, /This thread is locked/);
    t.notMatch(locked, /Post reply/, 'no reply form on a locked thread');
    t.equal((await bob.post(`/threads/${threadId}/replies`, { body: 'me too' })).statusCode, 403);
    await mod.post(`/threads/${threadId}/unlock`, {});
    await mod.post(`/threads/${threadId}/pin`, {});
    t.match((await bob.get(`/threads/${threadId}`)).body, /class="pinned"/);
    t.equal((await mod.post(`/replies/${replyId}/remove`, { reason: 'Rude' })).statusCode, 303);
    const hidden = (await bob.get(`/threads/${threadId}`)).body;
    t.notMatch(hidden, /Very loud/);
    t.match(hidden, /This reply was deleted/);
    const removed = await mod.post(`/threads/${threadId}/remove`, { reason: 'Rule 2' });
    t.equal(removed.headers.location, '/neighbourhoods/park-road/moderation');
    t.equal((await bob.get(`/threads/${threadId}`)).statusCode, 404);
    const logPage = (await mod.get('/neighbourhoods/park-road/moderation')).body;
    t.match(logPage, /Removed a thread/);
    t.match(logPage, /Rule 2/);
    t.match(logPage, `action="/threads/${threadId}/restore"`, 'moderators restore from the log');
    const publicLog = (await new Visitor(app).get('/neighbourhoods/park-road/moderation')).body;
    t.match(publicLog, /Removed a reply/);
    t.match(publicLog, /Rude/);
    t.notMatch(publicLog, /\/restore"/);
    t.equal((await mod.post(`/threads/${threadId}/restore`, {})).headers.location, `/threads/${threadId}`);
    await mod.post(`/replies/${replyId}/restore`, {});
    t.match((await bob.get(`/threads/${threadId}`)).body, /Very loud/);
  });

  await t.test('ban with expiry from the log page, then lift it', async (t) => {
    await mod.get('/neighbourhoods/park-road/moderation');
    const unknown = await mod.post('/neighbourhoods/park-road/bans', { username: 'nobody' });
    t.equal(unknown.statusCode, 404);
    t.match(unknown.body, /role="alert"/);
    const banned = await mod.post('/neighbourhoods/park-road/bans', { username: 'alice', reason: 'Spam', days: '7', removeContent: '1' });
    t.equal(banned.statusCode, 303);
    t.equal((await bob.get(`/threads/${threadId}`)).statusCode, 404, 'her posts are removed');
    const page = (await mod.get('/neighbourhoods/park-road/moderation')).body;
    t.match(page, /@alice until/);
    const ban = await db.selectFrom('neighbourhood_bans').selectAll().executeTakeFirstOrThrow();
    t.ok(ban.expires_at! > new Date(Date.now() + 6 * 86_400_000));
    await alice.get('/neighbourhoods/park-road');
    t.equal((await alice.post('/neighbourhoods/park-road/join', {})).statusCode, 403);
    t.equal((await mod.post('/neighbourhoods/park-road/bans/alice/lift', {})).statusCode, 303);
    t.equal((await alice.post('/neighbourhoods/park-road/join', {})).statusCode, 303);
  });

  await t.test('instance staff suspend from the pages and read the instance log', async (t) => {
    await staff.get('/moderation');
    t.equal((await staff.post('/members/bob/suspend', { reason: 'Abuse' })).headers.location, '/moderation');
    t.equal((await bob.get('/neighbourhoods/new')).statusCode, 303, 'bob is signed out');
    const logPage = (await staff.get('/moderation')).body;
    t.match(logPage, /Suspended an account/);
    t.match(logPage, /Banned a member/);
    await staff.post('/members/bob/unsuspend', {});
    t.equal((await db.selectFrom('members').select('status').where('username', '=', 'bob').executeTakeFirstOrThrow()).status, 'active');
  });

  await t.test('make a neighbourhood members-only and approve a join request from the pages', async (t) => {
    const carol = new Visitor(app);
    await carol.register('carol');
    await mod.get('/neighbourhoods/park-road/moderation');
    t.equal((await bob.post('/neighbourhoods/park-road/privacy', { membersOnly: '1' })).statusCode, 403);
    t.equal((await mod.post('/neighbourhoods/park-road/privacy', { membersOnly: '1' })).statusCode, 303);
    await carol.get('/neighbourhoods/park-road');
    t.equal((await carol.post('/neighbourhoods/park-road/join', {})).statusCode, 303);
    t.match((await carol.get('/neighbourhoods/park-road')).body, /Only members read/);
    const queue = (await mod.get('/neighbourhoods/park-road/moderation')).body;
    t.match(queue, /@carol asks to join/);
    t.equal((await bob.post('/neighbourhoods/park-road/join-requests/carol/approve', {})).statusCode, 403);
    t.equal((await mod.post('/neighbourhoods/park-road/join-requests/carol/approve', {})).statusCode, 303);
    t.match((await carol.get('/neighbourhoods/park-road')).body, /You are a member here/);
  });

  await t.test('report a thread from its page; the moderator closes it from the queue; the reporter sees the outcome', async (t) => {
    await mod.get('/neighbourhoods/park-road/moderation');
    await mod.post(`/threads/${threadId}/restore`, {});
    await mod.post(`/replies/${replyId}/restore`, {});
    const threadPage = (await bob.get(`/threads/${threadId}`)).body;
    t.match(threadPage, `href="/threads/${threadId}/report"`);
    t.match(threadPage, `href="/replies/${replyId}/report"`);
    t.match((await bob.get(`/threads/${threadId}/report`)).body, /name="category"/);
    const before = await snapshot(db);
    t.equal((await bob.post('/reports', { threadId: String(threadId), category: 'rules' }, 'forged')).statusCode, 403);
    t.same(await snapshot(db), before);
    const filed = await bob.post('/reports', { threadId: String(threadId), category: 'rules', reason: 'Off topic', forward: '1' });
    t.equal(filed.headers.location, '/reports/mine');
    await bob.get(`/replies/${replyId}/report`);
    await bob.post('/reports', { replyId: String(replyId), category: 'spam' });
    t.match((await bob.get('/reports/mine')).body, /Waiting for a moderator/);
    const queue = (await mod.get('/neighbourhoods/park-road/moderation')).body;
    t.match(queue, /@bob reported a <a href="\/threads\//);
    const [first, second] = [...queue.matchAll(/action="\/reports\/(\d+)\/resolve"/g)].map((m) => m[1]);
    t.equal((await bob.post(`/reports/${first}/resolve`, {})).statusCode, 403);
    t.equal((await mod.post(`/reports/${first}/resolve`, {})).headers.location, '/neighbourhoods/park-road/moderation');
    t.equal((await mod.post(`/reports/${second}/dismiss`, {})).statusCode, 303);
    const outcome = (await bob.get('/reports/mine')).body;
    t.match(outcome, /Acted on/);
    t.match(outcome, /No action taken/);
    await staff.get('/moderation');
    await staff.get('/members/alice/report');
    await staff.post('/reports', { username: 'alice', category: 'spam' });
    t.match((await staff.get('/moderation')).body, /reported the account/);
  });
});
