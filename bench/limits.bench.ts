// The machine's own limits, measured in the same run as the figures they are compared with: RSA-2048
// sign and verify (cached key objects, and parsing the PEM each time), SHA-256 of a 2 KB body, a bare
// Fastify route driven from this process, and bare PostgreSQL inserts (one row per commit, and batched).
import { spawn } from 'node:child_process';
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify } from 'node:crypto';
import { once } from 'node:events';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { root } from '../test/processes.ts';
import { cpuSeconds, freshDatabase, load, quick, report } from './lib.ts';

const seconds = quick ? 0.5 : 2;

/** How many times `work` runs per second of one core, run for `seconds`. */
function rate(work: () => void): number {
  for (let i = 0; i < 20; i++) work();
  let n = 0;
  const started = performance.now();
  const until = started + seconds * 1000;
  while (performance.now() < until) {
    for (let i = 0; i < 10; i++) work();
    n += 10;
  }
  return n / ((performance.now() - started) / 1000);
}

const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const privatePem = privateKey.export({ type: 'pkcs8', format: 'pem' });
const publicPem = publicKey.export({ type: 'spki', format: 'pem' });
const text = Buffer.from('(request-target): post /inbox\nhost: bench.test\ndate: Sun, 22 Nov 2026 06:00:00 GMT\ndigest: SHA-256=abc');
const signature = sign('sha256', text, privateKey);
const body = Buffer.alloc(2048, 'a');

console.log('machine limits (one core unless said)');
report({ name: 'limit: RSA-2048 sign, cached key', value: rate(() => sign('sha256', text, privateKey)), unit: '/s' });
report({ name: 'limit: RSA-2048 verify, cached key', value: rate(() => verify('sha256', text, publicKey, signature)), unit: '/s' });
report({ name: 'limit: RSA-2048 sign, PEM parsed each time', value: rate(() => sign('sha256', text, createPrivateKey(privatePem))), unit: '/s' });
report({ name: 'limit: RSA-2048 verify, PEM parsed each time', value: rate(() => verify('sha256', text, createPublicKey(publicPem), signature)), unit: '/s' });
report({ name: 'limit: SHA-256 of a 2 KB body', value: rate(() => createHash('sha256').update(body).digest('base64')), unit: '/s' });

// A bare Fastify route in another process, loaded from this one: requests per CPU-second of the server.
const child = spawn(process.execPath, ['bench/bare-fastify.ts'], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
const [line] = (await once(child.stdout!, 'data')) as [Buffer];
const url = /listening (\S+)/.exec(String(line))![1]!;
await load(url, 32, 0.5, () => ({ path: '/' }));
const before = cpuSeconds(child.pid!);
const bare = await load(url, 32, seconds * 2, () => ({ path: '/' }));
const used = cpuSeconds(child.pid!) - before;
child.kill('SIGTERM');
report({ name: 'limit: bare Fastify route, 32 connections', value: bare.perSecond, unit: 'req/s', note: `p99 ${bare.latency.p99.toFixed(1)} ms` });
report({ name: 'limit: bare Fastify route per CPU-second', value: bare.count / used, unit: 'req/CPU-s' });

// Bare PostgreSQL: single-row commits from 8 clients, then 1,000 rows per statement.
const database = await freshDatabase();
try {
  const clients = await Promise.all(Array.from({ length: 8 }, async () => {
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    return client;
  }));
  await clients[0]!.query('create table bench_rows (id bigint generated always as identity primary key, body text not null, at timestamptz not null default now())');
  let rows = 0;
  let started = performance.now();
  let until = started + seconds * 1000;
  await Promise.all(clients.map(async (client) => {
    while (performance.now() < until) {
      await client.query('insert into bench_rows (body) values ($1)', ['a row of about this size']);
      rows++;
    }
  }));
  report({ name: 'limit: PostgreSQL single-row commits, 8 clients', value: rows / ((performance.now() - started) / 1000), unit: 'rows/s' });
  rows = 0;
  started = performance.now();
  until = started + seconds * 1000;
  const batch = Array.from({ length: 1000 }, () => 'a row of about this size');
  await Promise.all(clients.slice(0, 2).map(async (client) => {
    while (performance.now() < until) {
      await client.query('insert into bench_rows (body) select unnest($1::text[])', [batch]);
      rows += batch.length;
    }
  }));
  report({ name: 'limit: PostgreSQL batched inserts (1,000 a statement)', value: rows / ((performance.now() - started) / 1000), unit: 'rows/s' });
  await Promise.all(clients.map((client) => client.end()));
} finally {
  await database.drop();
}
