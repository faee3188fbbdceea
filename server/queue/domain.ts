// Fedify's storage, kept in our database: a key–value store (caches, idempotence, circuit state) and a
// durable job queue (fan-out and deliveries) that survives restarts and may be drained by many processes.
import { AsyncLocalStorage } from 'node:async_hooks';
import type { KvKey, KvStore, KvStoreListEntry, KvStoreSetOptions, MessageQueue, MessageQueueDepth, MessageQueueEnqueueOptions, MessageQueueListenOptions } from '@fedify/fedify';
import { BoundedMap } from '../bounded-map.ts';
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

/**
 * Fedify's keys whose value may be a little stale in one process without harm, kept in memory for a while
 * so that every request and job does not read them again: fetched keys and documents (refetched anyway when
 * they fail), the signature spec a server accepted (a hint, rewritten with the same value after every
 * delivery), and a server's reachability (a few more deliveries to a server another process just found down,
 * or a few held ones after it recovered, change nothing). Idempotence rows and the rest always come from
 * the database, where every process sees the same truth.
 */
const cachedKinds = ([
  { prefix: ['_fedify', 'publicKey'], lifetimeMs: 5 * 60_000 },
  { prefix: ['_fedify', 'remoteDocument'], lifetimeMs: 5 * 60_000 },
  { prefix: ['_fedify', 'context'], lifetimeMs: 5 * 60_000 },
  { prefix: ['_fedify', 'httpMessageSignaturesSpec'], lifetimeMs: 60_000, sameWriteSkipped: true },
  { prefix: ['_fedify', 'circuit'], lifetimeMs: 2_000 },
] satisfies { prefix: KvKey; lifetimeMs: number; sameWriteSkipped?: true }[]).map((kind) => ({ ...kind, encodedPrefix: encodePrefix(kind.prefix) }));
// Documents may be large (up to the fetch limit), so the bound is on their text as well as their number.
const cachedEntriesAtMost = 10_000;
const cachedCharactersAtMost = 16_000_000;
const kindOf = (encoded: string) => cachedKinds.find((kind) => encoded.startsWith(kind.encodedPrefix));

/** A value as JSON text (undefined: no row), so every reader gets its own copy. */
interface CachedValue {
  json: string | undefined;
  until: number;
  /** The row has no expiry, so writing the same value again without one changes nothing. */
  permanent: boolean;
}

