// Mastodon's streaming API, driven by the real client libraries (masto.js and megalodon) over loopback, plus
// server-sent events read with plain fetch, and the refusals: tokens, scopes, unknown streams, slow readers.
import { get, type IncomingMessage } from 'node:http';
import type { FastifyInstance } from 'fastify';
import { createOAuthAPIClient, createRestAPIClient, createStreamingAPIClient, type mastodon } from 'masto';
import megalodon from 'megalodon';
import WebSocket from 'ws';
import { type Client, eachDatabase, listening } from './helpers.ts';

const generator = megalodon.default;
const password = 'a long enough password';

/** Waits (bounded) until the bus has `count` more subscribers than `before`: the server has taken a subscription. */
async function subscribed(app: FastifyInstance, before: number, count: number) {
  for (let i = 0; i < 200 && app.live.subscriberCount < before + count; i++) await new Promise((resolve) => setTimeout(resolve, 10));
  if (app.live.subscriberCount < before + count) throw new Error(`only ${app.live.subscriberCount - before} of ${count} subscriptions taken`);
}

/** Collects whatever `source` yields and hands out the next item matching a test; fails after a timeout. */
function collector<T>() {
  const items: T[] = [];
  const waiters = new Set<() => boolean>();
  return {
    items,
    push(item: T) {
      items.push(item);
      for (const look of [...waiters]) look();
    },
    next(wanted: (item: T) => boolean = () => true, timeoutMs = 5000): Promise<T> {
      return new Promise((resolve, reject) => {
        const look = () => {
          const index = items.findIndex(wanted);
          if (index < 0) return false;
          clearTimeout(timer);
          waiters.delete(look);
          resolve(items.splice(index, 1)[0]!);
          return true;
        };
        const timer = setTimeout(() => {
          waiters.delete(look);
          reject(new Error(`nothing matching within ${timeoutMs} ms; had ${JSON.stringify(items)}`));
        }, timeoutMs);
        if (!look()) waiters.add(look);
      });
    },
  };
}

/** A raw websocket on /api/v1/streaming, for what the libraries hide: refusals, error messages, close codes. */
function rawSocket(url: string, options: { headers?: Record<string, string>; protocols?: string[] } = {}) {
  const socket = new WebSocket(url, options.protocols ?? [], { headers: options.headers });
  const messages = collector<any>();
  socket.on('message', (data) => messages.push(JSON.parse(String(data))));
  const closed = new Promise<number>((resolve) => socket.on('close', (code) => resolve(code)));
  const opened = new Promise<void>((resolve, reject) => {
    socket.on('open', resolve);
    socket.on('error', reject);
    socket.on('unexpected-response', (request, response) => {
      let body = '';
      response.on('data', (chunk) => (body += chunk));
      // With this listener set, ws leaves the refused connection open; it is ours to close.
      response.on('end', () => request.destroy());
      response.on('end', () => reject(Object.assign(new Error(`refused with ${response.statusCode}`), { status: response.statusCode, body })));
    });
  });
  return { socket, messages, closed, opened, send: (message: unknown) => socket.send(JSON.stringify(message)) };
}

/**
 * A server-sent-events reader: events as `{event, data}`, comments as `{comment}`. On its own connection
 * (no keep-alive pool), so a stream cut off at either end leaves nothing half-open behind it.
 */
async function eventStream(url: string, headers: Record<string, string> = {}) {
  const response = await new Promise<IncomingMessage>((resolve, reject) => get(url, { headers, agent: false }, resolve).on('error', reject));
  const events = collector<{ event?: string; data?: string; comment?: string }>();
  let text = '';
  const ended = new Promise<void>((resolve) => response.on('close', resolve));
  response.setEncoding('utf8');
  response.on('data', (chunk: string) => {
    text += chunk;
    if (response.statusCode !== 200) return;
    let end: number;
    while ((end = text.indexOf('\n\n')) >= 0) {
      const block = text.slice(0, end);
      text = text.slice(end + 2);
      const fields: Record<string, string> = {};
      for (const line of block.split('\n')) {
        if (line.startsWith(':')) fields.comment = line.slice(1);
        else fields[line.slice(0, line.indexOf(':'))] = line.slice(line.indexOf(':') + 1).trimStart();
      }
      events.push(fields);
    }
  });
  return {
    status: response.statusCode,
    contentType: response.headers['content-type'],
    events,
    ended,
    /** The body of a refusal, once it has all arrived. */
    json: async () => (await ended, JSON.parse(text)),
    close: () => response.destroy(),
  };
}

