// The live bus: turns the database's NOTIFY messages (sent by triggers on threads, replies and follows, so by
// every writer on every process) into events for the subscribers of this process. Each event is loaded once,
// checked by the one visibility rule for each subscriber, and handed over in the order it was committed.
import type { FastifyBaseLogger } from 'fastify';
import { type Database, listen } from '../database.ts';
import { AppError } from '../errors.ts';
import { mayRead, type Reader } from '../feeds/visibility.ts';
import * as follows from '../follows/domain.ts';
import * as neighbourhoods from '../neighbourhoods/domain.ts';
import * as threads from '../threads/domain.ts';
import { presentReply, presentThread } from '../threads/routes.ts';

export const liveChannel = 'square_mile_live';

const postEventTypes = ['thread.created', 'thread.edited', 'thread.deleted', 'reply.created', 'reply.edited', 'reply.deleted'] as const;
export type LiveEventType = (typeof postEventTypes)[number];

/** What a subscriber receives. Deletions carry ids only. */
export interface LiveEvent {
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

type Notice =
  | { type: LiveEventType; neighbourhoodId: number; threadId: number; replyId?: number }
  | { type: 'follows.changed'; memberId: number };

function parseNotice(payload: string): Notice | null {
  try {
    const value = JSON.parse(payload) as Record<string, unknown>;
    const isId = (n: unknown) => Number.isInteger(n) && (n as number) > 0;
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

export class LiveBus {
  readonly #db: Database;
  readonly #log: FastifyBaseLogger;
  readonly #subscriptions = new Set<Subscription>();
  #queue: Promise<void> = Promise.resolve();
  #stop: (() => Promise<void>) | undefined;

  constructor(db: Database, log: FastifyBaseLogger) {
    this.#db = db;
    this.#log = log;
  }

  async start(): Promise<void> {
    this.#stop = await listen(this.#db, liveChannel, (payload) => this.#receive(payload), (error) => this.#log.warn({ err: error }, 'live bus listener'));
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
   * Resolves once the subscription is live, so nothing committed after that is missed.
   */
  async subscribe(scope: LiveScope, reader: Reader, listener: LiveListener): Promise<() => void> {
    const subscription: Subscription = { scope, reader, listener };
    if ('home' in scope) subscription.followed = new Set(await follows.followedIds(this.#db, scope.home));
    this.#subscriptions.add(subscription);
    return () => void this.#subscriptions.delete(subscription);
  }

  #receive(payload: string): void {
    const notice = parseNotice(payload);
    if (!notice) {
      this.#log.warn({ payload: payload.slice(0, 200) }, 'live bus: ignored a malformed notice');
      return;
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

  async #dispatch(notice: Exclude<Notice, { type: 'follows.changed' }>): Promise<void> {
    const interested = [...this.#subscriptions].filter((s) => this.#inScope(s, notice.neighbourhoodId));
    if (!interested.length) return;
    const event = await this.#load(notice);
    if (!event) return;
    for (const subscription of interested) {
      if (!(await mayRead(this.#db, event.row, subscription.reader)) || !this.#subscriptions.has(subscription)) continue;
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