export class DatabaseKvStore implements KvStore {
  readonly #db: Database;
  readonly #cache = new BoundedMap<string, CachedValue>({ weightAtMost: cachedCharactersAtMost, entriesAtMost: cachedEntriesAtMost });
  /** Reads of cached kinds under way; a write meanwhile marks them stale so they do not fill the cache. */
  readonly #reading = new Map<string, { result: Promise<string | undefined>; stale: boolean }>();
  constructor(db: Database) {
    this.#db = db;
  }
  async get<T = unknown>(key: KvKey): Promise<T | undefined> {
    const encoded = encodeKey(key);
    const kind = kindOf(encoded);
    if (!kind) return (await q.getValue(this.#db, encoded))?.value as T | undefined;
    const cached = this.#cache.get(encoded);
    if (cached && cached.until > performance.now()) return parse(cached.json);
    if (cached) this.#cache.delete(encoded);
    const reading = this.#reading.get(encoded) ?? this.#read(encoded, kind.lifetimeMs);
    return parse(await reading.result);
  }
  /** One database read per key at a time, however many ask for it meanwhile. */
  #read(encoded: string, lifetimeMs: number) {
    const started = performance.now();
    const reading = { stale: false, result: Promise.resolve<string | undefined>(undefined) };
    reading.result = q.getValue(this.#db, encoded).finally(() => {
      if (this.#reading.get(encoded) === reading) this.#reading.delete(encoded);
    }).then((row) => {
      const json = row && JSON.stringify(row.value);
      if (!reading.stale) this.#remember(encoded, json, lifetimeMs, row?.expires_in_ms ?? null, started);
      return json;
    });
    this.#reading.set(encoded, reading);
    return reading;
  }
  async set(key: KvKey, value: unknown, options?: KvStoreSetOptions): Promise<void> {
    const encoded = encodeKey(key);
    const kind = kindOf(encoded);
    const ttl = milliseconds(options);
    if (!kind) return q.setValue(this.#db, encoded, value, ttl);
    const json = JSON.stringify(value);
    const cached = this.#cache.get(encoded);
    if (kind.sameWriteSkipped && ttl === null && cached?.permanent && cached.json === json && cached.until > performance.now()) return;
    const started = performance.now();
    await this.#writing(encoded, () => q.setValue(this.#db, encoded, value, ttl));
    this.#remember(encoded, json, kind.lifetimeMs, ttl, started);
  }
  delete(key: KvKey): Promise<void> {
    const encoded = encodeKey(key);
    return this.#writing(encoded, () => q.deleteValue(this.#db, encoded));
  }
  cas = async (key: KvKey, expected: unknown, value: unknown, options?: KvStoreSetOptions): Promise<boolean> => {
    const encoded = encodeKey(key);
    const kind = kindOf(encoded);
    const ttl = milliseconds(options);
    const started = performance.now();
    const swapped = await this.#writing(encoded, () => q.compareAndSet(this.#db, encoded, expected, value, ttl));
    // A refused swap means this process had a stale view: the next read goes to the database.
    if (swapped && kind) this.#remember(encoded, value === undefined ? undefined : JSON.stringify(value), kind.lifetimeMs, ttl, started);
    return swapped;
  };
  async *list(prefix?: KvKey): AsyncIterable<KvStoreListEntry> {
    const rows = prefix ? await q.listValues(this.#db, encodeKey(prefix), encodePrefix(prefix)) : await q.listValues(this.#db, '', '[');
    for (const row of rows) yield { key: JSON.parse(row.key) as KvKey, value: row.value };
  }
  removeExpired = () => q.deleteExpiredValues(this.#db);

  /** Runs a write and forgets what this process knew of the key, whether the write went through or not. */
  async #writing<T>(encoded: string, write: () => Promise<T>): Promise<T> {
    try {
      return await write();
    } finally {
      this.#cache.delete(encoded);
      const reading = this.#reading.get(encoded);
      if (reading) {
        reading.stale = true;
        this.#reading.delete(encoded);
      }
    }
  }

  /** Keeps a value for its kind's lifetime, never past the row's own expiry, counted from before the query. */
  #remember(encoded: string, json: string | undefined, lifetimeMs: number, expiresInMs: number | null, since: number) {
    const permanent = json !== undefined && expiresInMs === null;
    const value = { json, until: since + Math.min(lifetimeMs, expiresInMs ?? Infinity), permanent };
    this.#cache.set(encoded, value, encoded.length + (json?.length ?? 0));
  }
}

const parse = <T>(json: string | undefined) => (json === undefined ? undefined : (JSON.parse(json) as T));

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
  /**
   * Offered the messages that a running job queues (a fan-out's deliveries), before they are stored; gives
   * back those still to be stored. Messages queued outside a job (by a web request) are only stored, so
   * no request waits on another server.
   */
  sendFirst?: (messages: readonly unknown[]) => Promise<SentFirst>;
}

/** What `sendFirst` gives back: messages it did not take, to store as they are, and failures to store for later. */
export interface SentFirst {
  untaken: unknown[];
  later: { delayMs: number; messages: unknown[] }[];
}

const shutdownGraceMs = 5000;
/** Set while a job's handler runs, so what it queues can be offered to `sendFirst`. */
const insideJob = new AsyncLocalStorage<true>();

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

/** Callers whose due-now jobs go in one INSERT at most (a busy shared inbox has dozens at once). */
const insertsTogetherAtMost = 64;
/**
 * An insert taking longer than this is taken for stalled (a connection gone silent, a lock): the callers
 * queued behind it go in by another, up to a few at once, so a hung insert holds up only its own callers.
 * Inserts are otherwise one at a time, which is what lets them gather many callers each.
 */
const insertStalledMs = 1000;
const insertsInFlightAtMost = 4;

interface WaitingInsert {
  messages: readonly unknown[];
  stored: () => void;
  failed: (error: unknown) => void;
}

export class DatabaseJobQueue implements MessageQueue {
  // Fedify re-enqueues failed deliveries itself, with its backoff policy.
  readonly nativeRetrial = false;
  readonly #db: Database;
  readonly #options: JobQueueOptions;
  readonly #wakers = new Set<() => void>();
  readonly #waiting: WaitingInsert[] = [];
  /** Shared inserts running, and how many of them are stalled. */
  #inserting = 0;
  #stalled = 0;

  constructor(db: Database, options: JobQueueOptions) {
    this.#db = db;
    this.#options = options;
  }

  async enqueue(message: unknown, options?: MessageQueueEnqueueOptions): Promise<void> {
    await this.enqueueMany([message], options);
  }

