// Real Mastodon client libraries (masto.js and megalodon) against our server on loopback: the proof that
// the apps members already have can sign in, post to a neighbourhood, read, reply, like and delete.
import { createHash, randomBytes } from 'node:crypto';
import { createOAuthAPIClient, createRestAPIClient } from 'masto';
import megalodon from 'megalodon';
import type { Test } from 'tap';
import { eachDatabase, listening } from './helpers.ts';

// megalodon is CommonJS: Node's ES-module import hands over its exports object, whose `default` is the factory.
const generator = megalodon.default;

const password = 'a long enough password';

async function api(url: string, token: string, path: string, body: unknown) {
  const response = await fetch(`${url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as any };
}

eachDatabase('masto.js', async (t, database) => {
  const { url, client } = await listening(t, database);
  await client.signUp('alice');

  const anonymous = createRestAPIClient({ url });
  const app = await anonymous.v1.apps.create({ clientName: 'masto test', redirectUris: 'urn:ietf:wg:oauth:2.0:oob', scopes: 'read write follow' });
  t.ok(app.clientId && app.clientSecret, 'the app is registered');
  const oauthClient = createOAuthAPIClient({ url });
  const base = { clientId: app.clientId!, clientSecret: app.clientSecret!, redirectUri: 'urn:ietf:wg:oauth:2.0:oob' };

  const aliceToken = await oauthClient.token.create({ ...base, grantType: 'password', username: 'alice', password, scope: 'read write follow' });
  t.equal(aliceToken.scope, 'read write follow');
  const alice = createRestAPIClient({ url, accessToken: aliceToken.accessToken });
  const me = await alice.v1.accounts.verifyCredentials();
  t.equal(me.username, 'alice');
  t.equal(me.acct, 'alice');

  // An OAuth token is an ordinary token for the rest of the API too.
  const created = await api(url, aliceToken.accessToken, '/api/neighbourhoods', { handle: 'park-road', name: 'Park Road', locality: { placeName: 'Walkley' } });
  t.equal(created.status, 201);

  // Bob signs up from the app, with the app's own token.
  const appToken = await oauthClient.token.create({ ...base, grantType: 'client_credentials', scope: 'read write follow' });
  const registering = createRestAPIClient({ url, accessToken: appToken.accessToken });
  const bobToken = await registering.v1.accounts.create({ username: 'bob', email: 'bob@example.test', password, agreement: true, locale: 'en' });
  const bob = createRestAPIClient({ url, accessToken: bobToken.accessToken });
  t.equal((await bob.v1.accounts.verifyCredentials()).username, 'bob');

  const neighbourhood = await bob.v1.accounts.lookup({ acct: 'park-road' });
  t.equal(neighbourhood.group, true, 'a neighbourhood is a group account');
  t.equal(neighbourhood.displayName, 'Park Road');
  const relationship = await bob.v1.accounts.$select(neighbourhood.id).follow();
  t.equal(relationship.following, true, 'following the neighbourhood joins it');
  const [joined] = await bob.v1.accounts.relationships.fetch({ id: [neighbourhood.id] });
  t.equal(joined?.following, true);

  const thread = await alice.v1.statuses.create({ status: '@park-road Street party on Saturday\nBring a chair and something to share. #party' });
  t.match(thread.content, /<strong>Street party on Saturday<\/strong>/, 'the first line is the title');
  t.match(thread.content, /Bring a chair/);
  t.same(thread.mentions.map((m) => m.acct), ['park-road']);
  t.same(thread.tags.map((tag) => tag.name), ['party']);
  t.equal(thread.inReplyToId, null);

  const home = await bob.v1.timelines.home.list({ limit: 10 });
  t.same(home.map((s) => s.id), [thread.id], 'the thread reaches the home timeline of a member of the neighbourhood');

  const reply = await bob.v1.statuses.create({ status: '@alice I will bring lemonade.', inReplyToId: thread.id });
  t.equal(reply.inReplyToId, thread.id);
  t.equal(reply.inReplyToAccountId, me.id);
  const nested = await alice.v1.statuses.create({ status: 'Lovely, thank you!', inReplyToId: reply.id });
  t.equal(nested.inReplyToId, reply.id, 'a reply to a reply nests under it');

  const liked = await bob.v1.statuses.$select(thread.id).favourite();
  t.equal(liked.favourited, true);
  t.equal(liked.favouritesCount, 1);
  t.equal((await alice.v1.statuses.$select(thread.id).fetch()).favourited, false, 'favourited is per member');

  const edited = await alice.v1.statuses.$select(thread.id).update({ status: '@park-road Street party on Sunday\nBring a chair and something to share. #party' });
  t.match(edited.content, /<strong>Street party on Sunday<\/strong>/, 'an edit from masto.js retitles the thread');
  t.ok(edited.editedAt, 'and marks it edited');
  const source = await alice.v1.statuses.$select(thread.id).source.fetch();
  t.equal(source.text, '@park-road Street party on Sunday\n\nBring a chair and something to share. #party', 'the source is the text as written');
  t.same((await alice.v1.statuses.$select(thread.id).history.list()).map((v) => v.createdAt), [edited.editedAt], 'the history is the current version');
  await t.rejects(bob.v1.statuses.$select(thread.id).update({ status: 'mine now' }), 'only the author edits');

  const context = await alice.v1.statuses.$select(thread.id).context.fetch();
  t.same(context.ancestors, []);
  t.same(context.descendants.map((s) => s.id), [reply.id, nested.id]);
  const replyContext = await alice.v1.statuses.$select(nested.id).context.fetch();
  t.same(replyContext.ancestors.map((s) => s.id), [thread.id, reply.id]);

  const notifications = await alice.v1.notifications.list();
  t.same(notifications.map((n) => [n.type, n.account?.username, n.status?.id]), [
    ['favourite', 'bob', thread.id],
    ['mention', 'bob', reply.id],
  ]);
  t.same((await bob.v1.notifications.list()).map((n) => [n.type, n.status?.id]), [['mention', nested.id]]);

  const tagged = await anonymous.v1.timelines.tag.$select('party').list();
  t.same(tagged.map((s) => s.id), [thread.id]);
  const found = await alice.v2.search.list({ q: 'park' });
  t.same(found.accounts.map((a) => a.acct), ['park-road']);
  t.same((await alice.v2.search.list({ q: 'lemonade', type: 'statuses' })).statuses.map((s) => s.id), [reply.id]);

  const removed = await bob.v1.statuses.$select(reply.id).remove();
  t.equal(removed.text, '@alice I will bring lemonade.', 'a deleted status comes back with its source for redrafting');
  t.same((await alice.v1.statuses.$select(thread.id).context.fetch()).descendants.map((s) => s.id), [nested.id]);
  await alice.v1.statuses.$select(thread.id).remove();
  t.same(await bob.v1.timelines.home.list(), [], 'deleting the thread takes it off the timeline');

  const left = await bob.v1.accounts.$select(neighbourhood.id).unfollow();
  t.equal(left.following, false, 'unfollowing leaves');
});

/** The authorization-code flow as a browser walks it: the consent page, its form and CSRF cookie, the redirect. */
async function authorizeInBrowser(t: Test, authorizeUrl: string, username: string) {
  const page = await fetch(authorizeUrl, { redirect: 'manual' });
  t.equal(page.status, 200, 'the consent page is shown');
  const html = await page.text();
  t.match(html, /<label for="f-username">Username<\/label>/, 'fields are labelled');
  const cookie = page.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
  const fields = new URLSearchParams();
  for (const match of html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)) {
    fields.set(match[1]!, match[2]!.replace(/&amp;/g, '&').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>'));
  }
  fields.set('username', username);
  fields.set('password', password);
  fields.set('decision', 'allow');
  const submitted = await fetch(new URL('/oauth/authorize', authorizeUrl), {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie },
    body: fields,
  });
  t.equal(submitted.status, 302, 'allowing redirects back to the app');
  return new URL(submitted.headers.get('location')!);
}

eachDatabase('megalodon', async (t, database) => {
  const { url, client } = await listening(t, database);
  const carol = await client.signUp('carol');
  await carol.post('/api/neighbourhoods', { handle: 'mill-lane', name: 'Mill Lane', locality: { placeName: 'Hillsborough' } });
  await client.signUp('dave');

  const redirectUri = 'https://app.example/callback';
  const anonymous = generator('mastodon', url);
  const app = await anonymous.registerApp('megalodon test', { scopes: ['read', 'write', 'follow'], redirect_uris: redirectUri });

  // Authorization code with PKCE (S256).
  const verifier = randomBytes(32).toString('base64url');
  const challenge = createHash('sha256').update(verifier).digest('base64url');
  const authorizeUrl = new URL(app.url!);
  authorizeUrl.searchParams.set('code_challenge', challenge);
  authorizeUrl.searchParams.set('code_challenge_method', 'S256');
  authorizeUrl.searchParams.set('state', 'opaque-state');
  const back = await authorizeInBrowser(t, authorizeUrl.href, 'carol');
  t.equal(back.origin + back.pathname, redirectUri);
  t.equal(back.searchParams.get('state'), 'opaque-state', 'the state comes back unchanged');
  const code = back.searchParams.get('code')!;
  const exchange = (body: Record<string, string>) =>
    fetch(`${url}/oauth/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(body) });
  const wrongVerifier = await exchange({ grant_type: 'authorization_code', code, client_id: app.client_id, redirect_uri: redirectUri, code_verifier: 'x'.repeat(43) });
  t.equal(wrongVerifier.status, 400);
  t.equal(((await wrongVerifier.json()) as any).error, 'invalid_grant');
  const secondTry = await exchange({ grant_type: 'authorization_code', code, client_id: app.client_id, redirect_uri: redirectUri, code_verifier: verifier });
  t.equal(secondTry.status, 400, 'a code is spent by its first exchange, even a failed one');

  const again = await authorizeInBrowser(t, authorizeUrl.href, 'carol');
  const issued = await exchange({ grant_type: 'authorization_code', code: again.searchParams.get('code')!, client_id: app.client_id, redirect_uri: redirectUri, code_verifier: verifier });
  t.equal(issued.status, 200, 'a public client proves itself with the PKCE verifier');
  const carolToken = ((await issued.json()) as any).access_token as string;

  // The plain authorization-code flow, with megalodon exchanging the code itself.
  const plain = await authorizeInBrowser(t, app.url!, 'dave');
  const daveToken = await anonymous.fetchAccessToken(app.client_id, app.client_secret, plain.searchParams.get('code')!, redirectUri);
  t.equal(daveToken.scope, 'read write follow');

  const carolApp = generator('mastodon', url, carolToken);
  const daveApp = generator('mastodon', url, daveToken.access_token);
  t.equal((await carolApp.verifyAccountCredentials()).data.username, 'carol');

  const group = (await daveApp.lookupAccount('mill-lane')).data;
  t.equal((await daveApp.followAccount(group.id)).data.following, true);

  const thread = (await carolApp.postStatus('@mill-lane Lost cat\nGinger, answers to Biscuit.')).data as any;
  t.match(thread.content, /<strong>Lost cat<\/strong>/);
  const home = (await daveApp.getHomeTimeline()).data;
  t.same(home.map((s) => s.id), [thread.id]);

  const reply = (await daveApp.postStatus('Seen near the mill this morning.', { in_reply_to_id: thread.id })).data as any;
  t.equal(reply.in_reply_to_id, thread.id);
  t.equal((await daveApp.favouriteStatus(thread.id)).data.favourited, true);
  const context = (await carolApp.getStatusContext(thread.id)).data;
  t.same(context.descendants.map((s) => s.id), [reply.id]);
  t.same((await carolApp.getNotifications()).data.map((n) => n.type), ['favourite', 'mention']);
  const edited = (await daveApp.editStatus(reply.id, { status: 'Seen near the mill at eight.' })).data as any;
  t.match(edited.content, /at eight/, 'an edit from megalodon');
  t.ok(edited.edited_at);

  await daveApp.deleteStatus(reply.id);
  t.same((await carolApp.getStatusContext(thread.id)).data.descendants, []);

  await anonymous.revokeToken(app.client_id, app.client_secret, daveToken.access_token);
  await t.rejects(daveApp.verifyAccountCredentials(), 'a revoked token no longer works');
});
