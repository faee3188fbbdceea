// The instance as an operator runs it: configuration, start-up, health, commands, shutdown.
import { request } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { buildApp } from '../server/app.ts';
import { loadConfig } from '../server/config.ts';
import { openDatabase } from '../server/database.ts';
import { freshPostgresDatabase, testConfig } from './helpers.ts';
import { runCommand, startServer } from './processes.ts';

t.test('configuration is validated, naming the bad setting', async (t) => {
  const defaults = loadConfig({}, '/nonexistent');
  t.equal(defaults.port, 8080);
  t.equal(defaults.domain, 'localhost:8080');
  t.equal(defaults.registration, 'open');
  t.equal(defaults.databaseUrl, null);
  const bad: [Record<string, string>, RegExp][] = [
    [{ PORT: 'eighty' }, /PORT/],
    [{ PORT: '70000' }, /PORT/],
    [{ PUBLIC_URL: 'not a url' }, /PUBLIC_URL/],
    [{ PUBLIC_URL: 'ftp://forum.example' }, /PUBLIC_URL/],
    [{ PUBLIC_URL: 'https://forum.example/sub' }, /PUBLIC_URL/],
    [{ PUBLIC_URL: 'https://forum.example', DOMAIN: 'other.example' }, /DOMAIN/],
    [{ DATABASE_URL: 'mysql://x' }, /DATABASE_URL/],
    [{ LOG_LEVEL: 'loud' }, /LOG_LEVEL/],
    [{ REGISTRATION: 'sometimes' }, /REGISTRATION/],
    [{ BODY_LIMIT: '-1' }, /BODY_LIMIT/],
    [{ ALLOW_PRIVATE_ADDRESSES: 'maybe' }, /ALLOW_PRIVATE_ADDRESSES/],
    [{ ALLOW_PRIVATE_ADDRESSES: '127.0.0.1,localhost' }, /ALLOW_PRIVATE_ADDRESSES: "localhost" is not true, false or an IP address/],
    [{ CONFIG_FILE: '/nonexistent/file.json' }, /CONFIG_FILE/],
  ];
  for (const [env, pattern] of bad) t.throws(() => loadConfig(env, '/nonexistent'), pattern, JSON.stringify(env));

  const dir = mkdtempSync(join(tmpdir(), 'sm-config-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'instance.json'), JSON.stringify({ PUBLIC_URL: 'https://forum.example', registration: 'approval' }));
  const fromFile = loadConfig({ CONFIG_FILE: 'instance.json', REGISTRATION: 'closed' }, dir);
  t.equal(fromFile.domain, 'forum.example', 'file values are read');
  t.equal(fromFile.registration, 'closed', 'the environment wins over the file');
  writeFileSync(join(dir, 'bad.json'), JSON.stringify({ colour: 'blue' }));
  t.throws(() => loadConfig({ CONFIG_FILE: 'bad.json' }, dir), /unknown setting "colour"/);
});

t.test('a bad setting stops the server with one clear line', async (t) => {
  const result = runCommand('server/main.ts', [], { PORT: 'eighty' });
  t.equal(result.status, 1);
  t.equal(result.stderr.trim(), 'square-mile: invalid setting PORT: "eighty" is not a whole number');
});

t.test('with no database configured, it serves on the embedded one and keeps its data', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'sm-data-'));
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
  const server = await startServer({ PORT: '0', DATA_DIR: dataDir });
  t.same(await (await fetch(`${server.url}/healthz`)).json(), { status: 'ok' });
  t.same(await (await fetch(`${server.url}/readyz`)).json(), { status: 'ready' });
  const registered = await fetch(`${server.url}/api/accounts`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-request-id': 'trace-me-42' },
    body: JSON.stringify({ username: 'kept', password: 'a long enough password' }),
  });
  t.equal(registered.status, 201);
  t.equal(await server.stop(), 0);
  t.match(server.logs(), /"reqId":"trace-me-42"/, 'JSON logs carry the request id');

  const again = await startServer({ PORT: '0', DATA_DIR: dataDir });
  t.teardown(() => again.stop());
  t.equal((await fetch(`${again.url}/api/members/kept`)).status, 200, 'the member is still there after a restart');
  const openapi: any = await (await fetch(`${again.url}/api/openapi.json`)).json();
  t.equal(openapi.openapi, '3.0.3');
  t.ok(openapi.paths['/api/neighbourhoods/{handle}/threads'].post, 'routes are described');
});

