// Scale-out: two web and two worker processes on one PostgreSQL database. Remote Follows arrive at either
// web process and are answered by whichever worker takes the job, once each; posts accepted by either web
// process reach websocket clients on both; killing one web and one worker mid-burst loses nothing accepted.
import t from 'tap';
import { loadConfig } from '../server/config.ts';
import { postgresForTest } from './helpers.ts';
import { federationSettings } from './instances.ts';
import { callJson, startServer, type ServerProcess } from './processes.ts';
import { eventually, postSigned, RemoteServer } from './remote-server.ts';
import { openStream } from './streams.ts';

const AS = 'https://www.w3.org/ns/activitystreams';

t.test('ROLE, DATABASE_TIMEOUT_MS and inbox limit settings', async (t) => {
  const defaults = loadConfig({}, '/nonexistent');
  t.same([defaults.role, defaults.databaseTimeoutMs], ['all', 5000]);
  t.same(loadConfig({ ROLE: 'worker', DATABASE_TIMEOUT_MS: '800' }, '/nonexistent').role, 'worker');
  t.throws(() => loadConfig({ ROLE: 'both' }, '/nonexistent'), /ROLE/);
  t.throws(() => loadConfig({ DATABASE_TIMEOUT_MS: '10' }, '/nonexistent'), /DATABASE_TIMEOUT_MS/);
  t.same([defaults.inboxMaxInFlight, defaults.inboxMaxBacklog], [32, 10_000]);
  t.throws(() => loadConfig({ INBOX_MAX_IN_FLIGHT: '0' }, '/nonexistent'), /INBOX_MAX_IN_FLIGHT/);
  t.throws(() => loadConfig({ INBOX_MAX_BACKLOG: 'many' }, '/nonexistent'), /INBOX_MAX_BACKLOG/);
});

t.test('two web and two worker processes share one database', async (t) => {
  const database = await postgresForTest(t);
  if (!database) return;
  const publicUrl = 'http://forum.test';
  const env = { ...federationSettings, DATABASE_URL: database.url, PORT: '0', PUBLIC_URL: publicUrl, QUEUE_LEASE_SECONDS: '2' };
  const started: ServerProcess[] = [];
  const start = async (role: string) => {
    const server = await startServer({ ...env, ROLE: role });
    started.push(server);
    return server;
  };
  t.teardown(() => Promise.all(started.map((s) => s.stop('SIGKILL'))));
  // The first process migrates the empty database; the others start together against it.
  const web1 = await start('web');
  const [web2, worker1] = await Promise.all([start('web'), start('worker'), start('worker')]);

  const call = callJson;

  await t.test('a worker serves its health endpoints and no public routes', async (t) => {
    t.equal((await call(worker1.url, 'GET', '/readyz')).status, 200);
    t.equal((await call(worker1.url, 'GET', '/api/neighbourhoods')).status, 404);
    t.equal((await fetch(`${worker1.url}/inbox`, { method: 'POST', body: '{}' })).status, 404);
  });

  await call(web1.url, 'POST', '/api/accounts', { username: 'sam', password: 'a long enough password' });
  const sam = (await call(web2.url, 'POST', '/api/tokens', { username: 'sam', password: 'a long enough password' })).body.token as string;
  t.equal((await call(web1.url, 'POST', '/api/neighbourhoods', { handle: 'park-road', name: 'Park Road', locality: { placeName: 'Walkley' } }, sam)).status, 201);
  const group = `${publicUrl}/neighbourhoods/park-road`;

  const remote = await RemoteServer.start(t);
  const actors = await Promise.all(Array.from({ length: 8 }, (_, i) => remote.actor(`follower${i}`)));
  const acceptsOf = (id: string) => remote.inboxPosts('Accept').filter((post) => (typeof post.body.object === 'string' ? post.body.object : post.body.object?.id) === id);
  /** Sends a signed Follow from each actor to a web process's shared inbox; returns the ids answered 202. */
  const follows = async (webs: ServerProcess[], from: typeof actors) => {
    const sent = await Promise.all(from.map(async (actor, i) => {
      const activity = { '@context': AS, id: remote.activityId(), type: 'Follow', actor: actor.id, object: group };
      const response = await postSigned(`${webs[i % webs.length]!.url}/inbox`, activity, actor).catch(() => ({ status: 0, body: '' }));
      return response.status === 202 ? activity.id : null;
    }));
    return sent.filter((id): id is string => id !== null);
  };

  await t.test('every delivery is sent once, whichever processes take part', async (t) => {
    const accepted = await follows([web1, web2], actors);
    t.equal(accepted.length, actors.length, 'every Follow is accepted by a web process');
    await eventually(() => accepted.every((id) => acceptsOf(id).length), 30_000, 'an Accept for every Follow');
    // Give a duplicate, if there were one, time to arrive.
    await new Promise((resolve) => setTimeout(resolve, 500));
    t.same(accepted.map((id) => acceptsOf(id).length), accepted.map(() => 1), 'each Accept was sent exactly once');
  });

  await t.test('websocket clients on either web process see posts accepted by either', async (t) => {
    const streams = await Promise.all([web1, web2].map((web) => openStream(`${web.url.replace('http', 'ws')}/api/streams/neighbourhoods/park-road`)));
    t.teardown(() => streams.forEach((s) => s.close()));
    const titles: string[] = [];
    for (const web of [web1, web2]) {
      const posted = await call(web.url, 'POST', '/api/neighbourhoods/park-road/threads', { kind: 'discussion', title: `From ${web.url}`, body: 'x' }, sam);
      t.equal(posted.status, 201);
      titles.push(posted.body.thread.title);
    }
    for (const stream of streams) {
      const seen = [(await stream.next()).thread.title, (await stream.next()).thread.title];
      t.same(seen, titles, 'both posts, in order');
    }
  });

  await t.test('killing one web and one worker mid-burst loses nothing accepted', async (t) => {
    const more = await Promise.all(Array.from({ length: 8 }, (_, i) => remote.actor(`late${i}`)));
    const burstFollows = follows([web1, web2], more);
    const burstPosts = Promise.all(Array.from({ length: 10 }, (_, i) =>
      call(i % 2 ? web1.url : web2.url, 'POST', '/api/neighbourhoods/park-road/threads', { kind: 'discussion', title: `Burst ${i}`, body: 'x' }, sam)
        .catch(() => ({ status: 0, body: null }))));
    await new Promise((resolve) => setTimeout(resolve, 30));
    await Promise.all([web1.stop('SIGKILL'), worker1.stop('SIGKILL')]);
    const [accepted, posts] = await Promise.all([burstFollows, burstPosts]);
    t.ok(accepted.length > 0, `${accepted.length} of ${more.length} Follows accepted before and after the kill`);
    await eventually(() => accepted.every((id) => acceptsOf(id).length), 30_000, 'an Accept for every accepted Follow');
    const created = posts.filter((p) => p.status === 201).map((p) => p.body.thread.id as number);
    t.ok(created.length > 0);
    for (const id of created) t.equal((await call(web2.url, 'GET', `/api/threads/${id}`)).status, 200, `thread ${id} is there`);
  });
});