/** A member signed in through OAuth with `scope`, as an app would be. */
async function oauthToken(url: string, username: string, scope = 'read write follow') {
  const registered = await createRestAPIClient({ url }).v1.apps.create({ clientName: 'streaming test', redirectUris: 'urn:ietf:wg:oauth:2.0:oob', scopes: 'read write follow' });
  const token = await createOAuthAPIClient({ url }).token.create({
    clientId: registered.clientId!, clientSecret: registered.clientSecret!, redirectUri: 'urn:ietf:wg:oauth:2.0:oob', grantType: 'password', username, password, scope,
  });
  return token.accessToken;
}

async function neighbourhood(owner: Client, handle: string) {
  const created = await owner.post('/api/neighbourhoods', { handle, name: handle, locality: { placeName: handle } });
  if (created.status !== 201) throw new Error(JSON.stringify(created.body));
}

eachDatabase('masto.js streaming', async (t, database) => {
  const { app, url, client } = await listening(t, database);
  await neighbourhood(await client.signUp('alice'), 'park-road');
  await client.signUp('bob');
  const alice = createRestAPIClient({ url, accessToken: await oauthToken(url, 'alice') });
  const bobToken = await oauthToken(url, 'bob');
  const bob = createRestAPIClient({ url, accessToken: bobToken });
  const group = await bob.v1.accounts.lookup({ acct: 'park-road' });
  await bob.v1.accounts.$select(group.id).follow();

  // The app connects where the instance says streaming is.
  const instance = await bob.v2.instance.fetch();
  t.equal(instance.configuration.urls.streaming, url.replace('http:', 'ws:'));
  const streaming = createStreamingAPIClient({ streamingApiUrl: instance.configuration.urls.streaming, accessToken: bobToken, retry: false });
  t.teardown(() => streaming.close());
  const before = app.live.subscriberCount;
  const user = collector<mastodon.streaming.Event>();
  const pub = collector<mastodon.streaming.Event>();
  const local = collector<mastodon.streaming.Event>();
  const tagged = collector<mastodon.streaming.Event>();
  const follow = async (subscription: mastodon.streaming.Subscription, into: ReturnType<typeof collector<mastodon.streaming.Event>>) => {
    for await (const event of subscription) into.push(event);
  };
  void follow(streaming.user.subscribe(), user);
  void follow(streaming.public.subscribe(), pub);
  void follow(streaming.public.local.subscribe(), local);
  void follow(streaming.hashtag.subscribe({ tag: 'party' }), tagged);
  await subscribed(app, before, 5); // user is two: home and notifications

  const thread = await alice.v1.statuses.create({ status: '@park-road Street party on Saturday\nBring a chair. #party' });
  const update = await user.next();
  t.equal(update.event, 'update');
  t.same(update.stream, ['user']);
  t.same(update.payload, thread, 'the status arrives in the shape the REST API gives it');
  t.same((await pub.next()).payload, thread, 'and on the public stream');
  t.same((await local.next()).stream, ['public:local']);
  const fromTag = await tagged.next();
  t.same([fromTag.stream, (fromTag.payload as mastodon.v1.Status).id], [['hashtag', 'party'], thread.id]);

  const reply = await alice.v1.statuses.create({ status: 'Lemonade too, @bob?', inReplyToId: thread.id });
  const replied = await user.next((e) => e.event === 'update');
  t.same(replied.payload, reply);
  const mention = await user.next((e) => e.event === 'notification');
  const [listed] = await bob.v1.notifications.list();
  t.same(mention.payload, listed, 'a mention arrives as the notification the REST API lists');

  await bob.v1.statuses.create({ status: 'Yes!', inReplyToId: reply.id });
  await user.next((e) => e.event === 'update');
  await alice.v1.statuses.$select(reply.id).remove();
  t.same(await user.next(), { stream: ['user'], event: 'delete', payload: reply.id });
  await alice.v1.statuses.$select(thread.id).remove();
  t.same(await user.next(), { stream: ['user'], event: 'delete', payload: thread.id });
  t.same((await pub.next((e) => e.event === 'delete' && e.payload === thread.id)).stream, ['public']);
  t.same(user.items, [], 'no notification for one\u2019s own reply');
  t.same(tagged.items.filter((e) => e.event === 'update'), [], 'untagged posts stay off the hashtag stream');
});

