// The short path for deliveries that a queue job makes (a fan-out to a neighbourhood's followers, the
// Accept of a Follow): each is sent at once from the job, signed with a key object kept in memory, with
// the body and its digest made once per activity, over kept-alive connections. Only what it could not
// deliver is stored, as the job Fedify queued, for Fedify's own delivery with its retries, backoff and
// circuit breaker. It takes a delivery only when Fedify would send it the same way: a first attempt, to a
// server with no failures on record, signed in the spec that server accepts (learnt as Fedify learns it,
// and shared with it). So a delivery that succeeds the first time never touches the database, and
// anything unusual is still Fedify's.
import { createHash, createPrivateKey, type JsonWebKey, type KeyObject, sign } from 'node:crypto';
import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { KvStore } from '@fedify/fedify';
import type { FastifyBaseLogger } from 'fastify';
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
}

export class DeliveryShortcut {
  readonly #options: DeliveryShortcutOptions;
  readonly #keys = new Map<string, KeyObject>();
  readonly #agents: Record<string, HttpAgent> = { 'http:': new HttpAgent({ keepAlive: true }), 'https:': new HttpsAgent({ keepAlive: true }) };

  constructor(options: DeliveryShortcutOptions) {
    this.#options = options;
  }

  /** Delivers what it can of `messages` now; gives back the rest, unchanged, to be queued. */
  deliver = async (messages: readonly unknown[]): Promise<unknown[]> => {
    const left: unknown[] = [];
    const bodies = new WeakMap<object, { body: Buffer; sha256: string }>();
    let next = 0;
    const work = async () => {
      while (next < messages.length) {
        const message = messages[next++];
        if (!isFirstAttempt(message) || !(await this.#send(message, bodies))) left.push(message);
      }
    };
    await Promise.all(Array.from({ length: Math.min(inFlightAtMost, messages.length) }, work));
    return left;
  };

  close() {
    for (const agent of Object.values(this.#agents)) agent.destroy();
  }

  /** True once the inbox answered 2xx; false for anything this path does not take or that went wrong. */
  async #send(message: OutboxMessage, bodies: WeakMap<object, { body: Buffer; sha256: string }>): Promise<boolean> {
    const { kv, limits, log } = this.#options;
    const pair = message.keys.find((candidate) => candidate.privateKey?.kty === 'RSA');
    const inbox = URL.canParse(message.inbox) ? new URL(message.inbox) : undefined;
    const agent = inbox && this.#agents[inbox.protocol];
    if (!pair || !inbox || !agent) return false;
    try {
      const specKey = [...specPrefix, inbox.origin] as const;
      const [remembered, circuit] = await Promise.all([kv.get<Spec>(specKey), kv.get([...circuitPrefix, inbox.host])]);
      if (circuit !== undefined) return false;
      await checkAddress(inbox.href, limits.allowPrivateAddresses);
      let made = bodies.get(message.activity);
      if (!made) {
        const body = Buffer.from(JSON.stringify(message.activity));
        made = { body, sha256: createHash('sha256').update(body).digest('base64') };
        bodies.set(message.activity, made);
      }
      // A server whose spec is not known yet is asked as Fedify asks it: RFC 9421 first, draft-cavage if
      // that is refused; the one it accepts is remembered where Fedify keeps it.
      const known = remembered === 'rfc9421' || remembered === 'draft-cavage-http-signatures-12';
      for (const spec of known ? [remembered] : specs) {
        const headers = await this.#signedHeaders(spec, inbox, pair, made.sha256, message.headers ?? {});
        headers['content-length'] = String(made.body.length);
        const { status, challenged } = await this.#post(inbox, agent, headers, made.body);
        if (status >= 200 && status < 300) {
          // Delivered either way: a spec not remembered is only asked for again next time.
          if (!known) await kv.set(specKey, spec).catch(() => {});
          return true;
        }
        log.debug({ inbox: inbox.href, activity: message.activityId, status, spec }, 'delivery not taken');
        // Fedify answers a signature challenge (Accept-Signature); other failures are its to retry.
        if (known || status < 400 || challenged) break;
      }
    } catch (error) {
      log.debug({ inbox: inbox.href, activity: message.activityId, err: error }, 'delivery not taken');
    }
    return false;
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
      if (this.#keys.size >= maxKeys) this.#keys.delete(this.#keys.keys().next().value!);
      this.#keys.set(cacheKey, key);
    }
    return key;
  }

  /** POSTs the body without following redirects (Fedify does, checking each hop); resolves with the status. */
  #post(inbox: URL, agent: HttpAgent, headers: Record<string, string>, body: Buffer): Promise<{ status: number; challenged: boolean }> {
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
        resolve({ status, challenged: 'accept-signature' in response.headers });
      });
      request.on('error', reject);
      request.end(body);
    });
  }
}

/** RSA-SHA256 in libuv's thread pool, off the event loop, as base64. */
const signed = (text: string, key: KeyObject) =>
  new Promise<string>((resolve, reject) => sign('sha256', Buffer.from(text), key, (error, signature) => (error ? reject(error) : resolve(signature.toString('base64')))));
