// Shared test setup: every suite runs against embedded PGlite and against a real PostgreSQL database.
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import type { FastifyInstance, InjectOptions } from 'fastify';
import pg from 'pg';
import t from 'tap';
import { buildApp } from '../server/app.ts';
import { type Config, loadConfig } from '../server/config.ts';
import { type Database, migrate, openDatabase } from '../server/database.ts';

type Test = import('tap').Test;

export const postgresAdminUrl = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

let postgresAvailable: Promise<boolean> | undefined;
function checkPostgres(): Promise<boolean> {
  postgresAvailable ??= (async () => {
    const client = new pg.Client({ connectionString: postgresAdminUrl, connectionTimeoutMillis: 3000 });
    try {
      await client.connect();
      await client.end();
      return true;
    } catch {
      return false;
    }
  })();
  return postgresAvailable;
}

async function adminQuery(text: string): Promise<void> {
  const client = new pg.Client({ connectionString: postgresAdminUrl });
  await client.connect();
  try {
    await client.query(text);
  } finally {
    await client.end();
  }
}

/** A fresh, empty PostgreSQL database; the returned function drops it. */
export async function freshPostgresDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `square_mile_test_${randomBytes(6).toString('hex')}`;
  await adminQuery(`create database ${name}`);
  const url = new URL(postgresAdminUrl);
  url.pathname = `/${name}`;
  return { url: url.href, drop: () => adminQuery(`drop database if exists ${name} with (force)`) };
}

export type Backend = 'pglite' | 'postgresql';

export interface TestDatabase {
  backend: Backend;
  db: Database;
  /** Connection string when on PostgreSQL, for tests that start server processes. */
  url: string | null;
}

/** A new empty, migrated database on `backend`, removed when `t` ends. */
export async function newTestDatabase(t: Test, backend: Backend): Promise<TestDatabase> {
  if (backend === 'pglite') {
    const db = await openDatabase({ databaseUrl: null, dataDir: 'memory://' });
    t.teardown(() => db.destroy());
    await migrate(db);
    return { backend, db, url: null };
  }
  const { url, drop } = await freshPostgresDatabase();
  const db = await openDatabase({ databaseUrl: url, dataDir: 'memory://' });
  t.teardown(async () => {
    await db.destroy();
    await drop();
  });
  await migrate(db);
  return { backend, db, url };
}

/** Runs `suite` once per database backend, each time on a new empty, migrated database. */
export function eachDatabase(name: string, suite: (t: Test, database: TestDatabase) => Promise<void>): void {
  t.test(`${name} (PGlite)`, async (t) => suite(t, await newTestDatabase(t, 'pglite')));
  t.test(`${name} (PostgreSQL)`, async (t) => {
    if (!(await checkPostgres())) {
      // In CI PostgreSQL is always there, so its absence is a failure rather than a skip.
      if (process.env.CI || process.env.TEST_DATABASE_URL) t.fail(`PostgreSQL is not reachable at ${postgresAdminUrl}`);
      else t.comment(`skipped: PostgreSQL is not reachable at ${postgresAdminUrl}`);
      return;
    }
    await suite(t, await newTestDatabase(t, 'postgresql'));
  });
}

export function testConfig(overrides: Record<string, string> = {}): Config {
  return loadConfig({ PUBLIC_URL: 'http://forum.test', LOG_LEVEL: 'silent', ...overrides }, '/nonexistent');
}

export interface Response<T = any> {
  status: number;
  headers: Record<string, unknown>;
  body: T;
}

/** A small client over `app.inject`: real routing, validation and serialization, no sockets. */
export class Client {
  readonly app: FastifyInstance;
  token: string | undefined;
  constructor(app: FastifyInstance, token?: string) {
    this.app = app;
    this.token = token;
  }

  async request<T = any>(method: InjectOptions['method'], url: string, body?: unknown, headers: Record<string, string> = {}): Promise<Response<T>> {
    const response = await this.app.inject({
      method,
      url,
      headers: { ...(this.token && { authorization: `Bearer ${this.token}` }), ...headers },
      ...(body !== undefined && { payload: body as InjectOptions['payload'] }),
    });
    const text = response.body;
    let parsed: unknown = text;
    if (/json/.test(String(response.headers['content-type'] ?? ''))) parsed = JSON.parse(text);
    return { status: response.statusCode, headers: response.headers, body: parsed as T };
  }

  get = <T = any>(url: string) => this.request<T>('GET', url);
  post = <T = any>(url: string, body: unknown = {}) => this.request<T>('POST', url, body);
  patch = <T = any>(url: string, body: unknown) => this.request<T>('PATCH', url, body);
  delete = <T = any>(url: string) => this.request<T>('DELETE', url);

  as(token: string | undefined): Client {
    return new Client(this.app, token);
  }

  /** Registers a member and signs them in; returns a client acting as them. */
  async signUp(username: string, password = 'a long enough password'): Promise<Client> {
    const registered = await this.as(undefined).post('/api/accounts', { username, password });
    if (registered.status !== 201) throw new Error(`sign-up failed: ${JSON.stringify(registered.body)}`);
    const signedIn = await this.as(undefined).post('/api/tokens', { username, password });
    return this.as(signedIn.body.token);
  }
}

export async function startApp(t: Test, database: TestDatabase, overrides: Record<string, string> = {}) {
  const config = testConfig(overrides);
  const app = await buildApp({ config, db: database.db, logger: false });
  t.teardown(() => app.close());
  return { app, config, client: new Client(app) };
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** The app listening on loopback, with PUBLIC_URL naming the address it really has (apps follow the URLs it announces). */
export async function listening(t: Test, database: TestDatabase, overrides: Record<string, string> = {}) {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const started = await startApp(t, database, { ...overrides, PUBLIC_URL: url });
  await started.app.listen({ host: '127.0.0.1', port });
  return { ...started, url };
}

/** A whole table's rows, for checking that a refused request changed nothing. */
export async function snapshot(db: Database): Promise<unknown> {
  const tables = [
    'members', 'access_tokens', 'neighbourhoods', 'memberships', 'threads', 'replies', 'likes',
    'oauth_apps', 'oauth_codes', 'oauth_grants', 'oauth_app_tokens',
    'neighbourhood_follows', 'neighbourhood_sets', 'neighbourhood_set_entries', 'feed_tokens',
    'remote_actors', 'remote_follows', 'neighbourhood_bans', 'moderation_log',
  ] as const;
  const result: Record<string, string[]> = {};
  for (const table of tables) result[table] = (await db.selectFrom(table).selectAll().execute()).map((row) => JSON.stringify(row)).sort();
  return result;
}

/**
 * A fresh PostgreSQL database, dropped when `t` ends, for tests that start server processes against one.
 * Outside CI, with no PostgreSQL reachable, it says so and gives null; in CI its absence fails the test.
 */
export async function postgresForTest(t: Test): Promise<{ url: string } | null> {
  let database: Awaited<ReturnType<typeof freshPostgresDatabase>>;
  try {
    database = await freshPostgresDatabase();
  } catch (error) {
    if (process.env.CI || process.env.TEST_DATABASE_URL) throw error;
    t.comment(`skipped: PostgreSQL is not reachable (${(error as Error).message})`);
    return null;
  }
  t.teardown(() => database.drop());
  return database;
}