eachDatabase('megalodon streaming', async (t, database) => {
  const { app, url, client } = await listening(t, database);
  await neighbourhood(await client.signUp('carol'), 'mill-lane');
  await client.signUp('dave');
  const carol = generator('mastodon', url, await oauthToken(url, 'carol'));
  const dave = generator('mastodon', url, await oauthToken(url, 'dave'));
  t.equal(await dave.streamingURL(), url.replace('http:', 'ws:'), 'megalodon reads the streaming URL from the instance');
  const group = (await dave.lookupAccount('mill-lane')).data;
  await dave.followAccount(group.id);

  const before = app.live.subscriberCount;
  const userStream = await dave.userStreaming();
  const publicStream = await carol.publicStreaming();
  t.teardown(() => {
    userStream.stop();
    publicStream.stop();
  });
  const user = collector<[string, any]>();
  const pub = collector<[string, any]>();
  for (const name of ['update', 'delete', 'notification', 'status_update', 'parser-error']) {
    userStream.on(name, (value: unknown) => user.push([name, value]));
    publicStream.on(name, (value: unknown) => pub.push([name, value]));
  }
  await subscribed(app, before, 3);

  const thread = (await carol.postStatus('@mill-lane Lost cat\nGinger, answers to Biscuit.')).data as any;
  const [event, status] = await user.next();
  t.equal(event, 'update');
  t.equal(status.id, thread.id);
  t.equal(status.content, thread.content);
  t.equal(status.account.username, 'carol');
  t.equal((await pub.next())[1].id, thread.id);

  const reply = (await carol.postStatus('@dave have you seen him?', { in_reply_to_id: thread.id })).data as any;
  t.equal((await user.next(([name]) => name === 'update'))[1].in_reply_to_id, thread.id);
  const [, notification] = await user.next(([name]) => name === 'notification');
  t.same([notification.type, notification.status.id, notification.account.username], ['mention', reply.id, 'carol']);

  await carol.deleteStatus(thread.id);
  t.same(await user.next(([name]) => name === 'delete'), ['delete', thread.id]);
  t.same(await pub.next(([name]) => name === 'delete'), ['delete', thread.id]);
  t.same([...user.items, ...pub.items].filter(([name]) => name === 'parser-error'), [], 'every message parses');
});

