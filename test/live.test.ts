import { once } from 'node:events';
import type { FastifyBaseLogger } from 'fastify';
import t from 'tap';
import { loadConfig } from '../server/config.ts';
import { serveStream, type StreamSocket } from '../server/live/stream.ts';
import { eachDatabase, startApp } from './helpers.ts';
import { openStream, type StreamClient } from './streams.ts';

t.test('live stream settings', async (t) => {
  const defaults = loadConfig({}, '/nonexistent');
  t.equal(defaults.liveHeartbeatSeconds, 30);
  t.equal(defaults.liveSendBufferBytes, 1024 * 1024);
  const set = loadConfig({ LIVE_HEARTBEAT_SECONDS: '5', LIVE_SEND_BUFFER_BYTES: '65536' }, '/nonexistent');
  t.same([set.liveHeartbeatSeconds, set.liveSendBufferBytes], [5, 65536]);
  for (const env of [{ LIVE_HEARTBEAT_SECONDS: '0' }, { LIVE_HEARTBEAT_SECONDS: 'often' }, { LIVE_SEND_BUFFER_BYTES: '10' }]) {
    t.throws(() => loadConfig(env, '/nonexistent'), new RegExp(Object.keys(env)[0]!), JSON.stringify(env));
  }
});

eachDatabase('live streams', async (t, database) => {
  const { app, client } = await startApp(t, database, { LIVE_HEARTBEAT_SECONDS: '1' });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address() as { port: number };
  const ws = (path: string) => `ws://127.0.0.1:${address.port}${path}`;
  const streams: StreamClient[] = [];
  t.teardown(() => streams.forEach((s) => s.close()));
  const open = async (path: string, options: Parameters<typeof openStream>[1] = {}) => {
    const stream = await openStream(ws(path), options);
    streams.push(stream);
    return stream;
  };

  const alice = await client.signUp('alice');
  const bob = await client.signUp('bob');
  for (const [handle, name] of [['park-road', 'Park Road'], ['hillsborough', 'Hillsborough'], ['quiet', 'Quiet Lane']]) {
    await bob.post('/api/neighbourhoods', { handle, name, locality: { placeName: name } });
  }
  await alice.post('/api/follows', { neighbourhood: 'park-road' });
  await alice.post('/api/follows', { neighbourhood: 'hillsborough' });
  const post = async (handle: string, title: string) => (await bob.post(`/api/neighbourhoods/${handle}/threads`, { kind: 'discussion', title, body: 'x' })).body.thread;

  await t.test('a home stream gets new threads, replies, edits and deletions from what is followed, in order', async (t) => {
    const home = await open('/api/streams/home', { headers: { authorization: `Bearer ${alice.token}` } });
    await post('quiet', 'Not followed');
    const first = await post('park-road', 'One');
    await post('hillsborough', 'Two');
    await post('park-road', 'Three');
    const created = [await home.next(), await home.next(), await home.next()];
    t.same(created.map((e) => [e.event, e.thread.title, e.neighbourhood.handle]), [
      ['thread.created', 'One', 'park-road'],
      ['thread.created', 'Two', 'hillsborough'],
      ['thread.created', 'Three', 'park-road'],
    ]);
    const reply = await bob.post(`/api/threads/${first.id}/replies`, { body: 'A reply' });
    const replied = await home.next();
    t.same([replied.event, replied.threadId, replied.reply.id, replied.reply.body], ['reply.created', first.id, reply.body.reply.id, 'A reply']);
    await bob.patch(`/api/replies/${reply.body.reply.id}`, { body: 'Edited reply' });
    t.equal((await home.next()).reply.body, 'Edited reply');
    await bob.post(`/api/threads/${first.id}/like`);
    await bob.patch(`/api/threads/${first.id}`, { title: 'One, edited' });
    const edited = await home.next();
    t.same([edited.event, edited.thread.title], ['thread.edited', 'One, edited'], 'likes and reply counts are not edits');
    await bob.delete(`/api/replies/${reply.body.reply.id}`);
    // Deletions carry ids only: the event's number and what was deleted.
    const { id: replyEventId, ...replyDeleted } = await home.next();
    t.type(replyEventId, 'number');
    t.same(replyDeleted, { event: 'reply.deleted', neighbourhood: created[0].neighbourhood, threadId: first.id, replyId: reply.body.reply.id });
    await bob.delete(`/api/threads/${first.id}`);
    const { id: threadEventId, ...threadDeleted } = await home.next();
    t.ok(threadEventId > replyEventId, 'numbered in order');
    t.same(threadDeleted, { event: 'thread.deleted', neighbourhood: created[0].neighbourhood, threadId: first.id });
    t.same(home.messages, [], 'nothing from the neighbourhood not followed');

    await alice.post('/api/follows', { neighbourhood: 'quiet' });
    await post('quiet', 'Now followed');
    t.equal((await home.next()).thread.title, 'Now followed', 'following takes effect on an open stream');
    await alice.delete(`/api/follows/${(await client.get('/api/neighbourhoods/quiet')).body.neighbourhood.id}`);
    await post('quiet', 'Unfollowed again');
    await post('park-road', 'Marker');
    t.equal((await home.next()).thread.title, 'Marker', 'unfollowing takes effect too');
  });

  await t.test('public streams of a neighbourhood and of the instance need no token', async (t) => {
    const parkRoad = await open('/api/streams/neighbourhoods/park-road');
    const instance = await open('/api/streams/public');
    await post('hillsborough', 'Elsewhere');
    await post('park-road', 'Here');
    t.equal((await parkRoad.next()).thread.title, 'Here');
    t.same([(await instance.next()).thread.title, (await instance.next()).thread.title], ['Elsewhere', 'Here']);
  });

  await t.test('a token by query parameter or websocket protocol', async (t) => {
    const byQuery = await open(`/api/streams/home?access_token=${alice.token}`);
    const byProtocol = await open('/api/streams/home', { protocols: ['square-mile', alice.token!] });
    t.equal(byProtocol.socket.protocol, 'square-mile');
    const mastodonStyle = await open('/api/streams/home', { protocols: [alice.token!] });
    t.equal(mastodonStyle.socket.protocol, alice.token);
    await post('park-road', 'To all three');
    for (const stream of [byQuery, byProtocol, mastodonStyle]) t.equal((await stream.next()).thread.title, 'To all three');
  });

  await t.test('refusals happen before the upgrade, with a JSON reason', async (t) => {
    const cases: [string, Parameters<typeof openStream>[1], number][] = [
      ['/api/streams/home', {}, 401],
      ['/api/streams/home?access_token=not-a-token', {}, 401],
      ['/api/streams/home', { headers: { authorization: 'Bearer not-a-token' } }, 401],
      ['/api/streams/public?access_token=not-a-token', {}, 401],
      ['/api/streams/neighbourhoods/nowhere', {}, 404],
      ['/api/streams/home?colour=blue', {}, 400],
      // The session cookie does not count when another site's page opens the socket.
      ['/api/streams/home', { headers: { cookie: `sm_session=${alice.token}`, origin: 'https://evil.example' } }, 401],
    ];
    for (const [path, options, status] of cases) {
      const error = await openStream(ws(path), options).then(() => null, (e: { status?: number; body?: string }) => e);
      t.equal(error?.status, status, path);
      t.match(JSON.parse(error?.body ?? '{}'), { error: String, message: String });
    }
    const plain = await client.get('/api/streams/public');
    t.equal(plain.status, 426, 'a plain GET is told to upgrade');
    t.equal(plain.body.error, 'upgrade_required');
    const own = await open('/api/streams/home', { headers: { cookie: `sm_session=${alice.token}`, origin: 'http://forum.test' } });
    t.ok(own, 'the cookie counts from our own pages');
  });

  await t.test('revoked tokens: refused at once, and an open stream closes at the next heartbeat', async (t) => {
    const dave = await client.signUp('dave');
    const stream = await open('/api/streams/home', { headers: { authorization: `Bearer ${dave.token}` } });
    t.equal((await dave.delete('/api/tokens/current')).status, 204);
    const closed = await stream.closed;
    t.equal(closed.code, 4001);
    const refused = await openStream(ws('/api/streams/home'), { headers: { authorization: `Bearer ${dave.token}` } }).catch((e) => e);
    t.equal(refused.status, 401);
  });

  await t.test('heartbeats: the server pings', async (t) => {
    const stream = await open('/api/streams/public');
    await once(stream.socket, 'ping');
    t.pass('pinged within a heartbeat');
  });

  await t.test('a slow or silent subscriber is dropped without holding others up', async (t) => {
    const log = app.log as FastifyBaseLogger;
    const fake = (bufferedAmount: number, answersPings: boolean) => {
      const handlers: Record<string, (() => void)[]> = {};
      const socket = {
        readyState: 1,
        bufferedAmount,
        sent: [] as string[],
        terminated: false,
        send(data: string) { this.sent.push(data); },
        ping() { if (answersPings) setImmediate(() => handlers.pong?.forEach((h) => h())); },
        close() { this.terminate(); },
        terminate() { this.terminated = true; this.readyState = 3; handlers.close?.forEach((h) => h()); },
        on(event: string, handler: () => void) { (handlers[event] ??= []).push(handler); },
      };
      return socket satisfies StreamSocket;
    };
    const options = { bus: app.live, scope: { instance: true } as const, name: 'test', reader: null, maxBufferedBytes: 1024, stillAllowed: async () => true, log };
    const slow = fake(0, true);
    const silent = fake(0, false);
    const healthy = fake(0, true);
    const before = app.live.subscriberCount;
    await serveStream(slow, { ...options, heartbeatMs: 60_000 });
    await serveStream(silent, { ...options, heartbeatMs: 50 });
    await serveStream(healthy, { ...options, heartbeatMs: 50 });
    slow.bufferedAmount = 10_000; // the reader stopped reading: our side's buffer has filled
    const watcher = await open('/api/streams/public');
    await post('park-road', 'After the reader stalled');
    await watcher.next((m) => m.thread?.title === 'After the reader stalled');
    t.ok(slow.terminated, 'the slow one is cut off');
    t.equal(slow.sent.length, 1, 'it got only its greeting');
    await new Promise((resolve) => setTimeout(resolve, 200));
    t.ok(silent.terminated, 'one that never answers a ping is cut off');
    t.notOk(healthy.terminated);
    t.ok(healthy.sent.some((m) => JSON.parse(m).thread?.title === 'After the reader stalled'), 'the others still got it');
    healthy.terminate();
    watcher.close();
    await watcher.closed;
    await new Promise((resolve) => setTimeout(resolve, 50));
    t.equal(app.live.subscriberCount, before, 'every closed stream unsubscribed');
  });
});
