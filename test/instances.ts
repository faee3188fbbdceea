// Real Square Mile instances on loopback for federation tests: each on its own port (so its own domain)
// with its own database, talking to the others over real HTTP with real signatures.
import { createServer } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../server/app.ts';
import type { Config } from '../server/config.ts';
import { Client, newTestDatabase, type TestDatabase, testConfig } from './helpers.ts';

type Test = import('tap').Test;

export async function freePort(host = '127.0.0.1'): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Another empty, migrated database on the same backend as `like`. */
export const anotherDatabase = (t: Test, like: TestDatabase): Promise<TestDatabase> => newTestDatabase(t, like.backend);

export interface Instance {
  app: FastifyInstance;
  config: Config;
  url: string;
  client: Client;
  database: TestDatabase;
  /** Closes the instance, as if its server went down; `restart` brings it back on the same port. */
  stop(): Promise<void>;
  restart(): Promise<Instance>;
}

export const federationSettings = { ALLOW_PRIVATE_ADDRESSES: 'true', QUEUE_POLL_MS: '50' };

export async function startInstance(t: Test, database: TestDatabase, overrides: Record<string, string> = {}, port?: number): Promise<Instance> {
  port ??= await freePort();
  // PUBLIC_URL may name a gate in front of the instance rather than the instance itself.
  const url = overrides.PUBLIC_URL ?? `http://127.0.0.1:${port}`;
  const config = testConfig({ PUBLIC_URL: url, ...federationSettings, ...overrides });
  const app = await buildApp({ config, db: database.db, logger: false });
  await app.listen({ host: '127.0.0.1', port });
  let closed = false;
  const stop = async () => {
    if (closed) return;
    closed = true;
    await app.close();
  };
  t.teardown(stop);
  return { app, config, url, client: new Client(app), database, stop, restart: () => startInstance(t, database, overrides, port) };
}

/** GETs an AS2 document from an instance over HTTP. */
export async function getJson(url: string, accept = 'application/activity+json'): Promise<any> {
  const response = await fetch(url, { headers: { accept } });
  if (!response.ok) throw new Error(`GET ${url}: ${response.status}`);
  return response.json();
}

/** The ids of the first page of an AS2 collection. */
export async function collectionIds(url: string): Promise<string[]> {
  const collection = await getJson(url);
  const first = typeof collection.first === 'string' ? await getJson(collection.first) : (collection.first ?? collection);
  const listed = first.orderedItems ?? first.items ?? [];
  // JSON-LD compaction writes a one-item list as the item itself.
  const items: unknown[] = Array.isArray(listed) ? listed : [listed];
  return items.map((item) => (typeof item === 'string' ? item : (item as { id: string }).id));
}

export interface Gate {
  url: string;
  /** `pass` forwards everything; `hold` keeps POSTs waiting, unanswered, until `release`. */
  mode: 'pass' | 'hold';
  target: number;
  held: { body: any; socket: import('node:net').Socket }[];
  passed: { method: string; path: string; body: any }[];
  releaseHeld(): void;
}

/** An HTTP gate in front of an instance: lets a test hold deliveries in flight, as a slow server would. */
export async function startGate(t: Test): Promise<Gate> {
  const { createServer: createHttpServer, request: forward } = await import('node:http');
  const gate: Gate = {
    url: '',
    mode: 'pass',
    target: 0,
    held: [],
    passed: [],
    releaseHeld() {
      for (const { socket } of gate.held.splice(0)) socket.destroy();
    },
  };
  const server = createHttpServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const parsed = body.length ? (() => { try { return JSON.parse(body.toString()); } catch { return null; } })() : null;
      if (req.method === 'POST' && gate.mode === 'hold') {
        gate.held.push({ body: parsed, socket: req.socket });
        return;
      }
      gate.passed.push({ method: req.method!, path: req.url!, body: parsed });
      const upstream = forward({ host: '127.0.0.1', port: gate.target, method: req.method, path: req.url, headers: req.headers }, (answer) => {
        res.writeHead(answer.statusCode!, answer.headers);
        answer.pipe(res);
      });
      upstream.on('error', () => res.writeHead(502).end());
      upstream.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  gate.url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  t.teardown(() => {
    gate.releaseHeld();
    server.closeAllConnections();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return gate;
}