eachDatabase('Mastodon streaming: server-sent events, websocket protocol, refusals', async (t, database) => {
  const { app, url, client } = await listening(t, database, { LIVE_HEARTBEAT_SECONDS: '1' });
  const erin = await client.signUp('erin');
  await neighbourhood(erin, 'high-street');
  const token = await oauthToken(url, 'erin');
  const erinApp = createRestAPIClient({ url, accessToken: token });
  const ws = url.replace('http:', 'ws:') + '/api/v1/streaming';
  const sockets: WebSocket[] = [];
  const open = async (path: string, options?: Parameters<typeof rawSocket>[1]) => {
    const raw = rawSocket(ws + path, options);
    sockets.push(raw.socket);
    await raw.opened;
    return raw;
  };
  t.teardown(() => sockets.forEach((s) => s.terminate()));

  await t.test('health and a plain GET', async (t) => {
    const health = await fetch(`${url}/api/v1/streaming/health`);
    t.same([health.status, await health.text()], [200, 'OK']);
    const plain = await fetch(`${url}/api/v1/streaming?access_token=${token}`);
    t.equal(plain.status, 426);
    t.match(await plain.json(), { error: String, code: 'upgrade_required' });
  });

  await t.test('server-sent events: updates, deletes and heartbeats', async (t) => {
    const before = app.live.subscriberCount;
    const pub = await eventStream(`${url}/api/v1/streaming/public`, { authorization: `Bearer ${token}` });
    const user = await eventStream(`${url}/api/v1/streaming/user?access_token=${token}`);
    const tag = await eventStream(`${url}/api/v1/streaming/hashtag?tag=Market&access_token=${token}`);
    t.teardown(() => [pub, user, tag].forEach((s) => s.close()));
    t.equal(pub.contentType, 'text/event-stream; charset=utf-8');
    await subscribed(app, before, 4);
    const status = await erinApp.v1.statuses.create({ status: '@high-street Market day\nStalls from 9. #market' });
    for (const stream of [pub, user, tag]) {
      const update = await stream.events.next((e) => e.event === 'update');
      t.equal(JSON.parse(update.data!).id, status.id);
    }
    await erinApp.v1.statuses.$select(status.id).remove();
    t.same(await pub.events.next((e) => e.event === 'delete'), { event: 'delete', data: status.id });
    t.same(await pub.events.next((e) => e.comment !== undefined && e.comment !== ')'), { comment: 'thump' }, 'heartbeats are comments');
  });

  await t.test('server-sent events refused: no token, a bad one, a missing scope, no tag', async (t) => {
    const writeOnly = await oauthToken(url, 'erin', 'write');
    const cases: [string, Record<string, string>, number][] = [
      ['/api/v1/streaming/public', {}, 401],
      ['/api/v1/streaming/public?access_token=nonsense', {}, 401],
      ['/api/v1/streaming/user', { authorization: 'Bearer nonsense' }, 401],
      [`/api/v1/streaming/user?access_token=${writeOnly}`, {}, 403],
      [`/api/v1/streaming/hashtag?access_token=${token}`, {}, 422],
    ];
    for (const [path, headers, status] of cases) {
      const refused = await eventStream(url + path, headers);
      t.equal(refused.status, status, path);
      t.match(await refused.json(), { error: String });
    }
  });

  await t.test('a websocket: token as protocol, stream by query, subscribe and unsubscribe messages', async (t) => {
    const before = app.live.subscriberCount;
    const byProtocol = await open('?stream=public', { protocols: [token] });
    t.equal(byProtocol.socket.protocol, token, 'the token offered as protocol is accepted as the protocol');
    const byMessage = await open(`?access_token=${token}`);
    byMessage.send({ type: 'subscribe', stream: 'public:local' });
    byMessage.send({ type: 'subscribe', stream: 'public:local' }); // twice is once
    await subscribed(app, before, 2);
    const status = await erinApp.v1.statuses.create({ status: '@high-street Bins go out Tuesday' });
    const first = await byProtocol.messages.next();
    t.same([first.stream, first.event, JSON.parse(first.payload).id], [['public'], 'update', status.id], 'the payload is JSON text');
    t.same((await byMessage.messages.next()).stream, ['public:local']);
    byMessage.send({ type: 'unsubscribe', stream: 'public:local' });
    for (let i = 0; i < 100 && app.live.subscriberCount > before + 1; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    t.equal(app.live.subscriberCount, before + 1, 'unsubscribing lets go of the bus');
    await erinApp.v1.statuses.$select(status.id).remove();
    t.equal((await byProtocol.messages.next()).event, 'delete');
    t.same(byMessage.messages.items, []);
  });

  await t.test('errors inside the socket: unknown streams, bad messages, missing tag or scope', async (t) => {
    const notificationsOnly = await oauthToken(url, 'erin', 'read:notifications');
    const socket = await open(`?access_token=${notificationsOnly}&stream=nowhere`);
    t.same(await socket.messages.next(), { error: 'Unknown stream type', status: 400 });
    socket.send({ type: 'subscribe', stream: 'public' });
    t.same(await socket.messages.next(), { error: 'Access token does not have the required scopes', status: 403 });
    const full = await open(`?access_token=${token}`);
    full.send({ type: 'subscribe', stream: 'hashtag' });
    t.same(await full.messages.next(), { error: 'No tag for stream provided', status: 400 });
    for (const bad of ['not json', '{"type":"subscribe"}', '{"type":"listen","stream":"public"}', '[]', 'null']) {
      full.socket.send(bad);
      t.match(await full.messages.next(), { error: String, status: 400 }, bad);
    }
    t.equal(socket.socket.readyState, WebSocket.OPEN, 'errors leave the socket open');
    t.equal(full.socket.readyState, WebSocket.OPEN);
  });

  await t.test('refused before the upgrade: no token, a wrong one, one without read', async (t) => {
    const writeOnly = await oauthToken(url, 'erin', 'write');
    const cases: [string, Parameters<typeof rawSocket>[1], number][] = [
      ['?stream=public', {}, 401],
      ['?stream=public&access_token=nonsense', {}, 401],
      ['?stream=user', { headers: { authorization: 'Bearer nonsense' } }, 401],
      ['?stream=user', { protocols: ['nonsense'] }, 401],
      [`?stream=user&access_token=${writeOnly}`, {}, 403],
    ];
    for (const [path, options, status] of cases) {
      const error = await rawSocket(ws + path, options).opened.then(() => null, (e: { status?: number; body?: string }) => e);
      t.equal(error?.status, status, path);
      t.match(JSON.parse(error?.body ?? '{}'), { error: String });
    }
  });

  await t.test('a revoked token: the socket and the event stream close at the next heartbeat', async (t) => {
    const short = await oauthToken(url, 'erin');
    const socket = await open(`?stream=user&access_token=${short}`);
    const events = await eventStream(`${url}/api/v1/streaming/public?access_token=${short}`);
    const revoked = await fetch(`${url}/api/tokens/current`, { method: 'DELETE', headers: { authorization: `Bearer ${short}` } });
    t.equal(revoked.status, 204);
    t.equal(await socket.closed, 4001);
    await events.ended;
    t.pass('the event stream ended');
    const refused = await rawSocket(`${ws}?stream=user&access_token=${short}`).opened.catch((e) => e);
    t.equal(refused.status, 401);
  });
});
