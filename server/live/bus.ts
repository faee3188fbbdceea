// The live bus: turns the database's NOTIFY messages (sent by triggers on threads, replies and follows, so by
// every writer on every process) into events for the subscribers of this process. Each event is loaded once,
// checked by the one visibility rule for each subscriber, and handed over in the order it was committed.
// The triggers also number each event in `live_events`; after the listening connection is lost and found
// again, the bus reads the events it missed from there, so open streams lose nothing to the gap.
import type { FastifyBaseLogger } from 'fastify';
import { type Database, listen } from '../database.ts';
import { AppError } from '../errors.ts';
import { mayRead, type Reader } from '../feeds/visibility.ts';
import * as follows from '../follows/domain.ts';
import * as neighbourhoods from '../neighbourhoods/domain.ts';
import * as threads from '../threads/domain.ts';
import { presentReply, presentThread } from '../threads/routes.ts';
import * as q from './queries.ts';

export const liveChannel = 'square_mile_live';

const postEventTypes = ['thread.created', 'thread.edited', 'thread.deleted', 'reply.created', 'reply.edited', 'reply.deleted'] as const;
export type LiveEventType = (typeof postEventTypes)[number];

/** What a subscriber receives. Deletions carry ids only. */
export interface LiveEvent {
  /** The event's number: a stream that reconnects passes the last one it saw to get what it missed. */
  id?: number;
  event: LiveEventType;
  neighbourhood: { id: number; handle: string; name: string };
  threadId: number;
  replyId?: number;
  thread?: ReturnType<typeof presentThread>;
  reply?: ReturnType<typeof presentReply>;
}

/** Which posts a subscription wants: a member's home (what they follow), one neighbourhood, or the whole instance. */
export type LiveScope = { home: number } | { neighbourhoodId: number } | { instance: true };

export type LiveListener = (event: LiveEvent) => void;

interface Subscription {
  scope: LiveScope;
  reader: Reader;
  listener: LiveListener;
  /** For home scopes: the neighbourhoods followed, kept current by `follows.changed` messages. */
  followed?: Set<number>;
}

/** `id` numbers the event in `live_events` (absent only from notices sent before that table existed). */
type Notice = { id?: number } & (
  | { type: LiveEventType; neighbourhoodId: number; threadId: number; replyId?: number }
  | { type: 'follows.changed'; memberId: number }
);

function parseNotice(payload: string): Notice | null {
  try {
    const value = JSON.parse(payload) as Record<string, unknown>;
    const isId = (n: unknown) => Number.isInteger(n) && (n as number) > 0;
    if (value.id !== undefined && !isId(value.id)) return null;
    if (value.type === 'follows.changed' && isId(value.memberId)) return value as Notice;
    if ((postEventTypes as readonly unknown[]).includes(value.type) && isId(value.neighbourhoodId) && isId(value.threadId)) {
      if (String(value.type).startsWith('reply.') && !isId(value.replyId)) return null;
      return value as Notice;
    }
  } catch {
    // falls through: not ours
  }
  return null;
}

const isMissing = (error: unknown) => error instanceof AppError && error.status === 404;

/**
 * Catching up re-reads this many event numbers before the highest one handled, because numbers are taken
 * when a transaction writes and seen when it commits: a slower transaction can commit a lower number later.
 * Numbers already handled are skipped (the bus remembers the last `rememberedIds`).
 */
const catchUpOverlap = 1000;
const rememberedIds = 5000;
const catchUpLimit = 10_000;
/** How many event numbers back a stream that reconnects can resume from. */
const resumeWindow = 500;

export class LiveBus {
  readonly #db: Database;
  readonly #log: FastifyBaseLogger;
  readonly #subscriptions = new Set<Subscription>();
  #queue: Promise<void> = Promise.resolve();
  #stop: (() => Promise<void>) | undefined;
  /** The highest event number handled (unknown until the database first answers), the number the bus
   *  started from (nothing at or below it is caught up), and the numbers handled lately, oldest first. */
  #lastId: number | undefined;
  #startId = 0;
  readonly #handled = new Set<number>();
  /** Notices that arrive while catching up wait here, so they are handed over after what was missed. */
  #held: string[] | null = null;

  constructor(db: Database, log: FastifyBaseLogger) {
    this.#db = db;
    this.#log = log;
  }

  async start(): Promise<void> {
    this.#stop = await listen(
      this.#db,
      liveChannel,
      (payload) => (this.#held ? this.#held.push(payload) : this.#receive(payload)),
      (error) => this.#log.warn({ err: error }, 'live bus listener'),
      () => void this.#catchUp(),
    );
    await this.#startFromLatest().catch(() => {});
  }

  /** Taken once listening, so every later event is either announced to us or numbered above this. */
  async #startFromLatest(): Promise<void> {
    const latest = await q.latestEventId(this.#db);
    this.#startId = latest;
    this.#lastId = Math.max(this.#lastId ?? 0, latest);
  }

  async close(): Promise<void> {
    this.#subscriptions.clear();
    await this.#stop?.().catch((error: unknown) => this.#log.warn({ err: error }, 'live bus: could not stop listening'));
    await this.#queue;
  }

  get subscriberCount(): number {
    return this.#subscriptions.size;
  }

