// Upgrades and backups: migrations run forward over a database that already holds data, and both kinds
// of backup (pg_dump, and a copy of the embedded data directory) restore into a working instance.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileMigrationProvider, Migrator } from 'kysely';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import t, { type Test } from 'tap';
import { migrate, migrationFolder } from '../server/database.ts';
import { eachDatabase, freshPostgresDatabase, startApp } from './helpers.ts';
import { startServer } from './processes.ts';

eachDatabase('migrations over a database holding data', async (t, database) => {
  const { db } = database;
  const migrator = new Migrator({ db, provider: new FileMigrationProvider({ fs, path, migrationFolder }) });
  const all = (await migrator.getMigrations()).map((m) => m.name);
  // Back to the first migration, with data written in that schema, then forward again to the latest.
  await db.schema.dropSchema('public').cascade().execute();
  await db.schema.createSchema('public').execute();
  const first = await migrator.migrateTo(all[0]!);
  t.error(first.error);
  const member = await db.insertInto('members').values({ username: 'early', username_key: 'early', password_hash: null }).returning('id').executeTakeFirstOrThrow();
  const place = await db
    .insertInto('neighbourhoods')
    .values({ handle: 'old-town', handle_key: 'old-town', name: 'Old Town', name_key: 'old town', place_name: 'Old Town', latitude: null, longitude: null, radius_metres: null, created_by: member.id })
    .returning('id')
    .executeTakeFirstOrThrow();
  const thread = await db
    .insertInto('threads')
    .values({ neighbourhood_id: place.id, author_id: member.id, kind: 'story', title: 'Before the upgrade', body_source: 'kept', body_html: '<p>kept</p>' })
    .returning('id')
    .executeTakeFirstOrThrow();
  t.same(await migrate(db), all.slice(1), 'every later migration applies over the data');
  const { client } = await startApp(t, database);
  const read = await client.get(`/api/threads/${thread.id}`);
  t.equal(read.status, 200);
  t.equal(read.body.thread.title, 'Before the upgrade');
  t.equal(read.body.thread.author.username, 'early');
});

async function seed(url: string): Promise<number> {
  const call = async (method: string, route: string, body: unknown, token?: string) => {
    const response = await fetch(`${url}${route}`, {
      method,
      headers: { 'content-type': 'application/json', ...(token && { authorization: `Bearer ${token}` }) },
      body: JSON.stringify(body),
    });
    return response.json() as Promise<any>;
  };
  await call('POST', '/api/accounts', { username: 'keeper', password: 'a long enough password' });
  const { token } = await call('POST', '/api/tokens', { username: 'keeper', password: 'a long enough password' });
  await call('POST', '/api/neighbourhoods', { handle: 'safe-street', name: 'Safe Street', locality: { placeName: 'Here' } }, token);
  const { thread } = await call('POST', '/api/neighbourhoods/safe-street/threads', { kind: 'story', title: 'Backed up', body: 'Still here' }, token);
  return thread.id;
}

async function assertRestored(t: Test, url: string, threadId: number) {
  const response = await fetch(`${url}/api/threads/${threadId}`);
  t.equal(response.status, 200);
  t.equal(((await response.json()) as any).thread.title, 'Backed up');
  const signIn = await fetch(`${url}/api/tokens`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'keeper', password: 'a long enough password' }),
  });
  t.equal(signIn.status, 201, 'the member can still sign in');
}

t.test('pg_dump and pg_restore carry an instance over', async (t) => {
  let source: Awaited<ReturnType<typeof freshPostgresDatabase>>;
  try {
    source = await freshPostgresDatabase();
  } catch (error) {
    if (process.env.CI || process.env.TEST_DATABASE_URL) t.fail(`PostgreSQL unavailable: ${error}`);
    return;
  }
  const target = await freshPostgresDatabase();
  const dir = mkdtempSync(join(tmpdir(), 'sm-backup-'));
  t.teardown(async () => {
    rmSync(dir, { recursive: true, force: true });
    await source.drop();
    await target.drop();
  });
  const before = await startServer({ PORT: '0', DATABASE_URL: source.url });
  const threadId = await seed(before.url);
  t.equal(await before.stop(), 0);

  const dump = join(dir, 'square-mile.dump');
  execFileSync('pg_dump', ['--format=custom', '--no-owner', `--file=${dump}`, source.url]);
  execFileSync('pg_restore', ['--no-owner', `--dbname=${target.url}`, dump]);

  const after = await startServer({ PORT: '0', DATABASE_URL: target.url });
  t.teardown(() => after.stop());
  await assertRestored(t, after.url, threadId);
});

t.test('a copy of the stopped embedded data directory restores', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sm-backup-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const before = await startServer({ PORT: '0', DATA_DIR: join(dir, 'live') });
  const threadId = await seed(before.url);
  t.equal(await before.stop(), 0);

  execFileSync('tar', ['-czf', join(dir, 'backup.tar.gz'), '-C', join(dir, 'live'), '.']);
  rmSync(join(dir, 'live'), { recursive: true, force: true });
  mkdirSync(join(dir, 'restored'));
  execFileSync('tar', ['-xzf', join(dir, 'backup.tar.gz'), '-C', join(dir, 'restored')]);

  const after = await startServer({ PORT: '0', DATA_DIR: join(dir, 'restored') });
  t.teardown(() => after.stop());
  await assertRestored(t, after.url, threadId);
});
