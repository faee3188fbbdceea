// The short path for deliveries that a queue job makes (a fan-out to a neighbourhood's followers, the
// Accept of a Follow): each is sent at once from the job, signed with a key object kept in memory, with
// the body and its digest made once per activity, over kept-alive connections. Only what it could not
// deliver is stored, as the job Fedify queued, for Fedify's own delivery with its retries, backoff and
// circuit breaker; what it tried and failed is due only after the retry policy's first delay (or the
// server's Retry-After), as Fedify's own retry would be, rather than tried again at once. It takes a
// delivery only when Fedify would send it the same way: a first attempt, to a server with no failures on
// record, signed in the spec that server accepts (learnt as Fedify learns it, and shared with it). So a
// delivery that succeeds the first time never touches the database, and anything unusual is still Fedify's.
import { createHash, createPrivateKey, type JsonWebKey, type KeyObject, sign } from 'node:crypto';
import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { KvStore, RetryPolicy } from '@fedify/fedify';
import { Temporal } from '@js-temporal/polyfill';
import type { FastifyBaseLogger } from 'fastify';
import { BoundedMap } from '../server/bounded-map.ts';
import type { SentFirst } from '../server/queue/domain.ts';
import { checkAddress, type FetchLimits } from './fetching.ts';

/** The part of Fedify's queued outbox message that this path reads. */
interface OutboxMessage {
  type: 'outbox';
  keys: { keyId: string; privateKey: JsonWebKey }[];
  activity: object;
  activityId?: string;
  inbox: string;
  attempt: number;
  headers?: Record<string, string>;
  orderingKey?: string;
  circuitHeld?: boolean;
}

type Spec = 'rfc9421' | 'draft-cavage-http-signatures-12';
const specs: Spec[] = ['rfc9421', 'draft-cavage-http-signatures-12'];

// Where Fedify keeps the spec each origin accepted and each host's circuit state (its `kvPrefixes`).
const specPrefix = ['_fedify', 'httpMessageSignaturesSpec'] as const;
const circuitPrefix = ['_fedify', 'circuit'] as const;
const maxKeys = 1000;
/** An inbox's answer to an accepted delivery is read this far at most. */
const answerBytesAtMost = 64 * 1024;
/** Deliveries of one job in flight at once: enough to hide round trips, few enough to stay fair to others. */
const inFlightAtMost = 16;
const rfc9421Components = '("@method" "@target-uri" "@authority" "host" "date" "content-digest")';

function isFirstAttempt(message: unknown): message is OutboxMessage {
  const m = message as Partial<OutboxMessage> | null;
  return m?.type === 'outbox' && m.attempt === 0 && !m.circuitHeld && m.orderingKey == null
    && typeof m.inbox === 'string' && Array.isArray(m.keys) && typeof m.activity === 'object' && m.activity !== null;
}

export interface DeliveryShortcutOptions {
  kv: KvStore;
  limits: Pick<FetchLimits, 'allowPrivateAddresses' | 'timeoutMs' | 'userAgent'>;
  log: FastifyBaseLogger;
  /** Fedify's outbox retry policy: a failed delivery is due again after its first delay. */
  retryPolicy: RetryPolicy;
}

/** Delivered; not taken by this path (Fedify's at once); or tried and failed, with the wait the server asked for. */
type Outcome = 'delivered' | 'untaken' | { retryAfterMs: number };
interface Answer {
  status: number;
  /** The inbox asked for another signature (Accept-Signature). */
  challenged: boolean;
  retryAfter?: string;
}

export class DeliveryShortcut {
  readonly #options: DeliveryShortcutOptions;
  readonly #keys = new BoundedMap<string, KeyObject>({ entriesAtMost: maxKeys });
  readonly #agents: Record<string, HttpAgent> = { 'http:': new HttpAgent({ keepAlive: true }), 'https:': new HttpsAgent({ keepAlive: true }) };

  constructor(options: DeliveryShortcutOptions) {
    this.#options = options;
  }

