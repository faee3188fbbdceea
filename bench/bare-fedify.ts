// A minimal server on bare Fedify, doing the same federation work as ours without our layers: a Group
// actor `bench` whose shared inbox verifies and queues Follows, a queue that answers each with an Accept,
// and POST /post?count=N, which sends N activities to every follower (shared inboxes once each).
// Keys, followers and the queue live in memory (MemoryKvStore, InProcessMessageQueue): this is the floor.
// Prints "listening <url>" when ready.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { createFederation, InProcessMessageQueue, MemoryKvStore } from '@fedify/fedify';
import { Accept, Create, Follow, Group, Note, PUBLIC_COLLECTION, type Recipient } from '@fedify/vocab';

const origin = 'http://bench.test';
const federation = createFederation<void>({ kv: new MemoryKvStore(), queue: new InProcessMessageQueue(), allowPrivateAddress: true, origin });
// RSA-2048 as our actors' keys are (Fedify's own default is 4096), so both sign the same way.
const keys = await crypto.subtle.generateKey({ name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' }, true, ['sign', 'verify']);
const followers = new Map<string, Recipient & { id: URL }>();

federation
  .setActorDispatcher('/neighbourhoods/{identifier}', async (ctx, identifier) => {
    if (identifier !== 'bench') return null;
    const [pair] = await ctx.getActorKeyPairs(identifier);
    return new Group({ id: ctx.getActorUri(identifier), preferredUsername: identifier, inbox: ctx.getInboxUri(identifier), followers: ctx.getFollowersUri(identifier), publicKey: pair?.cryptographicKey ?? null });
  })
  .setKeyPairsDispatcher((_ctx, identifier) => (identifier === 'bench' ? [keys] : []));
federation.setFollowersDispatcher('/neighbourhoods/{identifier}/followers', () => ({ items: [...followers.values()] }));
federation
  .setInboxListeners('/neighbourhoods/{identifier}/inbox', '/inbox')
  .on(Follow, async (ctx, follow) => {
    if (!follow.id || !follow.actorId || !follow.objectId) return;
    const parsed = ctx.parseUri(follow.objectId);
    if (parsed?.type !== 'actor') return;
    const follower = await follow.getActor(ctx);
    if (!follower?.id || !follower.inboxId) return;
    const recipient = { id: follower.id, inboxId: follower.inboxId, endpoints: follower.endpoints };
    followers.set(follower.id.href, recipient);
    await ctx.sendActivity({ identifier: parsed.identifier }, recipient, new Accept({ id: new URL(`${follow.id.href}#accept`), actor: ctx.getActorUri(parsed.identifier), object: follow }), { preferSharedInbox: true });
  });

let posted = 0;
const server = createServer(async (req, res) => {
  const url = new URL(req.url ?? '/', origin);
  if (req.method === 'POST' && url.pathname === '/post') {
    // Followers seeded directly: ?followers=<JSON list of {id, inbox, sharedInbox}>, sent as the body.
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = JSON.parse(Buffer.concat(chunks).toString() || '{}') as { count?: number; followers?: { id: string; inbox: string; sharedInbox: string }[] };
    for (const f of body.followers ?? []) followers.set(f.id, { id: new URL(f.id), inboxId: new URL(f.inbox), endpoints: { sharedInbox: new URL(f.sharedInbox) } });
    const ctx = federation.createContext(new URL(origin), undefined);
    for (let i = 0; i < (body.count ?? 0); i++) {
      const n = ++posted;
      const note = new Note({ id: new URL(`${origin}/threads/${n}`), attribution: ctx.getActorUri('bench'), content: `Outbound ${n}: ${'words '.repeat(40)}`, to: PUBLIC_COLLECTION });
      await ctx.sendActivity({ identifier: 'bench' }, 'followers', new Create({ id: new URL(`${origin}/threads/${n}#create`), actor: ctx.getActorUri('bench'), object: note, to: PUBLIC_COLLECTION }), { preferSharedInbox: true });
    }
    res.writeHead(202).end();
    return;
  }
  const request = new Request(url, {
    method: req.method,
    headers: Object.entries(req.headers).flatMap(([k, v]) => (v === undefined ? [] : (Array.isArray(v) ? v : [v]).map((x) => [k, x] as [string, string]))),
    ...(req.method !== 'GET' && req.method !== 'HEAD' && { body: Readable.toWeb(req) as ReadableStream, duplex: 'half' }),
  } as RequestInit);
  const response = await federation.fetch(request, { contextData: undefined });
  res.writeHead(response.status, Object.fromEntries(response.headers));
  res.end(Buffer.from(await response.arrayBuffer()));
});
server.keepAliveTimeout = 60_000;
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
console.log(`listening http://127.0.0.1:${(server.address() as AddressInfo).port}`);
process.on('SIGTERM', () => process.exit(0));
