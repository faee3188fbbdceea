// Websocket fan-out: how long from a post being accepted to its arrival at every one of many subscribers.
// The server runs as its own process (as in production) on a fresh PostgreSQL database; the subscribers
// share this one. BENCH_SUBSCRIBERS (default 1000), BENCH_FANOUT_POSTS (default 30, quick 10).
import { performance } from 'node:perf_hooks';
import WebSocket from 'ws';
import { freshDatabase, quick, report, sampleMemory, startBenchServer, summary } from './lib.ts';

const subscribers = Number(process.env.BENCH_SUBSCRIBERS ?? 1000);
const posts = Number(process.env.BENCH_FANOUT_POSTS ?? (quick ? 10 : 30));
const database = await freshDatabase();
const server = await startBenchServer(database.url);

async function call(path: string, body: unknown, token?: string) {
  const response = await fetch(`${server.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token && { authorization: `Bearer ${token}` }) },
    body: JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`${path}: ${response.status} ${await response.text()}`);
  return response.json() as Promise<any>;
}


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

  const memory = sampleMemory(server.child.pid!);
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

  console.log(`fan-out to ${subscribers} websocket subscribers, ${posts} posts (PostgreSQL)`);
  const accepted = summary(postDurations);
  const delivered = summary(fromAccepted);
  report({ name: 'live: post accepted (HTTP 201), median', value: accepted.median, unit: 'ms', note: `p99 ${accepted.p99.toFixed(1)} ms` });
  report({ name: `live: delivery to each of ${subscribers} subscribers after acceptance, median`, value: delivered.median, unit: 'ms', target: '≤ 25' });
  report({ name: `live: delivery to each of ${subscribers} subscribers after acceptance, p99`, value: delivered.p99, unit: 'ms', target: '≤ 100' });
  report({ name: 'live: last subscriber reached after the post was sent, median', value: summary(lastArrival).median, unit: 'ms' });
  report({ name: 'live: peak RSS of the server process', value: memory.stop(), unit: 'MB', target: '< 300' });
} finally {
  await server.stop();
  await database.drop();
}
