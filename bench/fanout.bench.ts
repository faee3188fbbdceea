// Websocket fan-out: how long from a post being accepted to its arrival at every one of many subscribers.
// The server runs as its own process (as in production); the subscribers share this one.
//   BENCH_SUBSCRIBERS (default 1000), BENCH_POSTS (default 30),
//   BENCH_DATABASE_URL: an empty PostgreSQL database to use; without it the embedded database is used.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import WebSocket from 'ws';
import { startServer } from '../test/processes.ts';

const subscribers = Number(process.env.BENCH_SUBSCRIBERS ?? 1000);
const posts = Number(process.env.BENCH_POSTS ?? 30);
const databaseUrl = process.env.BENCH_DATABASE_URL;
const dataDir = mkdtempSync(join(tmpdir(), 'sm-bench-'));

const server = await startServer({
  PORT: '0',
  PUBLIC_URL: 'http://bench.test',
  LOG_LEVEL: 'info',
  DATA_DIR: dataDir,
  ...(databaseUrl && { DATABASE_URL: databaseUrl }),
});

async function call(path: string, body: unknown, token?: string) {
  const response = await fetch(`${server.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token && { authorization: `Bearer ${token}` }) },
    body: JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`${path}: ${response.status} ${await response.text()}`);
  return response.json() as Promise<any>;
}

const quantile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
const summary = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return { median: quantile(sorted, 0.5).toFixed(1), p99: quantile(sorted, 0.99).toFixed(1), max: sorted[sorted.length - 1]!.toFixed(1) };
};

try {
  await call('/api/accounts', { username: 'poster', password: 'a long enough password' });
  const { token } = await call('/api/tokens', { username: 'poster', password: 'a long enough password' });
  await call('/api/neighbourhoods', { handle: 'bench', name: 'Bench', locality: { placeName: 'Here' } }, token);

  // arrivals[post][subscriber] = when that subscriber received it
  const arrivals = new Map<number, number[]>();
  const sockets: WebSocket[] = [];
  const wsUrl = `${server.url.replace('http', 'ws')}/api/streams/neighbourhoods/bench`;
  for (let batch = 0; batch < subscribers; batch += 100) {
    await Promise.all(
      Array.from({ length: Math.min(100, subscribers - batch) }, () => new Promise<void>((resolve, reject) => {
        const socket = new WebSocket(wsUrl);
        socket.on('message', (data) => {
          const message = JSON.parse(String(data));
          if (message.event === 'subscribed') return resolve();
          if (message.event === 'thread.created') {
            const at = performance.now();
            const list = arrivals.get(message.threadId) ?? [];
            list.push(at);
            arrivals.set(message.threadId, list);
          }
        });
        socket.on('error', reject);
        sockets.push(socket);
      })),
    );
  }

  const fromAccepted: number[] = [];
  const lastArrival: number[] = [];
  const postDurations: number[] = [];
  for (let i = 0; i < posts; i++) {
    const sent = performance.now();
    const { thread } = await call('/api/neighbourhoods/bench/threads', { kind: 'discussion', title: `Post ${i}`, body: 'Fan-out.' }, token);
    const accepted = performance.now();
    postDurations.push(accepted - sent);
    const deadline = accepted + 30_000;
    while ((arrivals.get(thread.id)?.length ?? 0) < subscribers && performance.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    const times = arrivals.get(thread.id) ?? [];
    if (times.length < subscribers) throw new Error(`post ${i}: only ${times.length} of ${subscribers} subscribers received it`);
    // An arrival can beat the HTTP response back to us; such deliveries count as 0 ms after acceptance.
    fromAccepted.push(...times.map((at) => Math.max(0, at - accepted)));
    lastArrival.push(Math.max(...times) - sent);
    await new Promise((r) => setTimeout(r, 100));
  }
  for (const socket of sockets) socket.terminate();

  console.log(`fan-out to ${subscribers} websocket subscribers, ${posts} posts, ${databaseUrl ? 'PostgreSQL' : 'embedded PGlite'}, node ${process.version}`);
  console.log('  post accepted (HTTP 201) in ms       ', summary(postDurations));
  console.log('  each delivery after acceptance, ms   ', summary(fromAccepted));
  console.log('  last subscriber reached after send, ms', summary(lastArrival));
} finally {
  await server.stop();
  rmSync(dataDir, { recursive: true, force: true });
}