  /**
   * Delivers what it can of `messages` now; gives back, unchanged, those it did not take, to be queued as
   * they are, and those it tried and failed, to be queued for later.
   */
  deliver = async (messages: readonly unknown[]): Promise<SentFirst> => {
    const untaken: unknown[] = [];
    const failed = new Map<number, unknown[]>();
    // One draw of the policy's jitter for the whole batch, so its failures are stored together.
    const retryMs = this.#options.retryPolicy({ attempts: 0, elapsedTime: Temporal.Duration.from({ seconds: 0 }) })?.total('millisecond') ?? 0;
    const bodies = new WeakMap<object, { body: Buffer; sha256: string }>();
    let next = 0;
    const work = async () => {
      while (next < messages.length) {
        const message = messages[next++];
        const outcome = isFirstAttempt(message) ? await this.#send(message, bodies) : 'untaken';
        if (outcome === 'untaken') untaken.push(message);
        else if (outcome !== 'delivered') {
          const delayMs = Math.round(Math.max(retryMs, outcome.retryAfterMs));
          const together = failed.get(delayMs);
          if (together) together.push(message);
          else failed.set(delayMs, [message]);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(inFlightAtMost, messages.length) }, work));
    return { untaken, later: [...failed].map(([delayMs, later]) => ({ delayMs, messages: later })) };
  };

  close() {
    for (const agent of Object.values(this.#agents)) agent.destroy();
  }

  /**
   * Delivered once the inbox answered 2xx. Untaken: what this path does not send, and what Fedify should
   * follow up at once (a redirect, a signature challenge). Anything else is a failure to try again later.
   */
  async #send(message: OutboxMessage, bodies: WeakMap<object, { body: Buffer; sha256: string }>): Promise<Outcome> {
    const { kv, limits, log } = this.#options;
    const pair = message.keys.find((candidate) => candidate.privateKey?.kty === 'RSA');
    const inbox = URL.canParse(message.inbox) ? new URL(message.inbox) : undefined;
    const agent = inbox && this.#agents[inbox.protocol];
    if (!pair || !inbox || !agent) return 'untaken';
    const specKey = [...specPrefix, inbox.origin] as const;
    let remembered: Spec | undefined;
    try {
      const [spec, circuit] = await Promise.all([kv.get<Spec>(specKey), kv.get([...circuitPrefix, inbox.host])]);
      if (circuit !== undefined) return 'untaken';
      // A refused address is Fedify's to refuse and report.
      await checkAddress(inbox.href, limits.allowPrivateAddresses);
      remembered = spec;
    } catch {
      return 'untaken';
    }
    try {
      let made = bodies.get(message.activity);
      if (!made) {
        const body = Buffer.from(JSON.stringify(message.activity));
        made = { body, sha256: createHash('sha256').update(body).digest('base64') };
        bodies.set(message.activity, made);
      }
      // A server whose spec is not known yet is asked as Fedify asks it: RFC 9421 first, draft-cavage if
      // that is refused; the one it accepts is remembered where Fedify keeps it.
      const known = remembered === 'rfc9421' || remembered === 'draft-cavage-http-signatures-12';
      let answer: Answer | undefined;
      for (const spec of known ? [remembered!] : specs) {
        const headers = await this.#signedHeaders(spec, inbox, pair, made.sha256, message.headers ?? {});
        headers['content-length'] = String(made.body.length);
        answer = await this.#post(inbox, agent, headers, made.body);
        if (answer.status >= 200 && answer.status < 300) {
          // Delivered either way: a spec not remembered is only asked for again next time.
          if (!known) await kv.set(specKey, spec).catch(() => {});
          return 'delivered';
        }
        log.debug({ inbox: inbox.href, activity: message.activityId, status: answer.status, spec }, 'delivery not taken');
        if (known || answer.status < 400 || answer.challenged) break;
      }
      // Fedify follows a redirect and answers a signature challenge (Accept-Signature) at once.
      if (!answer || answer.status < 400 || answer.challenged) return 'untaken';
      return { retryAfterMs: answer.status === 429 || answer.status === 503 ? retryAfterMs(answer.retryAfter) : 0 };
    } catch (error) {
      log.debug({ inbox: inbox.href, activity: message.activityId, err: error }, 'delivery not taken');
      return { retryAfterMs: 0 };
    }
  }

  /** The request's headers, signed as Fedify signs them in `spec` (see its `signRequest`). */
  async #signedHeaders(spec: Spec, inbox: URL, pair: OutboxMessage['keys'][number], sha256: string, extra: Record<string, string>) {
    const key = this.#key(pair);
    const now = new Date();
    const date = now.toUTCString();
    // Fedify's extra headers (a Collection-Synchronization) in lower case, as the draft-cavage text names them.
    const lowered = Object.fromEntries(Object.entries(extra).map(([name, value]) => [name.toLowerCase(), value]));
    const headers: Record<string, string> = {
      ...lowered,
      host: inbox.host,
      date,
      'content-type': 'application/activity+json',
      'user-agent': this.#options.limits.userAgent,
    };
    if (spec === 'rfc9421') {
      headers['content-digest'] = `sha-256=:${sha256}:`;
      const parameters = `alg="rsa-v1_5-sha256";keyid="${pair.keyId}";created=${Math.floor(now.getTime() / 1000)}`;
      const base = [
        `"@method": POST`,
        `"@target-uri": ${inbox.href}`,
        `"@authority": ${inbox.host}`,
        `"host": ${inbox.host}`,
        `"date": ${date}`,
        `"content-digest": ${headers['content-digest']}`,
        `"@signature-params": ${rfc9421Components};${parameters}`,
      ].join('\n');
      headers['signature-input'] = `sig1=${rfc9421Components};${parameters}`;
      headers.signature = `sig1=:${await signed(base, key)}:`;
      return headers;
    }
    headers.digest = `SHA-256=${sha256}`;
    const signedNames = ['host', 'date', 'digest', 'content-type', ...Object.keys(lowered)];
    const base = [`(request-target): post ${inbox.pathname}${inbox.search}`, ...signedNames.map((name) => `${name}: ${headers[name]!.trim()}`)].join('\n');
    headers.signature = `keyId="${pair.keyId}",algorithm="rsa-sha256",headers="(request-target) ${signedNames.join(' ')}",signature="${await signed(base, key)}"`;
    return headers;
  }

