// Limits on what other servers may send, checked on the raw activity before Fedify handles it: how many
// posts and follows one server sends per hour, and how many of our neighbourhoods one post may address
// (mass-mention spam, as in immers-space/guppe#72). No SQL: the counts are kept in memory, per process.
import type { IncomingHttpHeaders } from 'node:http';
import { WindowLimiter } from '../server/rate-limit.ts';

export interface InboxRefusal {
  status: number;
  error: string;
  message: string;
  headers?: Record<string, string>;
}

export interface InboxLimitSettings {
  remotePostsPerHour: number;
  remoteFollowsPerHour: number;
  maxNeighbourhoodsPerActivity: number;
}

type Counted = 'post' | 'follow';

/** The body as a JSON object, or null when it is not one. */
export function parseActivity(body: Buffer): Record<string, unknown> | null {
  try {
    const value = JSON.parse(body.toString('utf8')) as unknown;
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

const list = (value: unknown): unknown[] => (Array.isArray(value) ? value : value === undefined || value === null ? [] : [value]);
/** The id a value names: itself when a string, else its `id` (or a link's `href`). */
export const idOf = (value: unknown) => (typeof value === 'string' ? value : typeof value === 'object' && value !== null ? (value as { id?: unknown; href?: unknown }).id ?? (value as { href?: unknown }).href : undefined);

/** The distinct neighbourhoods of ours (`origin`) an activity and its object address, mention or name as audience. */
export function neighbourhoodsAddressed(activity: Record<string, unknown>, origin: URL): number {
  const found = new Set<string>();
  const object = typeof activity.object === 'object' && activity.object !== null ? (activity.object as Record<string, unknown>) : {};
  for (const holder of [activity, object]) {
    for (const field of ['to', 'cc', 'bto', 'bcc', 'audience', 'tag']) {
      for (const entry of list(holder[field])) {
        const id = idOf(entry);
        if (typeof id !== 'string' || !URL.canParse(id)) continue;
        const url = new URL(id);
        const handle = /^\/neighbourhoods\/([^/]+)$/.exec(url.pathname)?.[1];
        if (url.origin === origin.origin && handle) found.add(decodeURIComponent(handle).toLowerCase());
      }
    }
  }
  return found.size;
}

/** The server that signed a request: its key's host. */
export function signerHost(headers: IncomingHttpHeaders): string | null {
  const keyId = /keyid="([^"]+)"/i.exec(`${headers.signature ?? ''} ${headers['signature-input'] ?? ''}`)?.[1];
  return keyId && URL.canParse(keyId) ? new URL(keyId).host.toLowerCase() : null;
}

const countedTypes: Record<string, Counted> = { Create: 'post', Follow: 'follow' };

export class InboxLimits {
  readonly #settings: InboxLimitSettings;
  readonly #origin: URL;
  readonly #limiters: Record<Counted, WindowLimiter>;

  constructor(settings: InboxLimitSettings, origin: URL) {
    this.#settings = settings;
    this.#origin = origin;
    this.#limiters = { post: new WindowLimiter(settings.remotePostsPerHour, 3_600_000), follow: new WindowLimiter(settings.remoteFollowsPerHour, 3_600_000) };
  }

  /** Why this activity (the body as parsed, null when not a JSON object) is refused before it is read further, or null. */
  check(headers: IncomingHttpHeaders, activity: Record<string, unknown> | null): InboxRefusal | null {
    if (!activity) return null;
    const counted = countedTypes[String(activity.type)];
    if (activity.type === 'Create') {
      const addressed = neighbourhoodsAddressed(activity, this.#origin);
      if (addressed > this.#settings.maxNeighbourhoodsPerActivity) {
        return {
          status: 422,
          error: 'too_many_neighbourhoods',
          message: `A post may address at most ${this.#settings.maxNeighbourhoodsPerActivity} neighbourhoods here; this one addresses ${addressed}.`,
        };
      }
    }
    const host = signerHost(headers);
    if (!counted || !host) return null;
    const wait = this.#limiters[counted].retryAfter(host);
    if (!wait) return null;
    return {
      status: 429,
      error: 'rate_limited',
      message: `Your server has sent as many ${counted === 'post' ? 'posts' : 'follows'} as it may this hour; try again later.`,
      headers: { 'retry-after': String(wait) },
    };
  }

  /** Counts an activity once it has been accepted (signature verified), so forged requests use up nobody's allowance. */
  count(headers: IncomingHttpHeaders, activity: Record<string, unknown> | null): void {
    const counted = countedTypes[String(activity?.type)];
    const host = signerHost(headers);
    if (counted && host) this.#limiters[counted].hit(host);
  }
}
