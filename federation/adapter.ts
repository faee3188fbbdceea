// Hands the requests Fedify answers (discovery, actors and their collections as AS2, inboxes) to
// `federation.fetch()`, and lets everything else fall through to the Fastify routes: the same canonical
// URL serves AS2 to servers and HTML to browsers.
import { Readable } from 'node:stream';
import type { Federation } from '@fedify/fedify';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { isDatabaseUnavailable } from '../server/availability.ts';
import { idOf, type InboxLimits, parseActivity, signerHost } from './abuse.ts';
import type { InboxShortcut } from './inbox-shortcut.ts';
import { maxNesting, nestsDeeperThan } from './nesting.ts';
import type { InboxGate } from './shedding.ts';
import { checkSignatureCoverage } from './verification.ts';

const wantsActivityStreams = (accept: string | undefined) => !!accept && /application\/(activity\+json|ld\+json)/i.test(accept);
// Our inboxes: the shared one and one per actor (members, neighbourhoods, the instance).
const isInboxPost = (method: string, path: string) =>
  method === 'POST' && (path === '/inbox' || /^\/(members\/[^/]+|neighbourhoods\/[^/]+|actor)\/inbox$/.test(path));

/** Only these reach Fedify; the API, assets and pages never do. */
function concernsFederation(request: FastifyRequest, path: string): boolean {
  if (request.method === 'GET' || request.method === 'HEAD') {
    return path.startsWith('/.well-known/') || path.startsWith('/nodeinfo/') || wantsActivityStreams(request.headers.accept);
  }
  return isInboxPost(request.method, path);
}

class BodyTooLarge extends Error {}