  /** The private key as a key object, imported once per key rather than once per delivery as Fedify does. */
  #key(pair: OutboxMessage['keys'][number]): KeyObject {
    const cacheKey = `${pair.keyId} ${String(pair.privateKey.n)}`;
    let key = this.#keys.get(cacheKey);
    if (!key) {
      key = createPrivateKey({ key: pair.privateKey, format: 'jwk' });
      this.#keys.set(cacheKey, key);
    }
    return key;
  }

  /** POSTs the body without following redirects (Fedify does, checking each hop); resolves with the status. */
  #post(inbox: URL, agent: HttpAgent, headers: Record<string, string>, body: Buffer): Promise<Answer> {
    const send = inbox.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise((resolve, reject) => {
      const request = send(inbox, { method: 'POST', agent, headers, signal: AbortSignal.timeout(this.#options.limits.timeoutMs) }, (response) => {
        const status = response.statusCode ?? 0;
        response.on('error', () => {});
        // An accepted delivery's answer is read to the end, so the connection serves the next one, unless it
        // is long; an error's answer is not read at all (Fedify reads it when it tries again).
        if (status < 200 || status >= 300) response.destroy();
        else {
          let length = 0;
          response.on('data', (chunk: Buffer) => {
            length += chunk.length;
            if (length > answerBytesAtMost) response.destroy();
          });
        }
        resolve({ status, challenged: 'accept-signature' in response.headers, retryAfter: response.headers['retry-after'] });
      });
      request.on('error', reject);
      request.end(body);
    });
  }
}

/** A Retry-After header (seconds, or an HTTP date) as milliseconds from now, at most half a day; 0 if absent or unreadable. */
function retryAfterMs(value: string | undefined): number {
  if (!value) return 0;
  const at = /^\d+$/.test(value.trim()) ? Date.now() + Number(value.trim()) * 1000 : Date.parse(value);
  return Number.isNaN(at) ? 0 : Math.min(Math.max(0, at - Date.now()), 12 * 3600_000);
}

/** RSA-SHA256 in libuv's thread pool, off the event loop, as base64. */
const signed = (text: string, key: KeyObject) =>
  new Promise<string>((resolve, reject) => sign('sha256', Buffer.from(text), key, (error, signature) => (error ? reject(error) : resolve(signature.toString('base64')))));
