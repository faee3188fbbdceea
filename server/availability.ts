// Whether the database answers. While it does not, requests are refused at once with 503 and queue workers
// pause, instead of each waiting out a connection timeout; a probe notices when it is back.
import { type Database, isReachable } from './database.ts';

/** Error codes and messages (node-postgres and PostgreSQL) that mean the database is away, not that a query is wrong. */
const unavailableCodes = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN',
  '57P01', '57P02', '57P03', '08000', '08001', '08003', '08004', '08006',
]);
const unavailableMessages = /timeout exceeded when trying to connect|connection terminated|terminating connection|client has encountered a connection error|connection is closed|the database system is (starting up|shutting down)/i;

export function isDatabaseUnavailable(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && unavailableCodes.has(code)) return true;
  if (unavailableMessages.test(error.message)) return true;
  return error instanceof AggregateError && error.errors.some(isDatabaseUnavailable);
}

export class DatabaseHealth {
  readonly #db: Database;
  readonly #probeMs: number;
  readonly #onChange: (up: boolean) => void;
  #down = false;
  #probe: NodeJS.Timeout | undefined;

  constructor(db: Database, options: { probeMs?: number; onChange?: (up: boolean) => void } = {}) {
    this.#db = db;
    this.#probeMs = options.probeMs ?? 1000;
    this.#onChange = options.onChange ?? (() => {});
  }

  /** True while the last word from the database was a connection failure. */
  get down(): boolean {
    return this.#down;
  }

  /** Records `error` if it means the database is away; returns whether it did. */
  note(error: unknown): boolean {
    if (!isDatabaseUnavailable(error)) return false;
    if (!this.#down) {
      this.#down = true;
      this.#onChange(false);
      this.#schedule();
    }
    return true;
  }

  #schedule() {
    this.#probe = setTimeout(async () => {
      if (await isReachable(this.#db)) {
        this.#down = false;
        this.#probe = undefined;
        this.#onChange(true);
      } else if (this.#down) this.#schedule();
    }, this.#probeMs);
    this.#probe.unref();
  }

  close(): void {
    clearTimeout(this.#probe);
  }
}
