// A fixed-window counter per key, kept in memory: enough to make guessing slow for one process.
export class WindowLimiter {
  readonly #limit: number;
  readonly #windowMs: number;
  readonly #hits = new Map<string, { count: number; resetAt: number }>();

  constructor(limit: number, windowMs: number) {
    this.#limit = limit;
    this.#windowMs = windowMs;
  }

  /** Seconds until `key` may try again, or 0 when it is under the limit. */
  retryAfter(key: string, now = Date.now()): number {
    const entry = this.#hits.get(key);
    if (!entry || entry.resetAt <= now || entry.count < this.#limit) return 0;
    return Math.ceil((entry.resetAt - now) / 1000);
  }

  hit(key: string, now = Date.now()): void {
    const entry = this.#hits.get(key);
    if (!entry || entry.resetAt <= now) {
      // Dropping expired windows here keeps the map bounded by recent keys.
      if (this.#hits.size > 10_000) for (const [k, e] of this.#hits) if (e.resetAt <= now) this.#hits.delete(k);
      this.#hits.set(key, { count: 1, resetAt: now + this.#windowMs });
    } else {
      entry.count += 1;
    }
  }

  reset(key: string): void {
    this.#hits.delete(key);
  }
}