  enqueueMany = async (messages: readonly unknown[], options?: MessageQueueEnqueueOptions): Promise<void> => {
    const delay = milliseconds(options) ?? 0;
    const { sendFirst } = this.#options;
    const orderingKey = options?.orderingKey ?? null;
    if (sendFirst && delay === 0 && insideJob.getStore()) {
      const { untaken, later } = await sendFirst(messages);
      for (const failed of later) await q.insertJobs(this.#db, failed.messages, failed.delayMs, orderingKey);
      messages = untaken;
    }
    if (delay === 0 && orderingKey === null) await this.#insertDue(messages);
    else await q.insertJobs(this.#db, messages, delay, orderingKey);
    // A worker in this process need not wait for its next poll.
    if (delay === 0) for (const wake of this.#wakers) wake();
  };

  /**
   * Stores jobs due now, sharing one INSERT and one commit with other callers': while an insert is in
   * flight, the next callers' jobs wait for it and then go in together. Each caller returns once its own
   * rows are committed, so an inbox still answers only for what is stored.
   */
  #insertDue(messages: readonly unknown[]): Promise<void> {
    if (!messages.length) return Promise.resolve();
    return new Promise((stored, failed) => {
      this.#waiting.push({ messages, stored, failed });
      if (this.#inserting === this.#stalled && this.#inserting < insertsInFlightAtMost) void this.#insertWaiting();
    });
  }

  async #insertWaiting(): Promise<void> {
    this.#inserting++;
    while (this.#waiting.length) {
      const batch = this.#waiting.splice(0, insertsTogetherAtMost);
      let stalled = false;
      const stall = setTimeout(() => {
        stalled = true;
        this.#stalled++;
        if (this.#waiting.length && this.#inserting < insertsInFlightAtMost) void this.#insertWaiting();
      }, insertStalledMs);
      try {
        await q.insertJobs(this.#db, batch.flatMap((caller) => caller.messages), 0, null);
        for (const caller of batch) caller.stored();
      } catch (error) {
        // One caller's row the database refuses must not fail the others': each goes again alone.
        if (batch.length === 1) batch[0]!.failed(error);
        else {
          await Promise.all(batch.map((caller) => q.insertJobs(this.#db, caller.messages, 0, null).then(caller.stored, caller.failed)));
        }
      } finally {
        clearTimeout(stall);
        if (stalled) this.#stalled--;
      }
    }
    this.#inserting--;
  }

  async getDepth(): Promise<MessageQueueDepth> {
    const { queued, ready } = await q.jobCounts(this.#db);
    return { queued, ready, delayed: queued - ready };
  }

  /**
   * Runs up to `workers` jobs at once. One claim at a time takes as many due jobs as there are idle workers,
   * then waits for the next poll, a job queued by this process, or a worker coming free.
   */
  async listen(handler: (message: any) => Promise<void> | void, options?: MessageQueueListenOptions): Promise<void> {
    const signal = options?.signal;
    const running = new Set<Promise<void>>();
    let woken = false;
    let resume: (() => void) | undefined;
    const wake = () => {
      woken = true;
      resume?.();
    };
    this.#wakers.add(wake);
    signal?.addEventListener('abort', wake, { once: true });
    try {
      while (!signal?.aborted) {
        woken = false;
        const idle = this.#options.workers - running.size;
        let jobs: Awaited<ReturnType<typeof q.claimJobs>> = [];
        if (idle > 0 && !this.#options.health?.down) {
          try {
            jobs = await q.claimJobs(this.#db, this.#options.leaseMs, idle);
          } catch (error) {
            // The database is away (restarting, or closing under us): try again after a pause.
            this.#options.health?.note(error);
          }
        }
        for (const job of jobs) {
          const run = this.#run(handler, job, signal).finally(() => {
            running.delete(run);
            wake();
          });
          running.add(run);
        }
        if (!woken) {
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, this.#options.pollMs);
            resume = () => {
              clearTimeout(timer);
              resolve();
            };
          });
        }
        resume = undefined;
      }
    } finally {
      this.#wakers.delete(wake);
      signal?.removeEventListener('abort', wake);
    }
    await Promise.all(running);
  }

  async #run(handler: (message: any) => Promise<void> | void, job: { id: number; message: unknown }, signal: AbortSignal | undefined): Promise<void> {
    // A job that runs too long, or is still running when we stop, is let go: it stays in the table and,
    // once its lease runs out, another worker takes it.
    const renewal = setInterval(() => void q.extendLease(this.#db, job.id, this.#options.leaseMs).catch(() => {}), this.#options.leaseMs / 3);
    const outcome = await insideJob.run(true, () => settleWithin(handler, job.message, this.#options.longestJobMs, signal));
    clearInterval(renewal);
    if (outcome === 'abandoned') return;
    try {
      await q.deleteJob(this.#db, job.id);
    } catch {
      // Left in place, the job runs again once its lease ends; receivers drop repeated activity ids.
    }
  }
}
