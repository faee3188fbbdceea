// Fedify's storage, kept in our database: a key–value store (caches, idempotence, circuit state) and a
// durable job queue (fan-out and deliveries) that survives restarts and may be drained by many processes.
import type { KvKey, KvStore, KvStoreListEntry, KvStoreSetOptions, MessageQueue, MessageQueueDepth, MessageQueueEnqueueOptions, MessageQueueListenOptions } from '@fedify/fedify';
import type { Database } from '../database.ts';
import * as q from './queries.ts';

// Keys are JSON arrays of strings; a prefix is the same text without its closing bracket.
const encodeKey = (key: KvKey) => JSON.stringify(key);
const encodePrefix = (key: KvKey) => `${JSON.stringify(key).slice(0, -1)},`;
/** Fedify's Temporal durations, as whole milliseconds. */
const milliseconds = (options?: KvStoreSetOptions | MessageQueueEnqueueOptions) => {
  const duration = options && ('ttl' in options ? options.ttl : 'delay' in options ? options.delay : undefined);
  return duration ? Math.max(0, Math.round(duration.total('millisecond'))) : null;
};

export class DatabaseKvStore implements KvStore {
  readonly #db: Database;
  constructor(db: Database) {
    this.#db = db;
  }
  async get<T = unknown>(key: KvKey): Promise<T | undefined> {
    return (await q.getValue(this.#db, encodeKey(key)))?.value as T | undefined;
  }
  set(key: KvKey, value: unknown, options?: KvStoreSetOptions): Promise<void> {
    return q.setValue(this.#db, encodeKey(key), value, milliseconds(options));
  }
  delete(key: KvKey): Promise<void> {
    return q.deleteValue(this.#db, encodeKey(key));
  }
  cas = (key: KvKey, expected: unknown, value: unknown, options?: KvStoreSetOptions): Promise<boolean> =>
    q.compareAndSet(this.#db, encodeKey(key), expected, value, milliseconds(options));
  async *list(prefix?: KvKey): AsyncIterable<KvStoreListEntry> {
    const rows = prefix ? await q.listValues(this.#db, encodeKey(prefix), encodePrefix(prefix)) : await q.listValues(this.#db, '', '[');
    for (const row of rows) yield { key: JSON.parse(row.key) as KvKey, value: row.value };
  }
  removeExpired = () => q.deleteExpiredValues(this.#db);
}

export interface JobQueueOptions {
  /**
   * How long a claimed job stays claimed without word from its worker; the worker renews it while it runs,
   * so a job whose process died comes back after this long.
   */
  leaseMs: number;
  /** Longest a worker waits on one job (a delivery to a server that never answers) before letting it go. */
  longestJobMs: number;
  /** How often an idle worker looks for due jobs. */
  pollMs: number;
  /** Jobs one process runs at once, so one slow server does not hold up deliveries to the others. */
  workers: number;
  /** Told of connection failures; while it says the database is down, workers wait instead of claiming. */
  health?: { readonly down: boolean; note(error: unknown): boolean };
}

const shutdownGraceMs = 5000;

/** Runs the handler; 'done' when it settles (Fedify schedules its own retries on failure), 'abandoned' otherwise. */
function settleWithin(handler: (message: any) => Promise<void> | void, message: unknown, ms: number, signal: AbortSignal | undefined) {
  return new Promise<'done' | 'abandoned'>((resolve) => {
    const abandon = () => resolve('abandoned');
    let timer = setTimeout(abandon, ms);
    // Stopping gives a job in hand a few seconds to finish, so a clean shutdown rarely repeats a delivery.
    const onAbort = () => {
      clearTimeout(timer);
      timer = setTimeout(abandon, Math.min(ms, shutdownGraceMs));
    };
    if (signal?.aborted) onAbort();
    else signal?.addEventListener('abort', onAbort, { once: true });
    Promise.resolve()
      .then(() => handler(message))
      .catch(() => {})
      .then(() => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        resolve('done');
      });
  });
}

export class DatabaseJobQueue implements MessageQueue {
  // Fedify re-enqueues failed deliveries itself, with its backoff policy.
  readonly nativeRetrial = false;
  readonly #db: Database;
  readonly #options: JobQueueOptions;
  readonly #wakers = new Set<() => void>();

  constructor(db: Database, options: JobQueueOptions) {
    this.#db = db;
    this.#options = options;
  }

  async enqueue(message: unknown, options?: MessageQueueEnqueueOptions): Promise<void> {
    await this.enqueueMany([message], options);
  }

  enqueueMany = async (messages: readonly unknown[], options?: MessageQueueEnqueueOptions): Promise<void> => {
    const delay = milliseconds(options) ?? 0;
    await q.insertJobs(this.#db, messages, delay, options?.orderingKey ?? null);
    // A worker in this process need not wait for its next poll.
    if (delay === 0) for (const wake of this.#wakers) wake();
  };

  async getDepth(): Promise<MessageQueueDepth> {
    const { queued, ready } = await q.jobCounts(this.#db);
    return { queued, ready, delayed: queued - ready };
  }

  async listen(handler: (message: any) => Promise<void> | void, options?: MessageQueueListenOptions): Promise<void> {
    await Promise.all(Array.from({ length: this.#options.workers }, () => this.#work(handler, options?.signal)));
  }

  async #work(handler: (message: any) => Promise<void> | void, signal: AbortSignal | undefined): Promise<void> {
    while (!signal?.aborted) {
      let job: Awaited<ReturnType<typeof q.claimJob>>;
      try {
        job = this.#options.health?.down ? undefined : await q.claimJob(this.#db, this.#options.leaseMs);
      } catch (error) {
        // The database is away (restarting, or closing under us): try again after a pause.
        this.#options.health?.note(error);
        job = undefined;
      }
      if (!job) {
        await this.#idle(signal);
        continue;
      }
      // A job that runs too long, or is still running when we stop, is let go: it stays in the table and,
      // once its lease runs out, another worker takes it.
      const claimed = job;
      const renewal = setInterval(() => void q.extendLease(this.#db, claimed.id, this.#options.leaseMs).catch(() => {}), this.#options.leaseMs / 3);
      const outcome = await settleWithin(handler, job.message, this.#options.longestJobMs, signal);
      clearInterval(renewal);
      if (outcome === 'abandoned') continue;
      try {
        await q.deleteJob(this.#db, job.id);
      } catch {
        // Left in place, the job runs again once its lease ends; receivers drop repeated activity ids.
      }
    }
  }

  #idle(signal: AbortSignal | undefined): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#wakers.delete(done);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, this.#options.pollMs);
      this.#wakers.add(done);
      signal?.addEventListener('abort', done, { once: true });
    });
  }
}
