// The shared inbox's short path for the common case: an RSA signature — draft-cavage, as most of the
// fediverse sends, or RFC 9421 in the shape Fedify (so every Square Mile instance) sends — by a key Fedify
// has already fetched and cached. Checking it takes one RSA verification with a key object kept in memory,
// and the activity is then queued for the workers exactly as Fedify queues it, without being read as
// JSON-LD first (the worker does that, as it would anyway). Anything else — other signature shapes, a
// personal inbox, a key not yet known, any check that fails — takes Fedify's full path, which gives
// refusals their reasons: this path only ever says yes.
import { createHash, createPublicKey, type KeyObject, randomUUID, timingSafeEqual, verify } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { KvStore, MessageQueue } from '@fedify/fedify';
import { isDatabaseUnavailable } from '../server/availability.ts';
import { BoundedMap } from '../server/bounded-map.ts';
import { checkSignatureCoverage } from './verification.ts';

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
const draftAlgorithms = new Set(['rsa-sha256', 'hs2019']);

/** What a signature says it signed: the key, the text signed (rebuilt from the request) and the signature. */
interface Signed {
  keyId: string;
  base: string;
  signature: Buffer;
}

function digestMatches(claimedBase64: string | undefined, body: Buffer): boolean {
  if (!claimedBase64) return false;
  const claimed = Buffer.from(claimedBase64, 'base64');
  const actual = createHash('sha256').update(body).digest();
  return claimed.length === actual.length && timingSafeEqual(claimed, actual);
}

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
  readonly #keys = new BoundedMap<string, KnownKey>({ entriesAtMost: maxKeys });

  constructor(options: InboxShortcutOptions) {
    this.#options = options;
  }

  /** True when the activity was verified and queued; false leaves it to Fedify. */
  async admit(path: string, headers: IncomingHttpHeaders, body: Buffer, activity: Record<string, unknown>): Promise<boolean> {
    // Coverage as every inbox demands it (the caller has refused the rest already; this path stands alone).
    if (path !== '/inbox' || checkSignatureCoverage(headers) !== null) return false;
    if (!('@context' in activity) || typeof activity.type !== 'string') return false;
    const actor = href(typeof activity.actor === 'object' && activity.actor !== null ? (activity.actor as { id?: unknown }).id : activity.actor);
    const signed = headers['signature-input'] === undefined ? this.#draftCavage(path, headers, body) : this.#rfc9421(path, headers, body);
    if (!actor || !signed) return false;
    const known = await this.#key(signed.keyId);
    if (!known || known.owner !== actor) return false;
    if (!verify('sha256', Buffer.from(signed.base), known.key, signed.signature)) {
      // Perhaps the key was rotated: Fedify's path fetches it again, and we read it afresh next time.
      this.#keys.delete(signed.keyId);
      return false;
    }
    // The message Fedify's own inbox enqueues for a shared inbox (see its `routeActivity`).
    try {
      await this.#options.queue.enqueue({
        type: 'inbox',
        id: randomUUID(),
        baseUrl: this.#options.origin.origin,
        activity,
        // A Linked Data signature beside the HTTP one is not checked here (the HTTP signature suffices, as
        // on Fedify's path when it fails): the worker then reads the activity without it.
        ...('signature' in activity && { ldSignatureVerified: false }),
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

  /** A draft-cavage signature with a recent Date and a matching SHA-256 digest. */
  #draftCavage(path: string, headers: IncomingHttpHeaders, body: Buffer): Signed | null {
    const header = single(headers.signature);
    if (!header) return null;
    const params = Object.fromEntries(header.split(',').map((pair) => /^\s*([A-Za-z]+)="([^"]*)"\s*$/.exec(pair)).filter((m) => m !== null).map((m) => [m[1]!, m[2]!]));
    const names = params.headers?.toLowerCase().split(/\s+/);
    if (!params.keyId || !params.signature || !names || 'created' in params || 'expires' in params) return null;
    if (params.algorithm !== undefined && !draftAlgorithms.has(params.algorithm.toLowerCase())) return null;
    if (!this.#recent(Date.parse(single(headers.date) ?? ''))) return null;
    if (!digestMatches(/^\s*sha-256=([A-Za-z0-9+/]+=*)\s*$/i.exec(single(headers.digest) ?? '')?.[1], body)) return null;
    const lines: string[] = [];
    for (const name of names) {
      const value = name === '(request-target)' ? `post ${path}` : headers[name];
      if (value === undefined || (name.startsWith('(') && name !== '(request-target)')) return null;
      lines.push(`${name}: ${Array.isArray(value) ? value.join(', ') : value}`);
    }
    return { keyId: params.keyId, base: lines.join('\n'), signature: Buffer.from(params.signature, 'base64') };
  }

  /**
   * An RFC 9421 signature in the shape Fedify (so every Square Mile instance) sends: one signature, RSA
   * with SHA-256, recently created, with a matching SHA-256 content digest.
   */
  #rfc9421(path: string, headers: IncomingHttpHeaders, body: Buffer): Signed | null {
    const input = /^([a-z][a-z0-9_.*-]*)=(\(((?:"[a-z@-]+" ?)+)\);alg="rsa-v1_5-sha256";keyid="([^"\\]+)";created=(\d+))$/.exec(single(headers['signature-input']) ?? '');
    if (!input) return null;
    const [, label, parameters, list, keyId, created] = input as unknown as [string, string, string, string, string, string];
    const signature = new RegExp(`^${label.replace(/[.*]/g, '\\$&')}=:([A-Za-z0-9+/]+=*):$`).exec(single(headers.signature) ?? '')?.[1];
    const components = list.trim().split(' ').map((c) => c.slice(1, -1));
    const target = new URL(path, this.#options.origin);
    const derived: Record<string, string | undefined> = {
      '@method': 'POST',
      '@target-uri': target.href,
      '@authority': target.host,
      '@path': target.pathname,
      '@request-target': `post ${target.pathname}`,
    };
    if (!signature) return null;
    if (!this.#recent(Number(created) * 1000)) return null;
    if (!digestMatches(/^sha-256=:([A-Za-z0-9+/]+=*):$/.exec(single(headers['content-digest']) ?? '')?.[1], body)) return null;
    const lines: string[] = [];
    for (const component of components) {
      const value = component.startsWith('@') ? derived[component] : single(headers[component]);
      if (value === undefined) return null;
      lines.push(`"${component}": ${value}`);
    }
    lines.push(`"@signature-params": ${parameters}`);
    return { keyId, base: lines.join('\n'), signature: Buffer.from(signature, 'base64') };
  }

  #recent(time: number): boolean {
    return Math.abs(Date.now() - time) <= this.#options.windowSeconds * 1000;
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
    const entry = { key, owner, until: Date.now() + keyLifetimeMs };
    this.#keys.set(keyId, entry);
    return entry;
  }
}
