// What every benchmark shares: a fresh PostgreSQL database, a server process, a keep-alive load generator,
// resident-memory sampling, and a results file that `bench/run.ts` turns into one table of ratios.
import { randomBytes } from 'node:crypto';
import { appendFileSync, readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { type ServerProcess, startServer } from '../test/processes.ts';

/** Quick mode: smaller seeds and shorter runs, so the whole suite takes two or three minutes. */
export const quick = /^(1|true|yes)$/i.test(process.env.BENCH_QUICK ?? '');
export const adminUrl = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/** A fresh PostgreSQL database for one benchmark; `drop` removes it. (test/helpers.ts has its twin, but importing it starts tap.) */
export async function freshDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `square_mile_bench_${randomBytes(5).toString('hex')}`;
  const admin = async (text: string) => {
    const client = new pg.Client({ connectionString: adminUrl });
    await client.connect();
    try {
      await client.query(text);
    } finally {
      await client.end();
    }
  };
  await admin(`create database ${name}`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return { url: url.href, drop: () => admin(`drop database if exists ${name} with (force)`) };
}

/** Our server as its own process on a fresh database, as in production but on loopback. */
export async function startBenchServer(databaseUrl: string, env: Record<string, string> = {}): Promise<ServerProcess> {
  return startServer({
    PORT: '0',
    PUBLIC_URL: 'http://bench.test',
    LOG_LEVEL: 'info',
    DATA_DIR: '/tmp',
    DATABASE_URL: databaseUrl,
    ALLOW_PRIVATE_ADDRESSES: 'true',
    INBOX_MAX_IN_FLIGHT: '1000',
    INBOX_MAX_BACKLOG: '1000000',
    // The abuse limits would cut a benchmark's bursts short: it measures throughput, not them.
    POSTS_PER_HOUR: '1000000',
    FOLLOWS_PER_HOUR: '1000000',
    REMOTE_POSTS_PER_HOUR: '10000000',
    REMOTE_FOLLOWS_PER_HOUR: '10000000',
    // e.g. BENCH_NODE_OPTIONS="--cpu-prof --cpu-prof-dir=/tmp/prof" to profile the server processes.
    ...(process.env.BENCH_NODE_OPTIONS && { NODE_OPTIONS: process.env.BENCH_NODE_OPTIONS }),
    ...env,
  });
}

const rssMb = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;

/** Samples a process's resident memory every 100 ms until stopped; gives the peak in MB. */
export function sampleMemory(pid: number) {
  let peak = rssMb(pid);
  const timer = setInterval(() => {
    try {
      peak = Math.max(peak, rssMb(pid));
    } catch {
      // the process has gone
    }
  }, 100);
  return { stop: () => (clearInterval(timer), peak) };
}

const quantile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? NaN;
export function summary(values: number[]) {
  const sorted = [...values].sort((a, b) => a - b);
  return { median: quantile(sorted, 0.5), p99: quantile(sorted, 0.99), max: sorted[sorted.length - 1] ?? NaN };
}

export interface RequestSpec {
  method?: string;
  path: string;
  headers?: Record<string, string>;
  body?: string;
}

export interface LoadResult {
  count: number;
  seconds: number;
  perSecond: number;
  statuses: Record<string, number>;
  latency: { median: number; p99: number; max: number };
}

const agent = new Agent({ keepAlive: true, maxSockets: 256 });

function send(base: URL, spec: RequestSpec): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ agent, host: base.hostname, port: base.port, method: spec.method ?? 'GET', path: spec.path, headers: { ...spec.headers, ...(spec.body && { 'content-length': Buffer.byteLength(spec.body) }) } }, (res) => {
      res.on('data', () => {});
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(spec.body);
  });
}

/**
 * Sends requests from `next` (null when there are no more) with `concurrency` keep-alive connections,
 * for at most `seconds`; every request's latency is kept.
 */
export async function load(url: string, concurrency: number, seconds: number, next: (i: number) => RequestSpec | null): Promise<LoadResult> {
  const base = new URL(url);
  const latencies: number[] = [];
  const statuses: Record<string, number> = {};
  const started = performance.now();
  const deadline = started + seconds * 1000;
  let issued = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (performance.now() < deadline) {
      const spec = next(issued++);
      if (!spec) return;
      const sent = performance.now();
      const status = await send(base, spec).catch(() => 0);
      latencies.push(performance.now() - sent);
      statuses[status] = (statuses[status] ?? 0) + 1;
    }
  }));
  const elapsed = (performance.now() - started) / 1000;
  return { count: latencies.length, seconds: elapsed, perSecond: latencies.length / elapsed, statuses, latency: summary(latencies) };
}

/** Total CPU seconds (user + system) a process has used so far, from /proc. */
export function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** One figure for the summary table; `limit` names the machine limit it is compared with. */
export interface Figure {
  name: string;
  value: number;
  unit: string;
  target?: string;
  limit?: string;
  /** Context printed beside the figure (latency spread, counts). */
  note?: string;
}

/** Prints a figure and appends it to the run's results file (BENCH_RESULTS), if any. */
export function report(figure: Figure) {
  console.log(`  ${figure.name.padEnd(72)} ${format(figure.value).padStart(10)} ${figure.unit}${figure.target ? `   (target ${figure.target})` : ''}${figure.note ? `   ${figure.note}` : ''}`);
  if (process.env.BENCH_RESULTS) appendFileSync(process.env.BENCH_RESULTS, `${JSON.stringify(figure)}\n`);
}

export const format = (n: number) => (Number.isFinite(n) ? (n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n.toFixed(2)) : String(n));

/** CPU seconds used so far by each PostgreSQL backend serving `databaseUrl` (the database's share of the work), by process id. */
async function databaseCpuSeconds(databaseUrl: string): Promise<Map<number, number>> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ pid: number }>('select pid from pg_stat_activity where datname = $1', [new URL(databaseUrl).pathname.slice(1)]);
    const used = new Map<number, number>();
    for (const { pid } of rows) {
      try {
        used.set(pid, cpuSeconds(pid));
      } catch {
        // a backend that ended in between
      }
    }
    return used;
  } finally {
    await client.end();
  }
}

/** Transactions committed in `databaseUrl` so far (each statement outside a transaction counts as one). */
export async function databaseCommits(databaseUrl: string): Promise<number> {
  // Backends report their counts at most once a second.
  await new Promise((resolve) => setTimeout(resolve, 1100));
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const { rows } = await client.query('select xact_commit from pg_stat_database where datname = $1', [new URL(databaseUrl).pathname.slice(1)]);
    return Number(rows[0]?.xact_commit ?? 0);
  } finally {
    await client.end();
  }
}

/**
 * CPU seconds of a server process and of its database backends, from now until `stop`. A backend counts
 * from its figure at the start, or from nothing if it started since; one that ended in between (an idle
 * connection of another process, closed by its pool) is left out rather than taken off.
 */
export async function measureCpu(pid: number, databaseUrl: string) {
  const server = cpuSeconds(pid);
  const database = await databaseCpuSeconds(databaseUrl);
  return {
    stop: async () => {
      let used = cpuSeconds(pid) - server;
      for (const [backend, seconds] of await databaseCpuSeconds(databaseUrl)) used += seconds - (database.get(backend) ?? 0);
      return used;
    },
  };
}