  /**
   * Calls `listener` with every event in `scope` that `reader` may see, until the returned function is called.
   * Resolves once the subscription is live, so nothing committed after that is missed. With `after` (the
   * last event number a client saw before it lost its connection), the events since are handed over first,
   * as far back as the last `resumeWindow` numbers.
   */
  async subscribe(scope: LiveScope, reader: Reader, listener: LiveListener, after?: number): Promise<() => void> {
    const subscription: Subscription = { scope, reader, listener };
    if ('home' in scope) subscription.followed = new Set(await follows.followedIds(this.#db, scope.home));
    const unsubscribe = () => void this.#subscriptions.delete(subscription);
    if (after === undefined || this.#lastId === undefined) {
      this.#subscriptions.add(subscription);
      return unsubscribe;
    }
    // In the queue, so events arriving meanwhile come after the missed ones, and none comes twice: what is
    // numbered above the last event handled so far will arrive as a notice.
    const resumed = this.#queue.then(async () => {
      const upTo = this.#lastId ?? 0;
      for (const payload of await q.eventsAfter(this.#db, Math.max(after, upTo - resumeWindow), resumeWindow)) {
        const notice = parseNotice(payload);
        if (!notice || notice.id! > upTo) break;
        if (notice.type !== 'follows.changed') await this.#dispatch(notice, [subscription]);
      }
      this.#subscriptions.add(subscription);
    });
    this.#queue = resumed.catch(() => {});
    await resumed;
    return unsubscribe;
  }

  /** Reads the events committed while the listener was away, then those that arrived meanwhile. */
  async #catchUp(): Promise<void> {
    this.#held = [];
    try {
      // Listening for the first time after starting with the database down: there is nothing to catch up.
      if (this.#lastId === undefined) return await this.#startFromLatest();
      const missed = await q.eventsAfter(this.#db, Math.max(this.#startId, this.#lastId - catchUpOverlap), catchUpLimit);
      if (missed.length === catchUpLimit) this.#log.warn({ after: this.#lastId }, 'live bus: more events were missed than are caught up');
      for (const payload of missed) this.#receive(payload);
    } catch (error) {
      this.#log.error({ err: error }, 'live bus: could not catch up after reconnecting');
    } finally {
      const held = this.#held;
      this.#held = null;
      for (const payload of held) this.#receive(payload);
    }
  }

  #receive(payload: string): void {
    const notice = parseNotice(payload);
    if (!notice) {
      this.#log.warn({ payload: payload.slice(0, 200) }, 'live bus: ignored a malformed notice');
      return;
    }
    if (notice.id !== undefined) {
      if (this.#handled.has(notice.id)) return;
      this.#handled.add(notice.id);
      if (this.#handled.size > rememberedIds) this.#handled.delete(this.#handled.values().next().value!);
      this.#lastId = Math.max(this.#lastId ?? 0, notice.id);
    }
    // One at a time, so subscribers see events in commit order even though loading them is asynchronous.
    this.#queue = this.#queue
      .then(() => (notice.type === 'follows.changed' ? this.#refreshFollows(notice.memberId) : this.#dispatch(notice)))
      .catch((error: unknown) => this.#log.error({ err: error, notice }, 'live bus: could not deliver an event'));
  }

  async #refreshFollows(memberId: number): Promise<void> {
    const homes = [...this.#subscriptions].filter((s) => 'home' in s.scope && s.scope.home === memberId);
    if (!homes.length) return;
    const followed = new Set(await follows.followedIds(this.#db, memberId));
    for (const home of homes) home.followed = followed;
  }

  /** Hands an event to the subscriptions interested in it: all of this process's, or `only` these. */
  async #dispatch(notice: Exclude<Notice, { type: 'follows.changed' }>, only?: Subscription[]): Promise<void> {
    const interested = (only ?? [...this.#subscriptions]).filter((s) => this.#inScope(s, notice.neighbourhoodId));
    if (!interested.length) return;
    const event = await this.#load(notice);
    if (!event) return;
    for (const subscription of interested) {
      if (!(await mayRead(this.#db, event.row, subscription.reader)) || (!only && !this.#subscriptions.has(subscription))) continue;
      try {
        subscription.listener(event.event);
      } catch (error) {
        this.#log.warn({ err: error }, 'live bus: a subscriber failed');
      }
    }
  }

  #inScope(subscription: Subscription, neighbourhoodId: number): boolean {
    const { scope } = subscription;
    if ('instance' in scope) return true;
    if ('neighbourhoodId' in scope) return scope.neighbourhoodId === neighbourhoodId;
    return subscription.followed!.has(neighbourhoodId);
  }

  async #load(notice: Exclude<Notice, { type: 'follows.changed' }>) {
    try {
      const row = await neighbourhoods.neighbourhoodById(this.#db, notice.neighbourhoodId);
      const event: LiveEvent = {
        ...(notice.id !== undefined && { id: notice.id }),
        event: notice.type,
        neighbourhood: { id: row.id, handle: row.handle, name: row.name },
        threadId: notice.threadId,
        ...(notice.replyId !== undefined && { replyId: notice.replyId }),
      };
      if (notice.type === 'thread.created' || notice.type === 'thread.edited') {
        event.thread = presentThread(await threads.threadById(this.#db, notice.threadId));
      } else if (notice.type === 'reply.created' || notice.type === 'reply.edited') {
        event.reply = presentReply(await threads.replyById(this.#db, notice.replyId!));
      }
      return { row, event };
    } catch (error) {
      // Gone again before we read it (deleted, or its neighbourhood removed): there is nothing to show.
      if (isMissing(error)) return null;
      throw error;
    }
  }
}