/** The raw body, read before Fastify parses anything, and refused past `limit` bytes. */
async function readBody(request: FastifyRequest, limit: number): Promise<Buffer> {
  if (Number(request.headers['content-length'] ?? 0) > limit) throw new BodyTooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request.raw as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new BodyTooLarge();
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

function toWebRequest(request: FastifyRequest, origin: URL, body: Buffer | null): Request {
  const headers = new Headers();
  for (const [name, value] of Object.entries(request.headers)) {
    if (value === undefined) continue;
    for (const item of Array.isArray(value) ? value : [value]) headers.append(name, item);
  }
  // Behind a proxy the socket's address is not the public one; ids must use PUBLIC_URL.
  const url = new URL(request.url, origin);
  return new Request(url, {
    method: request.method,
    headers,
    ...(body && { body: Readable.toWeb(Readable.from([body])) as ReadableStream, duplex: 'half' }),
  } as RequestInit);
}

/** Fedify answers failures in plain text; our API's error shape is kept for every 4xx. */
const errorCodes: Record<number, string> = { 400: 'invalid_activity', 401: 'invalid_signature', 403: 'forbidden', 404: 'not_found', 406: 'not_acceptable' };

async function send(reply: FastifyReply, response: Response): Promise<FastifyReply> {
  const contentType = response.headers.get('content-type') ?? '';
  if (response.status >= 400 && !contentType.includes('json')) {
    const text = (await response.text()).trim();
    reply.request.log.info({ status: response.status, reason: text }, 'federation request refused');
    return reply
      .status(response.status)
      .type('application/json')
      .send({ error: errorCodes[response.status] ?? 'federation_error', message: text || 'The request was refused.' });
  }
  reply.status(response.status);
  for (const [name, value] of response.headers) reply.header(name, value);
  return reply.send(Buffer.from(await response.arrayBuffer()));
}

/** The hosts an incoming activity claims to come from: its signing key's and its actor's. */
function claimedHosts(headers: FastifyRequest['headers'], activity: Record<string, unknown> | null): string[] {
  const hosts: string[] = [];
  const signer = signerHost(headers);
  if (signer) hosts.push(signer);
  // Not JSON (no activity): Fedify refuses it with its own message.
  const actor = idOf(activity?.actor);
  if (typeof actor === 'string' && URL.canParse(actor)) hosts.push(new URL(actor).host.toLowerCase());
  // Usually one host twice: each is one database lookup per activity.
  return [...new Set(hosts)];
}

export interface FederationHookOptions<T> {
  origin: URL;
  bodyLimit: number;
  contextData: () => T;
  /** Whether activities from this host are refused outright (a blocked server). */
  refusesHost: (host: string) => Promise<boolean>;
  /** Admits inbox requests while there is room, so a flood is answered 503 instead of queued without bound. */
  gate: InboxGate;
  /** Per-server limits on posts and follows, and the cap on neighbourhoods one post may address. */
  limits?: InboxLimits;
  /** Queues what it can verify cheaply at the shared inbox; the rest goes to Fedify. */
  shortcut?: InboxShortcut;
}

export function federationHook<T>(federation: Federation<T>, options: FederationHookOptions<T>) {
  const handOver = async (request: FastifyRequest, reply: FastifyReply, path: string) => {
    let body: Buffer | null = null;
    // The body as JSON, parsed once for every check below (null when it is not a JSON object).
    let activity: Record<string, unknown> | null = null;
    if (request.method === 'POST') {
      try {
        body = await readBody(request, options.bodyLimit);
      } catch (error) {
        if (!(error instanceof BodyTooLarge)) throw error;
        request.log.info({ path }, 'activity refused: body too large');
        return reply.status(413).send({ error: 'body_too_large', message: `An activity may be at most ${options.bodyLimit} bytes.` });
      }
      if (nestsDeeperThan(body)) {
        request.log.info({ path }, 'activity refused: nested too deeply');
        return reply.status(400).send({ error: 'invalid_activity', message: `An activity may nest at most ${maxNesting} levels deep.` });
      }
      activity = parseActivity(body);
      const problem = checkSignatureCoverage(request.headers);
      if (problem) {
        request.log.info({ path, reason: problem }, 'activity refused: signature covers too little');
        return reply.status(401).send({ error: 'invalid_signature', message: problem });
      }
      for (const host of claimedHosts(request.headers, activity)) {
        if (await options.refusesHost(host)) {
          request.log.info({ path, host }, 'activity refused: the server is blocked');
          return reply.status(403).send({ error: 'domain_blocked', message: 'This server does not accept activities from yours.' });
        }
      }
      const limited = options.limits?.check(request.headers, activity);
      if (limited) {
        request.log.warn({ path, host: claimedHosts(request.headers, activity)[0], reason: limited.message }, 'activity refused: over a limit');
        return reply.status(limited.status).headers(limited.headers ?? {}).send({ error: limited.error, message: limited.message });
      }
    }
    if (body && activity && (await options.shortcut?.admit(path, request.headers, body, activity))) {
      options.limits?.count(request.headers, activity);
      return reply.status(202).type('text/plain; charset=utf-8').send('Activity is enqueued.');
    }
    let fellThrough = false;
    const passOn = () => {
      fellThrough = true;
      return new Response(null, { status: 404 });
    };
    let response: Response;
    try {
      response = await federation.fetch(toWebRequest(request, options.origin, body), {
        contextData: options.contextData(),
        onNotFound: passOn,
        onNotAcceptable: passOn,
      });
    } catch (error) {
      // Fedify's vocabulary throws on values of the wrong type (a number where a date belongs); that is
      // the sender's mistake. The database being away is ours, and is answered 503 by the error handler.
      if (body === null || isDatabaseUnavailable(error)) throw error;
      request.log.warn({ path, err: error }, 'activity refused: it could not be read');
      return reply.status(400).send({ error: 'invalid_activity', message: 'The activity could not be read as ActivityStreams.' });
    }
    // A POST body is already read, so Fedify's answer stands; a GET goes on to the Fastify routes.
    if (fellThrough && request.method !== 'POST') return;
    if (body && response.ok) options.limits?.count(request.headers, activity);
    return send(reply, response);
  };

  return async function handOverToFederation(request: FastifyRequest, reply: FastifyReply) {
    const path = request.url.split('?')[0]!;
    if (!concernsFederation(request, path)) return;
    if (request.method !== 'POST') return handOver(request, reply, path);
    const refusal = await options.gate.enter();
    if (refusal) {
      request.log.info({ path, reason: refusal.reason }, 'activity refused: too busy');
      return reply.status(503).header('retry-after', String(refusal.retryAfterSeconds)).send({ error: 'too_busy', message: refusal.reason });
    }
    try {
      return await handOver(request, reply, path);
    } finally {
      options.gate.leave();
    }
  };
}