t.test('SIGTERM finishes requests in flight, then exits', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'sm-data-'));
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
  const server = await startServer({ PORT: '0', DATA_DIR: dataDir });
  const body = JSON.stringify({ username: 'slowpoke', password: 'a long enough password' });
  const url = new URL(`${server.url}/api/accounts`);
  // Send half the body, signal the server, then send the rest: the request must still complete.
  const response = new Promise<number>((resolve, reject) => {
    const req = request(url, { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
      res.resume();
      resolve(res.statusCode!);
    });
    req.on('error', reject);
    req.write(body.slice(0, 10));
    setTimeout(() => {
      server.child.kill('SIGTERM');
      setTimeout(() => req.end(body.slice(10)), 300);
    }, 300);
  });
  t.equal(await response, 201, 'the in-flight request completed');
  t.equal(await server.stop(), 0, 'clean exit');
  t.match(server.logs(), /shutting down/);
  t.match(server.logs(), /"msg":"stopped"/);
  const refused = await fetch(`${server.url}/healthz`).then(() => 'answered', () => 'refused');
  t.equal(refused, 'refused', 'no longer accepting');
});

t.test('admin and migrate commands', async (t) => {
  const targets: [string, Record<string, string>][] = [];
  const dataDir = mkdtempSync(join(tmpdir(), 'sm-data-'));
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
  targets.push(['PGlite', { DATA_DIR: dataDir }]);
  try {
    const pg = await freshPostgresDatabase();
    t.teardown(pg.drop);
    targets.push(['PostgreSQL', { DATABASE_URL: pg.url }]);
  } catch (error) {
    if (process.env.CI || process.env.TEST_DATABASE_URL) t.fail(`PostgreSQL unavailable: ${error}`);
  }
  for (const [name, env] of targets) {
    await t.test(name, async (t) => {
      const migrated = runCommand('server/cli/migrate.ts', [], env);
      t.equal(migrated.status, 0, migrated.stderr);
      t.match(migrated.stdout, /applied: 0001_local_forum/);
      t.match(runCommand('server/cli/migrate.ts', [], env).stdout, /up to date/, 'running it again is harmless');

      const admin = (...args: string[]) => runCommand('server/cli/admin.ts', args, env);
      t.equal(admin('create-admin', 'root', '--password', 'a long enough password').status, 0);
      t.equal(admin('create-user', 'nina', '--password', 'a long enough password').status, 0);
      const duplicate = admin('create-user', 'NINA', '--password', 'another long password');
      t.equal(duplicate.status, 1);
      t.match(duplicate.stderr, /taken/);
      const created = admin('create-neighbourhood', 'park-road', '--name', 'Park Road', '--place', 'Walkley', '--owner', 'nina', '--latitude', '53.39', '--longitude=-1.49');
      t.equal(created.status, 0, created.stderr);
      t.equal(admin('create-neighbourhood', 'x', '--name', 'X', '--place', 'Y', '--owner', 'ghost').status, 1, 'unknown owner');
      t.equal(admin('create-neighbourhood', 'y', '--name', 'Y', '--place', 'Y', '--owner', 'nina', '--latitude', 'north').status, 2);
      const members = JSON.parse(admin('list-members', '--json').stdout);
      t.same(members.map((m: { username: string; role: string }) => [m.username, m.role]), [['root', 'admin'], ['nina', 'member']]);
      const places = JSON.parse(admin('list-neighbourhoods', '--json').stdout);
      t.same(places.map((n: { handle: string; members: number }) => [n.handle, n.members]), [['park-road', 1]]);
      t.equal(admin('suspend', 'nina').status, 0);
      t.match(admin('list-members').stdout, /nina\tmember\tsuspended/);
      t.equal(admin('frobnicate').status, 2);
      t.equal(admin('approve', 'ghost').status, 1);
    });
  }
});

t.test('/readyz says 503 while the database cannot be reached; /healthz still answers', async (t) => {
  const db = await openDatabase({ databaseUrl: 'postgres://postgres@127.0.0.1:1/nowhere', dataDir: 'memory://' });
  const app = await buildApp({ config: testConfig(), db, logger: false });
  t.teardown(async () => {
    await app.close();
    await db.destroy();
  });
  const ready = await app.inject({ method: 'GET', url: '/readyz' });
  t.equal(ready.statusCode, 503);
  t.equal(ready.json().error, 'not_ready');
  t.ok(ready.headers['retry-after']);
  t.equal((await app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200);
});
