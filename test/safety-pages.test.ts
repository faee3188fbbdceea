// Held posts and blocked servers from the web pages: moderators set what is held and decide the queue;
// authors see their posts awaiting approval; staff block, unblock, import, export and allow servers.
// Everyone else, and every form without its token, is refused and nothing changes.
import { eachDatabase, snapshot, startApp } from './helpers.ts';
import { Visitor } from './visitor.ts';

eachDatabase('held posts and blocked servers from the pages', async (t, database) => {
  const { db } = database;
  const { app } = await startApp(t, database);
  const [mod, newcomer, staff] = [new Visitor(app), new Visitor(app), new Visitor(app)];
  await mod.register('mod');
  await newcomer.register('newcomer');
  await staff.register('staff');
  await db.updateTable('members').set({ role: 'admin' }).where('username', '=', 'staff').execute();
  await mod.post('/neighbourhoods', { handle: 'park-road', name: 'Park Road', placeName: 'Walkley' });
  await newcomer.get('/neighbourhoods/park-road');
  await newcomer.post('/neighbourhoods/park-road/join', {});

  await t.test('a moderator sets what is held from the queue page', async (t) => {
    t.match((await mod.get('/neighbourhoods/park-road/moderation')).body, /href="\/neighbourhoods\/park-road\/held-posts"/);
    t.equal((await newcomer.get('/neighbourhoods/park-road/held-posts')).statusCode, 403);
    await mod.get('/neighbourhoods/park-road/held-posts');
    t.equal((await mod.post('/neighbourhoods/park-road/premoderation', { holdFirstPosts: '1', holdWords: 'Casino\r\ncheap watches' })).statusCode, 303);
    const form = (await mod.get('/neighbourhoods/park-road/held-posts')).body;
    t.match(form, /value="1"/);
    t.match(form, />casino\ncheap watches<\/textarea>/);
    t.equal((await mod.post('/neighbourhoods/park-road/premoderation', { holdFirstPosts: '101' })).statusCode, 400, 'shown with the error');
  });

  let heldId = 0;
  await t.test('a held post takes its author to their posts awaiting approval, and no one else sees it', async (t) => {
    await newcomer.get('/neighbourhoods/park-road/threads/new?kind=discussion');
    const posted = await newcomer.post('/neighbourhoods/park-road/threads', { kind: 'discussion', title: 'Hello neighbours', body: 'New on the street' });
    t.equal(posted.statusCode, 303);
    t.equal(posted.headers.location, '/held-posts');
    const mine = (await newcomer.get('/held-posts')).body;
    t.match(mine, /Hello neighbours/);
    t.match(mine, /awaiting approval/);
    t.notMatch(mine, /action="\/held-posts\/\d+\/approve"/, 'no approve button for the author');
    t.notMatch((await new Visitor(app).get('/neighbourhoods/park-road')).body, /Hello neighbours/);
    const queue = (await mod.get('/neighbourhoods/park-road/held-posts')).body;
    heldId = Number(/action="\/held-posts\/(\d+)\/approve"/.exec(queue)![1]);
    t.match(queue, /Hello neighbours/);
  });

  await t.test('only a moderator, with the form\u2019s token, approves; the post then appears', async (t) => {
    const before = await snapshot(db);
    await newcomer.get('/held-posts');
    t.equal((await newcomer.post(`/held-posts/${heldId}/approve`, {})).statusCode, 403);
    t.equal((await mod.post(`/held-posts/${heldId}/approve`, {}, 'forged')).statusCode, 403);
    t.same(await snapshot(db), before);
    await mod.get('/neighbourhoods/park-road/held-posts');
    t.equal((await mod.post(`/held-posts/${heldId}/approve`, {})).headers.location, '/neighbourhoods/park-road/held-posts');
    t.match((await new Visitor(app).get('/neighbourhoods/park-road')).body, /Hello neighbours/);
    t.match((await mod.get('/neighbourhoods/park-road/moderation')).body, /Approved a held post/);
  });

  await t.test('a rejected post is gone, with its reason in the log', async (t) => {
    await newcomer.get('/neighbourhoods/park-road/threads/new?kind=discussion');
    await newcomer.post('/neighbourhoods/park-road/threads', { kind: 'discussion', title: 'Casino night', body: 'Come along' });
    const queue = (await mod.get('/neighbourhoods/park-road/held-posts')).body;
    const id = Number(/action="\/held-posts\/(\d+)\/reject"/.exec(queue)![1]);
    t.equal((await mod.post(`/held-posts/${id}/reject`, { reason: 'Gambling' })).statusCode, 303);
    t.notMatch((await mod.get('/neighbourhoods/park-road/held-posts')).body, /Casino night/);
    t.match((await mod.get('/neighbourhoods/park-road/moderation')).body, /Rejected a held post[\s\S]*Gambling/);
    t.notMatch((await newcomer.get('/held-posts')).body, /Casino night/);
  });

  await t.test('only staff see and change the blocked servers, never without the token', async (t) => {
    t.equal((await newcomer.get('/admin/domain-blocks')).statusCode, 403);
    t.equal((await new Visitor(app).get('/admin/domain-blocks')).statusCode, 303, 'a visitor is sent to log in');
    t.match((await staff.get('/moderation')).body, /href="\/admin\/domain-blocks"/);
    const before = await snapshot(db);
    await newcomer.get('/held-posts');
    t.equal((await newcomer.post('/admin/domain-blocks', { domain: 'spam.example', severity: 'suspend' })).statusCode, 403);
    await staff.get('/admin/domain-blocks');
    t.equal((await staff.post('/admin/domain-blocks', { domain: 'spam.example', severity: 'suspend' }, 'forged')).statusCode, 403);
    t.same(await snapshot(db), before);
    t.same(await db.selectFrom('domain_blocks').selectAll().execute(), []);
  });

  await t.test('staff block, list, export, unblock, and mistakes are shown beside the forms', async (t) => {
    await staff.get('/admin/domain-blocks');
    t.equal((await staff.post('/admin/domain-blocks', { domain: 'Spam.Example', severity: 'suspend', publicComment: 'Spam, "lots"' })).headers.location, '/admin/domain-blocks');
    t.equal((await staff.post('/admin/domain-blocks', { domain: 'loud.example', severity: 'silence' })).statusCode, 303);
    const listed = (await staff.get('/admin/domain-blocks')).body;
    t.match(listed, /spam\.example[\s\S]*suspend[\s\S]*Spam, &quot;lots&quot;/);
    t.match(listed, /loud\.example[\s\S]*silence/);
    t.match(listed, /href="\/api\/admin\/domain-blocks\.csv"/);
    const csv = await app.inject({ url: '/api/admin/domain-blocks.csv', headers: { cookie: `sm_session=${staff.cookies.get('sm_session')}` } });
    t.equal(csv.statusCode, 200, 'the export link works with the session cookie');
    t.match(csv.body, /^#domain,#severity/);
    t.match(csv.body, /spam\.example,suspend,false,false,"Spam, ""lots""",false/);
    const wrong = await staff.post('/admin/domain-blocks', { domain: 'not a domain', severity: 'suspend' });
    t.equal(wrong.statusCode, 400);
    t.match(wrong.body, /is not a domain name/);
    t.equal((await staff.post('/admin/domain-blocks/loud.example/remove', {})).statusCode, 303);
    t.notMatch((await staff.get('/admin/domain-blocks')).body, /loud\.example/);
  });

  await t.test('staff import pasted CSV and an uploaded file', async (t) => {
    await staff.get('/admin/domain-blocks');
    const pasted = await staff.post('/admin/domain-blocks/import', { csv: '#domain,#severity,#public_comment\npasted.example,silence,Loud\n' });
    t.equal(pasted.statusCode, 200);
    t.match(pasted.body, /Imported 1 block/);
    const boundary = '----form7';
    const part = (name: string, value: string, file = false) =>
      `--${boundary}\r\nContent-Disposition: form-data; name="${name}"${file ? '; filename="blocks.csv"\r\nContent-Type: text/csv' : ''}\r\n\r\n${value}\r\n`;
    const uploaded = await app.inject({
      method: 'POST',
      url: '/admin/domain-blocks/import',
      headers: { cookie: [...staff.cookies].map(([k, v]) => `${k}=${v}`).join('; '), 'content-type': `multipart/form-data; boundary=${boundary}` },
      payload: part('_csrf', staff.csrf) + part('file', '#domain,#severity\r\nuploaded.example,suspend\r\nsecond.example,noop\r\n', true) + part('csv', '') + `--${boundary}--\r\n`,
    });
    t.equal(uploaded.statusCode, 200);
    t.match(uploaded.body, /Imported 2 blocks/);
    const domains = (await db.selectFrom('domain_blocks').select(['domain', 'severity']).orderBy('domain').execute()).map((b) => `${b.domain}:${b.severity}`);
    t.same(domains, ['pasted.example:silence', 'second.example:noop', 'spam.example:suspend', 'uploaded.example:suspend']);
    const bad = await staff.post('/admin/domain-blocks/import', { csv: '#domain,#severity\nok.example,suspend\nbad.example,explode\n' });
    t.equal(bad.statusCode, 400);
    t.match(bad.body, /not a severity/);
    t.notOk(await db.selectFrom('domain_blocks').select('domain').where('domain', '=', 'ok.example').executeTakeFirst(), 'nothing from a bad file is stored');
    const empty = await staff.post('/admin/domain-blocks/import', { csv: '' });
    t.equal(empty.statusCode, 400);
  });

  await t.test('staff manage the allowlist', async (t) => {
    await staff.get('/admin/domain-blocks');
    t.equal((await staff.post('/admin/domain-allows', { allow: 'friends.example' })).statusCode, 303);
    t.match((await staff.get('/admin/domain-blocks')).body, /friends\.example/);
    t.equal((await staff.post('/admin/domain-allows/friends.example/remove', {})).statusCode, 303);
    t.notMatch((await staff.get('/admin/domain-blocks')).body, /friends\.example/);
  });
});
