// The same inbound and outbound work on bare Fedify (bench/bare-fedify.ts, in its own process, state in
// memory), so the cost of our own layers (Fastify, the database, the domain) shows beside our figures.
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { performance } from 'node:perf_hooks';
import { root } from '../test/processes.ts';
import { cpuSeconds, load, quick, report, type RequestSpec, sampleMemory } from './lib.ts';
import { SimulatedRemotes } from './remote.ts';

const total = Number(process.env.BENCH_INBOUND ?? (quick ? 500 : 20_000));
const actors = quick ? 50 : 200;
const servers = Number(process.env.BENCH_SERVERS ?? (quick ? 10 : 25));
const posts = Number(process.env.BENCH_POSTS ?? (quick ? 25 : 200));
const AS = 'https://www.w3.org/ns/activitystreams';

const child = spawn(process.execPath, ['bench/bare-fedify.ts'], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
const [line] = (await once(child.stdout!, 'data')) as [Buffer];
const url = /listening (\S+)/.exec(String(line))![1]!;
const pid = child.pid!;
const remotes = await new SimulatedRemotes().start();
const sinks = await Promise.all(Array.from({ length: servers }, () => new SimulatedRemotes().start()));
const waitUntil = async (check: () => boolean, ms: number) => {
  const deadline = performance.now() + ms;
  while (!check()) {
    if (performance.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
};
try {
  const follow = (i: number) => {
    const name = `a${i % actors}`;
    return remotes.signed('bench.test', '/inbox', name, { '@context': AS, id: `${remotes.origin}/activities/${randomUUID()}`, type: 'Follow', actor: remotes.actorId(name), object: 'http://bench.test/neighbourhoods/bench' });
  };
  const warm = await load(url, 8, 60, (i) => (i < actors ? follow(i) : null));
  if (warm.statuses['202'] !== actors) throw new Error(`warm-up: ${JSON.stringify(warm.statuses)}`);
  await waitUntil(() => remotes.received >= actors, 60_000);
  const requests: RequestSpec[] = Array.from({ length: total }, (_, i) => follow(i));
  const memory = sampleMemory(pid);
  const before = cpuSeconds(pid);
  const received = remotes.received;
  const started = performance.now();
  const result = await load(url, 32, 600, (i) => requests[i] ?? null);
  if (result.statuses['202'] !== total) throw new Error(`not every activity was accepted: ${JSON.stringify(result.statuses)}`);
  await waitUntil(() => remotes.received - received >= total, 600_000);
  const handled = (performance.now() - started) / 1000;
  const used = cpuSeconds(pid) - before;
  console.log(`bare Fedify (memory KV and queue, no database): ${total} signed Follows, 32 at once; then ${posts} posts to ${servers} servers`);
  report({ name: 'bare Fedify inbound: activities accepted', value: result.perSecond, unit: '/s', note: `p99 ${result.latency.p99.toFixed(1)} ms` });
  report({ name: 'bare Fedify inbound: accepted and handled (Accept sent) per CPU-second', value: total / used, unit: '/CPU-s', limit: 'limit: RSA-2048 verify, cached key', note: `all handled after ${handled.toFixed(1)} s` });

  const followers = sinks.flatMap((sink) => Array.from({ length: 5 }, (_, i) => ({ id: sink.actorId(`a${i}`), inbox: `${sink.actorId(`a${i}`)}/inbox`, sharedInbox: `${sink.origin}/inbox` })));
  const expected = posts * servers;
  const outBefore = cpuSeconds(pid);
  const outStarted = performance.now();
  const response = await fetch(`${url}/post`, { method: 'POST', body: JSON.stringify({ count: posts, followers }) });
  if (response.status !== 202) throw new Error(`post: ${response.status}`);
  await waitUntil(() => sinks.reduce((s, r) => s + r.received, 0) >= expected, 600_000);
  const outSeconds = (performance.now() - outStarted) / 1000;
  report({ name: 'bare Fedify outbound: deliveries', value: expected / outSeconds, unit: '/s' });
  report({ name: 'bare Fedify outbound: deliveries per CPU-second', value: expected / (cpuSeconds(pid) - outBefore), unit: '/CPU-s', limit: 'limit: RSA-2048 sign, cached key' });
  report({ name: 'bare Fedify: peak RSS', value: memory.stop(), unit: 'MB' });
} finally {
  child.kill('SIGTERM');
  await remotes.stop();
  await Promise.all(sinks.map((s) => s.stop()));
}
