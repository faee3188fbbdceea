// The OAuth 2 server over HTTP: the consent page and its protections, the grants, revocation and scopes.
import { createHash, randomBytes } from 'node:crypto';
import { eachDatabase, type Response, startApp } from './helpers.ts';

const password = 'a long enough password';
const form = { 'content-type': 'application/x-www-form-urlencoded' };
const encode = (fields: Record<string, string>) => new URLSearchParams(fields).toString();

function hiddenFields(html: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const m of html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)) {
    fields[m[1]!] = m[2]!.replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
  }
  return fields;
}

const cookiesOf = (response: Response) =>
  ([] as string[]).concat((response.headers['set-cookie'] as string | string[] | undefined) ?? []).map((c) => c.split(';')[0]).join('; ');

eachDatabase('OAuth 2', async (t, database) => {
  const { client } = await startApp(t, database);
  const alice = await client.signUp('alice');

  const registerApp = async (fields: Record<string, string>) => (await client.request('POST', '/api/v1/apps', encode(fields), form)).body;
  const app = await registerApp({ client_name: 'Good <App> & "Co"', redirect_uris: 'https://app.example/cb\nurn:ietf:wg:oauth:2.0:oob', scopes: 'read write follow', website: 'javascript:alert(1)' });
  const other = await registerApp({ client_name: 'Other', redirect_uris: 'https://other.example/cb', scopes: 'read write' });
  const authorizeUrl = (extra: Record<string, string> = {}) =>
    `/oauth/authorize?${encode({ response_type: 'code', client_id: app.client_id, redirect_uri: 'https://app.example/cb', scope: 'read write', state: 's1', ...extra })}`;

  await t.test('server metadata', async (t) => {
    const meta = await client.get('/.well-known/oauth-authorization-server');
    t.equal(meta.status, 200);
    t.equal(meta.body.token_endpoint, 'http://forum.test/oauth/token');
    t.same(meta.body.code_challenge_methods_supported, ['S256']);
    t.ok(meta.body.scopes_supported.includes('write:statuses'));
  });

  await t.test('app registration refuses what could hurt', async (t) => {
    for (const [fields, code] of [
      [{ client_name: 'x', redirect_uris: 'javascript:alert(1)' }, 'invalid_redirect_uri'],
      [{ client_name: 'x', redirect_uris: 'https://a.example/#frag' }, 'invalid_redirect_uri'],
      [{ client_name: 'x', redirect_uris: 'not a uri' }, 'invalid_redirect_uri'],
      [{ client_name: 'x', redirect_uris: 'https://a.example/', scopes: 'read admin:write' }, 'invalid_scope'],
      [{ client_name: '  ', redirect_uris: 'https://a.example/' }, 'invalid_client_name'],
    ] as const) {
      const response = await client.request('POST', '/api/v1/apps', encode(fields), form);
      t.equal(response.status, 422, JSON.stringify(fields));
      t.equal(response.body.code, code);
      t.type(response.body.error, 'string', 'Mastodon apps read the sentence in `error`');
    }
  });

  await t.test('the consent page is escaped, unframeable and guarded against cross-site posts', async (t) => {
    const page = await client.get(authorizeUrl());
    t.equal(page.status, 200);
    t.match(page.headers['content-type'], /text\/html/);
    t.match(page.headers['content-security-policy'], /frame-ancestors 'none'/);
    t.match(page.headers['content-security-policy'], /script-src 'self'; style-src 'self'/, 'the pages\u2019 policy: no inline script or style');
    t.match(page.headers['content-security-policy'], /form-action 'self' https:\/\/app\.example(;|$)/, 'the form may lead back to the app, and nowhere else');
    t.equal(page.headers['x-frame-options'], 'DENY');
    t.match(page.body, /Good &lt;App&gt; &amp; &quot;Co&quot;/, 'the app name is escaped');
    t.notMatch(page.body, /<App>|href="javascript/i, 'nothing the app chose becomes markup or a script link');
    const fields = hiddenFields(page.body);
    t.ok(fields._csrf, 'the pages\u2019 CSRF token');
    const cookie = cookiesOf(page);
    t.match(cookie, /sm_visitor=/, 'keyed by a cookie the browser holds');

    const before = await database.db.selectFrom('oauth_codes').selectAll().execute();
    const noToken = await client.request('POST', '/oauth/authorize', encode({ ...fields, _csrf: '', username: 'alice', password, decision: 'allow' }), form);
    t.equal(noToken.status, 403, 'no CSRF token, no code');
    const noCookie = await client.request('POST', '/oauth/authorize', encode({ ...fields, username: 'alice', password, decision: 'allow' }), form);
    t.equal(noCookie.status, 403, 'a token without its cookie (a cross-site post) is refused');
    const wrongPassword = await client.request('POST', '/oauth/authorize', encode({ ...fields, username: '<b>alice</b>', password: 'wrong one!', decision: 'allow' }), { ...form, cookie });
    t.equal(wrongPassword.status, 401);
    t.match(wrongPassword.body, /role="alert"/, 'the error is announced');
    t.match(wrongPassword.body, /value="&lt;b&gt;alice&lt;\/b&gt;"/, 'what was typed comes back escaped');
    t.same(await database.db.selectFrom('oauth_codes').selectAll().execute(), before, 'no code was issued');

    const denied = await client.request('POST', '/oauth/authorize', encode({ ...fields, decision: 'deny' }), { ...form, cookie });
    t.equal(denied.status, 302);
    const deniedTo = new URL(String(denied.headers.location));
    t.equal(deniedTo.searchParams.get('error'), 'access_denied');
    t.equal(deniedTo.searchParams.get('state'), 's1');
  });

  await t.test('faults in the request: shown when the client is unknown, otherwise sent back to the app', async (t) => {
    const unknown = await client.get(`/oauth/authorize?response_type=code&client_id=nope&redirect_uri=${encodeURIComponent('https://evil.example/')}`);
    t.equal(unknown.status, 400);
    t.notOk(unknown.headers.location, 'never redirected to an unregistered address');
    const mismatch = await client.get(authorizeUrl({ redirect_uri: 'https://evil.example/cb' }));
    t.equal(mismatch.status, 400);
    t.notOk(mismatch.headers.location);
    const badScope = await client.get(authorizeUrl({ scope: 'read push' }));
    t.equal(badScope.status, 302);
    t.equal(new URL(String(badScope.headers.location)).searchParams.get('error'), 'invalid_scope', 'a scope the app did not register for');
    const plainPkce = await client.get(authorizeUrl({ code_challenge: 'x'.repeat(43), code_challenge_method: 'plain' }));
    t.equal(new URL(String(plainPkce.headers.location)).searchParams.get('error'), 'invalid_request', 'only S256');
  });

  await t.test('a member signed in to our pages only has to consent; out-of-band shows the code', async (t) => {
    const session = await client.post('/api/session', { username: 'alice', password });
    const sessionCookie = cookiesOf(session);
    const page = await client.request('GET', authorizeUrl({ redirect_uri: 'urn:ietf:wg:oauth:2.0:oob' }), undefined, { cookie: sessionCookie });
    t.match(page.body, /signed in as <strong>@alice<\/strong>/);
    t.notMatch(page.body, /type="password"/);
    const withBearer = await alice.get(authorizeUrl({ redirect_uri: 'urn:ietf:wg:oauth:2.0:oob' }));
    t.match(withBearer.body, /type="password"/, 'a bearer token does not count as signed in: an app cannot grant itself more');
    const cookie = `${sessionCookie}; ${cookiesOf(page)}`;
    const allowed = await client.request('POST', '/oauth/authorize', encode({ ...hiddenFields(page.body), decision: 'allow' }), { ...form, cookie });
    t.equal(allowed.status, 200);
    const code = /<code>([^<]+)<\/code>/.exec(allowed.body)?.[1];
    t.ok(code, 'the code is shown to copy');
    const token = await client.post('/oauth/token', {
      grant_type: 'authorization_code', code, client_id: app.client_id, client_secret: app.client_secret, redirect_uri: 'urn:ietf:wg:oauth:2.0:oob',
    });
    t.equal(token.status, 200);
    t.equal(token.body.scope, 'read write');
    t.equal(token.headers['cache-control'], 'no-store');
  });

  await t.test('PKCE: the verifier is required and must match', async (t) => {
    const verifier = randomBytes(40).toString('base64url');
    const challenge = createHash('sha256').update(verifier).digest('base64url');
    const codeFor = async () => {
      const page = await client.get(authorizeUrl({ code_challenge: challenge, code_challenge_method: 'S256' }));
      const posted = await client.request('POST', '/oauth/authorize', encode({ ...hiddenFields(page.body), username: 'alice', password, decision: 'allow' }), { ...form, cookie: cookiesOf(page) });
      return new URL(String(posted.headers.location)).searchParams.get('code')!;
    };
    const exchange = (code: string, extra: Record<string, string>) =>
      client.request('POST', '/oauth/token', encode({ grant_type: 'authorization_code', code, client_id: app.client_id, redirect_uri: 'https://app.example/cb', ...extra }), form);
    t.equal((await exchange(await codeFor(), { client_secret: app.client_secret })).body.error, 'invalid_grant', 'no verifier');
    t.equal((await exchange(await codeFor(), { code_verifier: randomBytes(40).toString('base64url') })).body.error, 'invalid_grant', 'wrong verifier');
    t.equal((await exchange(await codeFor(), { code_verifier: 'short' })).status, 400, 'a malformed verifier');
    const code = await codeFor();
    t.equal((await exchange(code, { code_verifier: verifier, client_id: other.client_id })).body.error, 'invalid_grant', 'another app cannot redeem it');
    const ok = await exchange(await codeFor(), { code_verifier: verifier });
    t.equal(ok.status, 200);
    t.equal((await exchange(code, { code_verifier: verifier })).body.error, 'invalid_grant', 'a code tried by the wrong app is spent');
  });

  await t.test('token endpoint faults', async (t) => {
    const base = { client_id: app.client_id, client_secret: app.client_secret };
    const cases: [Record<string, string>, number, string][] = [
      [{ grant_type: 'password', ...base, client_secret: 'wrong', username: 'alice', password }, 401, 'invalid_client'],
      [{ grant_type: 'password', ...base, username: 'alice', password: 'not it at all' }, 400, 'invalid_grant'],
      [{ grant_type: 'password', ...base, username: 'alice', password, scope: 'push' }, 400, 'invalid_scope'],
      [{ grant_type: 'password', ...base, username: 'alice', password, scope: 'read sudo' }, 400, 'invalid_scope'],
      [{ grant_type: 'implicit', ...base }, 400, 'unsupported_grant_type'],
      [{ grant_type: 'authorization_code', ...base, code: 'made-up' }, 400, 'invalid_grant'],
      [{ grant_type: 'client_credentials', client_id: app.client_id }, 401, 'invalid_client'],
    ];
    for (const [fields, status, error] of cases) {
      const response = await client.request('POST', '/oauth/token', encode(fields), form);
      t.equal(response.status, status, `${fields.grant_type}: ${response.body.error_description}`);
      t.equal(response.body.error, error);
    }
    t.equal((await client.request('POST', '/oauth/token', '{"grant_type":', { 'content-type': 'application/json' })).body.error, 'invalid_request');
    const basic = Buffer.from(`${app.client_id}:${app.client_secret}`).toString('base64');
    const viaBasic = await client.request('POST', '/oauth/token', encode({ grant_type: 'client_credentials', scope: 'read' }), { ...form, authorization: `Basic ${basic}` });
    t.equal(viaBasic.status, 200, 'client credentials by HTTP Basic');
    const garbled = await client.request('POST', '/oauth/token', encode({ grant_type: 'client_credentials' }), { ...form, authorization: 'Basic %%%' });
    t.equal(garbled.status, 401);
  });

  const passwordToken = async (scope: string, which = app) =>
    (await client.post('/oauth/token', { grant_type: 'password', client_id: which.client_id, client_secret: which.client_secret, username: 'alice', password, scope })).body.access_token as string;

  await t.test('scopes are enforced per route', async (t) => {
    await alice.post('/api/neighbourhoods', { handle: 'park-road', name: 'Park Road', locality: { placeName: 'Walkley' } });
    const reader = alice.as(await passwordToken('read'));
    t.equal((await reader.get('/api/v1/timelines/home')).status, 200);
    const refused = await reader.post('/api/v1/statuses', { status: '@park-road Hello\nthere' });
    t.equal(refused.status, 403, 'read cannot write');
    t.equal(refused.body.code, 'insufficient_scope');
    t.match(refused.headers['www-authenticate'], /error="insufficient_scope", scope="write:statuses"/);
    const poster = alice.as(await passwordToken('read:statuses write:statuses'));
    const posted = await poster.post('/api/v1/statuses', { status: '@park-road Hello\nthere' });
    t.equal(posted.status, 200, 'a granular scope is enough for its own routes');
    t.equal((await poster.post(`/api/v1/statuses/${posted.body.id}/favourite`)).status, 403, 'but not for others');
    t.equal((await poster.get('/api/v1/notifications')).status, 403);
    const follower = alice.as(await passwordToken('follow'));
    t.equal((await follower.get('/api/v1/accounts/relationships?id[]=11')).status, 200, 'follow covers read:follows');
    const appOnly = (await client.post('/oauth/token', { grant_type: 'client_credentials', client_id: app.client_id, client_secret: app.client_secret, scope: 'read write' })).body.access_token;
    t.equal((await client.as(appOnly).get('/api/v1/timelines/home')).status, 401, 'an app token stands for no member');
    t.equal((await client.as(appOnly).get('/api/v1/apps/verify_credentials')).body.name, 'Good <App> & "Co"');
    t.equal((await alice.get('/api/v1/timelines/home')).status, 200, 'our own sign-in token carries every scope');
  });

  await t.test('revocation', async (t) => {
    const token = await passwordToken('read write');
    const member = alice.as(token);
    t.equal((await member.get('/api/me')).status, 200, 'an OAuth token works on the whole API');
    const byOther = await client.post('/oauth/revoke', { client_id: other.client_id, client_secret: other.client_secret, token });
    t.equal(byOther.status, 403, 'only the app it was issued to can revoke it');
    t.equal((await client.post('/oauth/revoke', { client_id: app.client_id, client_secret: app.client_secret, token })).status, 200);
    const after = await member.get('/api/v1/accounts/verify_credentials');
    t.equal(after.status, 401);
    t.equal(after.body.error, 'The access token is invalid');
    t.equal((await member.get('/api/me')).status, 401);
    t.equal((await client.post('/oauth/revoke', { client_id: app.client_id, client_secret: app.client_secret, token: 'never-issued' })).status, 200, 'unknown tokens are already revoked');
    const appOnly = (await client.post('/oauth/token', { grant_type: 'client_credentials', client_id: app.client_id, client_secret: app.client_secret })).body.access_token;
    await client.post('/oauth/revoke', { client_id: app.client_id, client_secret: app.client_secret, token: appOnly });
    t.equal((await client.as(appOnly).get('/api/v1/apps/verify_credentials')).status, 401);
  });
});
