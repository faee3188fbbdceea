// The live bus's listening connection to PostgreSQL is killed; a post committed while it reconnects still
// reaches the open streams, once, in order, from the numbered log of live events.
import { sql } from 'kysely';
import { eachDatabase, startApp } from './helpers.ts';
import { openStream } from './streams.ts';

eachDatabase('live events missed while the listener reconnects', async (t, database) => {
  const { app, client } = await startApp(t, database);
  await app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = app.server.address() as { port: number };
  const alice = await client.signUp('alice');
  const bob = await client.signUp('bob');
  await bob.post('/api/neighbourhoods', { handle: 'park-road', name: 'Park Road', locality: { placeName: 'Walkley' } });
  await alice.post('/api/follows', { neighbourhood: 'park-road' });
  const home = await openStream(`ws://127.0.0.1:${port}/api/streams/home`, { headers: { authorization: `Bearer ${alice.token}` } });
  const neighbourhood = await openStream(`ws://127.0.0.1:${port}/api/streams/neighbourhoods/park-road`);
  t.teardown(() => {
    home.close();
    neighbourhood.close();
  });
  const post = async (title: string) => (await bob.post('/api/neighbourhoods/park-road/threads', { kind: 'discussion', title, body: 'x' })).body.thread;

  await post('Before');
  t.equal((await home.next()).thread.title, 'Before');
  const logged = await database.db.selectFrom('live_events').selectAll().execute();
  t.ok(logged.some((row) => (row.payload as { type: string }).type === 'thread.created'), 'the event is numbered in live_events');

  // PGlite delivers notices in-process: there is no listening connection to lose.
  if (database.backend === 'postgresql') {
    await t.test('a post committed while the listener reconnects reaches the open streams', async (t) => {
      const listener = await sql<{ pid: number }>`select pid from pg_stat_activity
        where datname = current_database() and query = 'listen square_mile_live'`.execute(database.db);
      t.equal(listener.rows.length, 1, 'one connection listens');
      await sql`select pg_terminate_backend(${listener.rows[0]!.pid})`.execute(database.db);
      // The bus waits a second before reconnecting: these commit while nobody listens.
      const missed = [await post('While away 1'), await post('While away 2')];
      const reply = (await bob.post(`/api/threads/${missed[0].id}/replies`, { body: 'A reply while away' })).body.reply;

      const caught = [await home.next(undefined, 10_000), await home.next(undefined, 10_000), await home.next(undefined, 10_000)];
      t.same(caught.map((e) => [e.event, e.thread?.title ?? e.replyId]), [
        ['thread.created', 'While away 1'],
        ['thread.created', 'While away 2'],
        ['reply.created', reply.id],
      ], 'the home stream gets what was committed in the gap, in order');
      t.same([(await neighbourhood.next()).thread.title, (await neighbourhood.next()).thread.title], ['Before', 'While away 1']);
      await post('After');
      t.equal((await home.next(undefined, 10_000)).thread.title, 'After', 'and then what comes next');
      await new Promise((resolve) => setTimeout(resolve, 300));
      t.same(home.messages.filter((m) => m.event !== 'heartbeat'), [], 'nothing twice');
      const again = await sql<{ n: number }>`select count(*)::int as n from pg_stat_activity
        where datname = current_database() and query = 'listen square_mile_live'`.execute(database.db);
      t.equal(again.rows[0]!.n, 1, 'listening again');
    });
  }

  await t.test('a client that reconnects names the last event it saw and gets what it missed', async (t) => {
    const before = await post('Seen');
    const seen = await home.next((e) => e.thread?.id === before.id);
    t.type(seen.id, 'number', 'events carry their number');
    await bob.post('/api/neighbourhoods', { handle: 'private-lane', name: 'Private Lane', locality: { placeName: 'Walkley' } });
    t.equal((await bob.request('PUT', '/api/neighbourhoods/private-lane/privacy', { membersOnly: true })).status, 204);
    await post('Missed 1');
    await bob.post('/api/neighbourhoods/private-lane/threads', { kind: 'discussion', title: 'Members only', body: 'x' });
    await post('Missed 2');
    await home.next((e) => e.thread?.title === 'Missed 2');
    const resumed = await openStream(`ws://127.0.0.1:${port}/api/streams/neighbourhoods/park-road?after=${seen.id}`);
    t.teardown(() => resumed.close());
    t.same(resumed.messages.splice(0).map((e) => e.thread.title), ['Missed 1', 'Missed 2'], 'sent before it is live, in order');
    await post('Live again');
    t.equal((await resumed.next()).thread.title, 'Live again');
    const publicStream = await openStream(`ws://127.0.0.1:${port}/api/streams/public?after=${seen.id}`);
    t.teardown(() => publicStream.close());
    t.same(publicStream.messages.map((e) => e.thread.title), ['Missed 1', 'Missed 2', 'Live again'], 'what the reader may not see stays unseen');
    t.equal((await client.get('/api/streams/home?after=-1')).status, 400);
  });
});
