// The shared inbox's short path for the common case: a draft-cavage signature by a key Fedify has already
// fetched and cached. Checking it takes one RSA verification with a key object kept in memory, and the
// activity is then queued for the workers exactly as Fedify queues it, without being read as JSON-LD
// first (the worker does that, as it would anyway). Anything else — RFC 9421 signatures, Linked Data
// signatures or proofs, a personal inbox, a key not yet known, any check that fails — takes Fedify's full
// path, which gives refusals their reasons: this path only ever says yes.
import { createHash, createPublicKey, type KeyObject, randomUUID, timingSafeEqual, verify } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { KvStore, MessageQueue } from '@fedify/fedify';
import { isDatabaseUnavailable } from '../server/availability.ts';

interface KnownKey {
  key: KeyObject;
  owner: string;
  until: number;
}

// Fedify keeps fetched keys under this prefix (its `kvPrefixes.publicKey` default).
const publicKeyPrefix = ['_fedify', 'publicKey'] as const;
// A key is read again from the store now and then, so one Fedify refreshed elsewhere is picked up.
const keyLifetimeMs = 10 * 60_000;
const maxKeys = 10_000;
const algorithms = new Set(['rsa-sha256', 'hs2019']);
const covered = ['(request-target)', 'host', 'date', 'digest'];

const single = (value: string | string[] | undefined) => (typeof value === 'string' ? value : undefined);
const href = (value: unknown) => (typeof value === 'string' && URL.canParse(value) ? new URL(value).href : undefined);

const security = 'https://w3id.org/security#';
const first = (value: unknown, field: '@id' | '@value') => (Array.isArray(value) ? (value[0] as Record<string, unknown> | undefined)?.[field] : undefined);

/**
 * A key as Fedify stores it: compacted when it was fetched on its own, expanded JSON-LD when it came
 * embedded in an actor document.
 */
function storedKey(value: unknown): { id: unknown; owner: unknown; pem: string } | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const key = value as Record<string, unknown>;
  const pem = 'publicKeyPem' in key ? key.publicKeyPem : first(key[`${security}publicKeyPem`], '@value');
  if (typeof pem !== 'string') return undefined;
  if ('@id' in key) return { id: key['@id'], owner: first(key[`${security}owner`], '@id'), pem };
  return key.type === 'CryptographicKey' ? { id: key.id, owner: key.owner, pem } : undefined;
}

export interface InboxShortcutOptions {
  kv: KvStore;
  queue: MessageQueue;
  origin: URL;
  /** How far a request's Date may be from now, as Fedify's `signatureTimeWindow`. */
  windowSeconds: number;
}

export class InboxShortcut {
  readonly #options: InboxShortcutOptions;
  readonly #keys = new Map<string, KnownKey>();

  constructor(options: InboxShortcutOptions) {
    this.#options = options;
  }

  /** True when the activity was verified and queued; false leaves it to Fedify. */
  async admit(path: string, headers: IncomingHttpHeaders, body: Buffer, activity: Record<string, unknown>): Promise<boolean> {
    if (path !== '/inbox' || headers['signature-input'] !== undefined) return false;
    if ('signature' in activity || 'proof' in activity || !('@context' in activity) || typeof activity.type !== 'string') return false;
    const actor = href(typeof activity.actor === 'object' && activity.actor !== null ? (activity.actor as { id?: unknown }).id : activity.actor);
    const signature = single(headers.signature);
    if (!actor || !signature) return false;

    const params = Object.fromEntries(signature.split(',').map((pair) => /^\s*([A-Za-z]+)="([^"]*)"\s*$/.exec(pair)).filter((m) => m !== null).map((m) => [m[1]!, m[2]!]));
    const names = params.headers?.toLowerCase().split(/\s+/);
    if (!params.keyId || !params.signature || !names || 'created' in params || 'expires' in params) return false;
    if (params.algorithm !== undefined && !algorithms.has(params.algorithm.toLowerCase())) return false;
    if (!covered.every((name) => names.includes(name))) return false;

    const date = Date.parse(single(headers.date) ?? '');
    if (!(Math.abs(Date.now() - date) <= this.#options.windowSeconds * 1000)) return false;
    const digest = /^\s*sha-256=([A-Za-z0-9+/]+=*)\s*$/i.exec(single(headers.digest) ?? '')?.[1];
    const expected = createHash('sha256').update(body).digest();
    const claimed = digest ? Buffer.from(digest, 'base64') : undefined;
    if (!claimed || claimed.length !== expected.length || !timingSafeEqual(claimed, expected)) return false;

    const known = await this.#key(params.keyId);
    if (!known || known.owner !== actor) return false;
    const lines: string[] = [];
    for (const name of names) {
      const value = name === '(request-target)' ? `post ${path}` : headers[name];
      if (value === undefined || (name.startsWith('(') && name !== '(request-target)')) return false;
      lines.push(`${name}: ${Array.isArray(value) ? value.join(', ') : value}`);
    }
    if (!verify('sha256', Buffer.from(lines.join('\n')), known.key, Buffer.from(params.signature, 'base64'))) {
      // Perhaps the key was rotated: Fedify's path fetches it again, and we read it afresh next time.
      this.#keys.delete(params.keyId);
      return false;
    }
    // The message Fedify's own inbox enqueues for a shared inbox (see its `routeActivity`).
    try {
      await this.#options.queue.enqueue({
        type: 'inbox',
        id: randomUUID(),
        baseUrl: this.#options.origin.origin,
        activity,
        identifier: null,
        attempt: 0,
        started: new Date().toISOString(),
        traceContext: {},
      });
    } catch (error) {
      // Text the database will not store as it stands (a NUL, a lone surrogate) goes the long way, and
      // meets whatever Fedify makes of it; the database being away is answered 503 by the caller.
      if (isDatabaseUnavailable(error)) throw error;
      return false;
    }
    return true;
  }

  async #key(keyId: string): Promise<KnownKey | undefined> {
    const known = this.#keys.get(keyId);
    if (known && known.until > Date.now()) return known;
    this.#keys.delete(keyId);
    const stored = storedKey(await this.#options.kv.get([...publicKeyPrefix, keyId]));
    if (!stored || stored.id !== keyId) return undefined;
    const owner = href(stored.owner);
    let key: KeyObject;
    try {
      key = createPublicKey(stored.pem);
    } catch {
      return undefined;
    }
    if (!owner || key.asymmetricKeyType !== 'rsa') return undefined;
    if (this.#keys.size >= maxKeys) this.#keys.delete(this.#keys.keys().next().value!);
    const entry = { key, owner, until: Date.now() + keyLifetimeMs };
    this.#keys.set(keyId, entry);
    return entry;
  }
}
