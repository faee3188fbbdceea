import { eachDatabase, snapshot, startApp } from './helpers.ts';

eachDatabase('accounts', async (t, database) => {
  const { client, app } = await startApp(t, database);

  await t.test('register, sign in, who am I, revoke', async (t) => {
    const registered = await client.post('/api/accounts', { username: 'Alice_1', password: 'correct horse battery' });
    t.equal(registered.status, 201);
    t.equal(registered.body.member.username, 'Alice_1');
    t.notOk('password' in registered.body.member, 'no password in the answer');

    const stored = await database.db.selectFrom('members').select('password_hash').where('username_key', '=', 'alice_1').executeTakeFirstOrThrow();
    t.match(stored.password_hash, /^\$argon2id\$/, 'stored as an argon2id hash');

    const signedIn = await client.post('/api/tokens', { username: 'alice_1', password: 'correct horse battery' });
    t.equal(signedIn.status, 201, 'sign-in is case-insensitive on the name');
    const token: string = signedIn.body.token;
    const tokens = await database.db.selectFrom('access_tokens').select('token_hash').execute();
    t.notOk(tokens.some((row) => row.token_hash === token), 'tokens are stored hashed');

    const me = await client.as(token).get('/api/me');
    t.equal(me.status, 200);
    t.equal(me.body.member.username, 'Alice_1');

    t.equal((await client.as(token).delete('/api/tokens/current')).status, 204);
    const after = await client.as(token).get('/api/me');
    t.equal(after.status, 401);
    t.same(Object.keys(after.body).sort(), ['error', 'message']);
  });

  await t.test('usernames are unique whatever their case, and validated', async (t) => {
    await client.post('/api/accounts', { username: 'Bob', password: 'a long enough password' });
    const before = await snapshot(database.db);
    const duplicate = await client.post('/api/accounts', { username: 'bOB', password: 'another long password' });
    t.equal(duplicate.status, 409);
    t.equal(duplicate.body.error, 'username_taken');
    for (const username of ['', 'has space', 'semi;colon', "o'brien", 'x'.repeat(31), 'dash-name', 'émile', 'robert\'); DROP TABLE members;--']) {
      const response = await client.post('/api/accounts', { username, password: 'a long enough password' });
      t.equal(response.status, 400, `refuses ${JSON.stringify(username)}`);
    }
    t.same(await snapshot(database.db), before, 'nothing stored changed');
  });

  await t.test('bad bodies get a clear 4xx', async (t) => {
    const before = await snapshot(database.db);
    const cases: [string, unknown, Record<string, string>, number, string][] = [
      ['malformed JSON', '{"username": "x",', { 'content-type': 'application/json' }, 400, 'malformed_json'],
      ['missing password', { username: 'carol' }, {}, 400, 'invalid_request'],
      ['wrong type', { username: 'carol', password: 12345678 }, {}, 400, 'invalid_request'],
      ['array body', [1, 2], {}, 400, 'invalid_request'],
      ['extra field', { username: 'carol', password: 'a long enough password', role: 'admin' }, {}, 400, 'invalid_request'],
      ['short password', { username: 'carol', password: 'short' }, {}, 400, 'invalid_password'],
      ['unsupported type', 'username=carol', { 'content-type': 'text/plain' }, 415, 'unsupported_media_type'],
      ['oversized body', { username: 'carol', password: 'x'.repeat(300 * 1024) }, {}, 413, 'body_too_large'],
    ];
    for (const [name, body, headers, status, code] of cases) {
      const response = await client.request('POST', '/api/accounts', body, headers);
      t.equal(response.status, status, name);
      t.equal(response.body.error, code, `${name}: ${response.body.message}`);
      t.type(response.body.message, 'string');
    }
    t.same(await snapshot(database.db), before, 'nothing stored changed');
  });

  await t.test('wrong passwords are refused, then rate-limited', async (t) => {
    await client.post('/api/accounts', { username: 'dora', password: 'the right password' });
    for (let i = 0; i < 10; i++) {
      const wrong = await client.post('/api/tokens', { username: 'dora', password: `wrong guess ${i}` });
      t.equal(wrong.status, 401);
    }
    const limited = await client.post('/api/tokens', { username: 'dora', password: 'the right password' });
    t.equal(limited.status, 429, 'even the right password waits once the limit is hit');
    t.ok(Number(limited.headers['retry-after']) > 0, 'with Retry-After');
    const unknown = await client.post('/api/tokens', { username: 'nobody_here', password: 'whatever it is' });
    t.equal(unknown.status, 401, 'an unknown name is refused like a wrong password');
  });

  await t.test('cookie sessions for pages', async (t) => {
    await client.post('/api/accounts', { username: 'erin', password: 'a long enough password' });
    const response = await app.inject({ method: 'POST', url: '/api/session', payload: { username: 'erin', password: 'a long enough password' } });
    t.equal(response.statusCode, 201);
    const cookie = response.cookies.find((c) => c.name === 'sm_session')!;
    t.ok(cookie.httpOnly, 'HttpOnly');
    t.equal(cookie.sameSite, 'Lax');
    const me = await app.inject({ method: 'GET', url: '/api/me', cookies: { sm_session: cookie.value } });
    t.equal(me.statusCode, 200);
    // A cross-site form post carries the cookie but cannot be JSON: it must not count as signed in.
    const forged = await app.inject({
      method: 'POST',
      url: '/api/neighbourhoods',
      cookies: { sm_session: cookie.value },
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'handle=forged&name=Forged',
    });
    t.ok([401, 415].includes(forged.statusCode), `a form post with the cookie is refused (${forged.statusCode})`);
    const out = await app.inject({ method: 'DELETE', url: '/api/session', cookies: { sm_session: cookie.value }, headers: { 'content-type': 'application/json' }, payload: '{}' });
    t.equal(out.statusCode, 204);
    const after = await app.inject({ method: 'GET', url: '/api/me', cookies: { sm_session: cookie.value } });
    t.equal(after.statusCode, 401, 'signed out');
  });

  await t.test('member profiles', async (t) => {
    t.equal((await client.get('/api/members/ALICE_1')).body.member.username, 'Alice_1');
    t.equal((await client.get('/api/members/nobody')).status, 404);
  });
});

eachDatabase('registration modes', async (t, database) => {
  const approval = await startApp(t, database, { REGISTRATION: 'approval' });
  const pending = await approval.client.post('/api/accounts', { username: 'frank', password: 'a long enough password' });
  t.equal(pending.status, 201);
  t.equal(pending.body.member.status, 'pending');
  const signIn = await approval.client.post('/api/tokens', { username: 'frank', password: 'a long enough password' });
  t.equal(signIn.status, 403);
  t.equal(signIn.body.error, 'account_pending');

  const closed = await startApp(t, database, { REGISTRATION: 'closed' });
  const refused = await closed.client.post('/api/accounts', { username: 'gina', password: 'a long enough password' });
  t.equal(refused.status, 403);
  t.equal(refused.body.error, 'registration_closed');
});
