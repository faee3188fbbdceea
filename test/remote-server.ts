// A stand-in for another fediverse server on loopback: it serves actor documents with real keys, records
// what is posted to its inboxes, and signs requests as its actors, so tests can play a remote server
// (honest or hostile) against ours over real HTTP.
import { createHash, randomUUID, webcrypto } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportSpki, signRequest } from '@fedify/fedify';

type Test = import('tap').Test;

export interface RemoteActor {
  id: string;
  keyId: string;
  privateKey: webcrypto.CryptoKey;
  rotate(): Promise<void>;
}

export interface Delivery {
  path: string;
  headers: IncomingMessage['headers'];
  body: any;
  /** The body as sent, for checking its signature. */
  text: string;
}

export class RemoteServer {
  readonly server: Server;
  origin = '';
  readonly received: Delivery[] = [];
  /** Extra routes: path → handler, for documents a test wants to control (huge, slow, spoofed). */
  readonly routes = new Map<string, (req: IncomingMessage, res: ServerResponse) => void>();
  readonly #documents = new Map<string, unknown>();

  constructor() {
    this.server = createServer((req, res) => this.#handle(req, res));
  }

  static async start(t: Test, host = '127.0.0.1'): Promise<RemoteServer> {
    const remote = new RemoteServer();
    await new Promise<void>((resolve) => remote.server.listen(0, host, resolve));
    remote.origin = `http://${host}:${(remote.server.address() as AddressInfo).port}`;
    t.teardown(() => new Promise<void>((resolve) => remote.server.close(() => resolve())).then(() => remote.server.closeAllConnections()));
    return remote;
  }

  #handle(req: IncomingMessage, res: ServerResponse) {
    const path = (req.url ?? '/').split('?')[0]!;
    const custom = this.routes.get(path);
    if (custom) return custom(req, res);
    if (req.method === 'POST') {
      let body = '';
      req.on('data', (chunk) => (body += chunk));
      req.on('end', () => {
        this.record(req, body);
        res.writeHead(202).end();
      });
      return;
    }
    const document = this.#documents.get(path);
    if (!document) return res.writeHead(404).end();
    res.writeHead(200, { 'content-type': 'application/activity+json' }).end(JSON.stringify(document));
  }

  /** A Person at `/users/<name>` with an RSA key, an inbox and a shared inbox. */
  async actor(name: string, extra: Record<string, unknown> = {}): Promise<RemoteActor> {
    const id = `${this.origin}/users/${name}`;
    const keyId = `${id}#main-key`;
    const publish = async (publicKey: webcrypto.CryptoKey) => {
      this.#documents.set(`/users/${name}`, {
        '@context': ['https://www.w3.org/ns/activitystreams', 'https://w3id.org/security/v1'],
        id,
        type: 'Person',
        preferredUsername: name,
        name: name[0]!.toUpperCase() + name.slice(1),
        inbox: `${id}/inbox`,
        outbox: `${id}/outbox`,
        followers: `${id}/followers`,
        endpoints: { sharedInbox: `${this.origin}/inbox` },
        publicKey: { id: keyId, owner: id, publicKeyPem: await exportSpki(publicKey) },
        ...extra,
      });
    };
    const generate = () =>
      webcrypto.subtle.generateKey({ name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' }, true, ['sign', 'verify']);
    const pair = await generate();
    await publish(pair.publicKey);
    const actor: RemoteActor = {
      id,
      keyId,
      privateKey: pair.privateKey,
      async rotate() {
        const next = await generate();
        actor.privateKey = next.privateKey;
        await publish(next.publicKey);
      },
    };
    return actor;
  }

  serve(path: string, document: unknown) {
    this.#documents.set(path, document);
  }

  /** Records a POST as received. */
  record(req: IncomingMessage, text: string) {
    this.received.push({ path: (req.url ?? '/').split('?')[0]!, headers: req.headers, body: JSON.parse(text), text });
  }

  /** An inbox at `path` that answers each POST with the status (and headers) `answer` gives, after any wait, recording those it accepts. */
  inbox(path: string, answer: (req: IncomingMessage) => InboxAnswer | Promise<InboxAnswer>) {
    this.routes.set(path, (req, res) => {
      let text = '';
      req.on('data', (chunk) => (text += chunk));
      req.on('end', async () => {
        const answered = await answer(req);
        const { status, headers } = typeof answered === 'number' ? { status: answered, headers: {} } : answered;
        if (status >= 200 && status < 300) this.record(req, text);
        res.writeHead(status, headers).end();
      });
    });
  }

  activityId = () => `${this.origin}/activities/${randomUUID()}`;

  inboxPosts = (type?: string) => this.received.filter((d) => !type || d.body?.type === type);
}

/** A status, or a status with headers (a Retry-After, say). */
export type InboxAnswer = number | { status: number; headers: Record<string, string> };

export type SignOptions = {
  /** Which headers a draft-cavage signature covers; default (request-target) host date digest. */
  covered?: string[];
  algorithm?: string;
  date?: Date;
  /** Sent instead of the signed body, to tamper with it. */
  sendBody?: string;
  keyId?: string;
};

/** Posts `activity` to `url`, signed draft-cavage style by `actor` with our own signer (to bend the rules). */
export async function postSigned(url: string, activity: unknown, actor: RemoteActor, options: SignOptions = {}) {
  const { headers, body } = await signDraftCavage(url, activity, actor, options);
  const response = await fetch(url, { method: 'POST', headers, body: options.sendBody ?? body });
  return { status: response.status, body: await response.text() };
}

