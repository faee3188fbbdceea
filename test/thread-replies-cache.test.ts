// A thread's replies are kept in memory between readings and checked against the thread's revision, which
// triggers bump with every change to its replies or their authors' names. Each test reads the thread (so
// its replies are kept), changes something, and reads again through the API and the page.
import { sql } from 'kysely';
import { buildApp } from '../server/app.ts';
import { openDatabase } from '../server/database.ts';
import { threadWithReplies } from '../server/threads/domain.ts';
import { Client, eachDatabase, startApp, testConfig } from './helpers.ts';

eachDatabase('a thread’s replies kept between readings', async (t, database) => {
  const { client } = await startApp(t, database);
  const alice = await client.signUp('alice');
  const bob = await client.signUp('bob');
  await alice.post('/api/neighbourhoods', { handle: 'park-road', name: 'Park Road', locality: { placeName: 'Walkley' } });
  await bob.post('/api/neighbourhoods/park-road/members');
  const { body: started } = await alice.post('/api/neighbourhoods/park-road/threads', { kind: 'discussion', title: 'Bins', body: 'Tuesday?' });
  const threadId: number = started.thread.id;
  const first = (await bob.post(`/api/threads/${threadId}/replies`, { body: 'First reply' })).body.reply;
  const revision = async () =>
    Number((await database.db.selectFrom('threads').select('replies_revision').where('id', '=', threadId).executeTakeFirstOrThrow()).replies_revision);
  const read = async (reader = client) => {
    const api = await reader.get(`/api/threads/${threadId}`);
    const page = await reader.get(`/threads/${threadId}`);
    t.equal(api.status, 200);
    t.equal(page.status, 200);
    return { replies: api.body.replies as { id: number; body: string; likeCount: number; deleted: boolean; author: { displayName: string } | null }[], page: page.body as string };
  };

  await t.test('a new reply is read at once', async (t) => {
    await read();
    const before = await revision();
    await alice.post(`/api/threads/${threadId}/replies`, { body: 'Second reply', parentId: first.id });
    t.ok((await revision()) > before, 'the revision moved');
    const { replies, page } = await read();
    t.same(replies.map((r) => r.body), ['First reply', 'Second reply']);
    t.match(page, 'Second reply');
  });

  await t.test('an edit, a like and a deletion are read at once', async (t) => {
    await read();
    await bob.patch(`/api/replies/${first.id}`, { body: 'First reply, edited' });
    t.equal((await read()).replies[0]!.body, 'First reply, edited');
    await alice.post(`/api/replies/${first.id}/like`);
    const liked = (await read()).replies[0]!;
    t.equal(liked.likeCount, 1, 'the like is counted');
    await bob.delete(`/api/replies/${first.id}`);
    const { replies, page } = await read();
    t.equal(replies[0]!.deleted, true);
    t.notMatch(page, 'First reply, edited');
  });

  await t.test('a change made in SQL, by no route of ours, is read at once', async (t) => {
    await read();
    await sql`update replies set body_html = '<p>Changed underneath</p>' where thread_id = ${threadId} and deleted_at is null`.execute(database.db);
    t.match((await read()).page, 'Changed underneath');
  });

  await t.test('a reply author’s new name is read at once', async (t) => {
    const { replies } = await read();
    t.not(replies[1]!.author!.displayName, 'Alice A.');
    await sql`update members set display_name = 'Alice A.' where username = 'alice'`.execute(database.db);
    t.equal((await read()).replies[1]!.author!.displayName, 'Alice A.');
    t.match((await read()).page, 'Alice A.');
  });

  await t.test('readers cannot change what other readers are shown', async (t) => {
    await read();
    const { replies } = await threadWithReplies(database.db, null, threadId);
    t.throws(() => {
      (replies[0] as { body_html: string }).body_html = 'defaced';
    }, TypeError);
    t.throws(() => (replies as unknown[]).push({}), TypeError);
  });

  // Two on PostgreSQL alone: PGlite has no replication role to turn triggers off with, and one process.
  if (!database.url) return;
  const url = database.url;

  // Triggers off for one change, so the revision does not move: what is read then is what was kept, not the table.
  await t.test('the kept replies are what is read while the revision stands', async (t) => {
    const before = (await read()).replies[1]!.body;
    await database.db.transaction().execute(async (trx) => {
      await sql`set local session_replication_role = replica`.execute(trx);
      await sql`update replies set body_source = 'Not read yet' where thread_id = ${threadId} and deleted_at is null`.execute(trx);
    });
    t.equal((await read()).replies[1]!.body, before, 'the kept replies were read');
    await sql`update threads set replies_revision = replies_revision + 1 where id = ${threadId}`.execute(database.db);
    t.equal((await read()).replies[1]!.body, 'Not read yet', 'a new revision reads the table again');
  });

  await t.test('a second process on the same database reads what the first one changed', async (t) => {
    const db = await openDatabase({ databaseUrl: url, dataDir: 'memory://' });
    const other = await buildApp({ config: testConfig(), db, logger: false });
    t.teardown(async () => {
      await other.close();
      await db.destroy();
    });
    const elsewhere = new Client(other);
    await read(elsewhere);
    await bob.post(`/api/threads/${threadId}/replies`, { body: 'Posted through the first process' });
    t.match((await read(elsewhere)).page, 'Posted through the first process');
  });
});
