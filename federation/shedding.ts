// Load shedding at the inboxes: past a number of inbox requests in flight, or a backlog of queued jobs, new
// activities are refused with 503 and Retry-After (senders try again later) instead of being queued without
// bound. What is accepted is already in the durable queue, so nothing accepted is lost.
import type { DatabaseJobQueue } from '../server/queue/domain.ts';

export interface InboxLimits {
  maxInFlight: number;
  maxBacklog: number;
}

export interface Refusal {
  reason: string;
  retryAfterSeconds: number;
}

const backlogCheckMs = 1000;

export class InboxGate {
  readonly #limits: InboxLimits;
  readonly #queue: Pick<DatabaseJobQueue, 'getDepth'>;
  #inFlight = 0;
  #backlog = 0;
  #checkedAt = 0;
  #checking: Promise<void> | undefined;

  constructor(queue: Pick<DatabaseJobQueue, 'getDepth'>, limits: InboxLimits) {
    this.#queue = queue;
    this.#limits = limits;
  }

  /** Counts the request in and resolves to null, or to why it is refused (and then it is not counted). */
  async enter(): Promise<Refusal | null> {
    if (this.#inFlight >= this.#limits.maxInFlight) {
      return { reason: `More than ${this.#limits.maxInFlight} activities are being received at once.`, retryAfterSeconds: 5 };
    }
    this.#inFlight++;
    try {
      await this.#refreshBacklog();
    } catch {
      // The backlog cannot be counted (the database is away): the request goes on and meets that itself.
    }
    if (this.#backlog >= this.#limits.maxBacklog) {
      this.#inFlight--;
      return { reason: `More than ${this.#limits.maxBacklog} jobs are waiting in the queue.`, retryAfterSeconds: 30 };
    }
    return null;
  }

  leave(): void {
    this.#inFlight--;
  }

  /** The queue's depth, counted at most once a second however many requests ask. */
  #refreshBacklog(): Promise<void> {
    if (Date.now() - this.#checkedAt < backlogCheckMs) return Promise.resolve();
    this.#checking ??= (async () => {
      try {
        const depth = await this.#queue.getDepth();
        this.#backlog = depth.ready ?? depth.queued;
        this.#checkedAt = Date.now();
      } finally {
        this.#checking = undefined;
      }
    })();
    return this.#checking;
  }
}