/** The headers and body of a POST of `activity` to `url`, signed draft-cavage style by `actor`. */
export async function signDraftCavage(url: string, activity: unknown, actor: RemoteActor, options: SignOptions = {}) {
  const body = JSON.stringify(activity);
  const target = new URL(url);
  const headers: Record<string, string> = {
    host: target.host,
    date: (options.date ?? new Date()).toUTCString(),
    digest: `SHA-256=${createHash('sha256').update(body).digest('base64')}`,
    'content-type': 'application/activity+json',
  };
  const covered = options.covered ?? ['(request-target)', 'host', 'date', 'digest'];
  const text = covered.map((name) => `${name}: ${name === '(request-target)' ? `post ${target.pathname}` : headers[name]}`).join('\n');
  const signature = Buffer.from(await webcrypto.subtle.sign('RSASSA-PKCS1-v1_5', actor.privateKey, new TextEncoder().encode(text))).toString('base64');
  headers.signature = `keyId="${options.keyId ?? actor.keyId}",algorithm="${options.algorithm ?? 'rsa-sha256'}",headers="${covered.join(' ')}",signature="${signature}"`;
  return { headers, body };
}

/**
 * Posts `activity` signed with RFC 9421 HTTP Message Signatures by Fedify's signer, optionally over only
 * some `components`, or sending another body than the one signed.
 */
export async function postSignedRfc9421(url: string, activity: unknown, actor: RemoteActor, options: { components?: string[]; sendBody?: string } = {}) {
  const signed = await signRfc9421(url, activity, actor, options.components);
  const response = await fetch(options.sendBody === undefined ? signed : new Request(signed, { body: options.sendBody }));
  return { status: response.status, body: await response.text() };
}

/** A POST of `activity` to `url` signed by Fedify's RFC 9421 signer, optionally over only some `components`. */
export function signRfc9421(url: string, activity: unknown, actor: RemoteActor, components?: string[]): Promise<Request> {
  const request = new Request(url, { method: 'POST', headers: { 'content-type': 'application/activity+json' }, body: JSON.stringify(activity) });
  return signRequest(request, actor.privateKey, new URL(actor.keyId), {
    spec: 'rfc9421',
    ...(components && { rfc9421: { components: components.map((value) => ({ value, params: {} })) } }),
  });
}

/** GETs `url` as AS2, signed by `actor` with Fedify's signer (authorized fetch). */
export async function getSigned(url: string, actor: RemoteActor) {
  const request = new Request(url, { headers: { accept: 'application/activity+json' } });
  const response = await fetch(await signRequest(request, actor.privateKey, new URL(actor.keyId)));
  return { status: response.status, body: await response.text() };
}

/** Polls `check` until it returns a truthy value, for at most `ms`. */
export async function eventually<T>(check: () => Promise<T> | T, ms = 10_000, what = 'condition'): Promise<Exclude<T, 0 | '' | false | null | undefined>> {
  const until = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value) return value as Exclude<T, 0 | '' | false | null | undefined>;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Waits until the durable queue holds no job: every activity received or sent so far has been handled. */
export async function queueDrained(db: import('../server/database.ts').Database, ms = 30_000): Promise<void> {
  await eventually(async () => !(await db.selectFrom('federation_jobs').select('id').limit(1).executeTakeFirst()), ms, 'the queue to drain');
}

/** Payloads captured from other fediverse software (see the fixtures table in docs/federation.md). */
const fixtures = new URL('../../shared/fixtures/fediverse/', import.meta.url);
const AS = ['https://www.w3.org/ns/activitystreams', 'https://w3id.org/security/v1'];
const standards = /^https?:\/\/(www\.w3\.org|w3id\.org|purl\.archive\.org|schema\.org)$/;

export async function readFixture(path: string): Promise<any> {
  const json = JSON.parse(await readFile(new URL(path, fixtures), 'utf8'));
  return '@context' in json ? json : { '@context': AS, ...json };
}

/**
 * A captured payload moved onto the stand-in server: each `moves` pair first (the longest URL first), then
 * every other host under `<origin>/<software>`, so ids from different captures never meet. URLs in `keep`
 * stay as they are. Contexts of their own (LitePub, Mobilizon...) are served by the stand-in, empty.
 */
export function moveFixture(json: unknown, remote: RemoteServer, software: string, moves: [string, string][], keep: string[] = []): any {
  const text = keep.reduce((body, url, i) => body.split(url).join(`kept:${i}`), JSON.stringify(json));
  const moved = [...moves];
  for (const origin of new Set(text.match(/https?:\/\/[a-z0-9.-]+(:\d+)?/gi) ?? [])) if (!standards.test(origin)) moved.push([origin, `${remote.origin}/${software}`]);
  let body = text;
  for (const [from, to] of moved.sort((x, y) => y[0].length - x[0].length)) body = body.split(from).join(to);
  keep.forEach((url, i) => (body = body.split(`kept:${i}`).join(url)));
  const activity = JSON.parse(body);
  for (const context of [activity['@context']].flat()) if (typeof context === 'string' && context.startsWith(remote.origin)) remote.serve(new URL(context).pathname, { '@context': {} });
  return activity;
}
