// The federation plugin: Fedify on our database (key–value rows and the durable job queue), mounted in
// front of the Fastify routes, with its queue workers started and stopped with the app.
import { createExponentialBackoffPolicy, createFederation } from '@fedify/fedify';
import type { UnverifiedActivityReason } from '@fedify/fedify';
import { Delete } from '@fedify/vocab';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { DatabaseHealth } from '../server/availability.ts';
import type { Config } from '../server/config.ts';
import { type Database, listen } from '../server/database.ts';
import { isBlockedHost, watchDomainPolicy } from '../server/domain-blocks/domain.ts';
import { DatabaseJobQueue, DatabaseKvStore } from '../server/queue/domain.ts';
import { recordServerState } from '../server/remote-actors/domain.ts';
import { federationHook } from './adapter.ts';
import { type FederationData, registerActors } from './actors.ts';
import { InboxLimits } from './abuse.ts';
import { fetchLimits } from './delivery.ts';
import { DeliveryShortcut } from './delivery-shortcut.ts';
import { contextLoader, documentLoader } from './fetching.ts';
import { announceChange, groupHandlers, registerPosts } from './groups.ts';
import { type InboxHandler, inboxHandlers } from './inbox.ts';
import { InboxShortcut } from './inbox-shortcut.ts';
import { announceModeration, moderationHandlers } from './moderation.ts';
import { clientToServer } from './outbox.ts';
import { profilePostRoutes } from './profile-posts.ts';
import { reportHandlers } from './reports.ts';
import { InboxGate } from './shedding.ts';
import { FederationService } from './service.ts';
import { instanceIdentifier } from './vocabulary.ts';

declare module 'fastify' {
  interface FastifyInstance {
    federation: FederationService;
  }
}

function describe(reason: UnverifiedActivityReason): string {
  if (reason.type === 'noSignature') return 'The request carries no HTTP signature.';
  if (reason.type === 'keyFetchError') return `The signing key ${reason.keyId.href} could not be fetched.`;
  return 'The signature does not verify: the body, its digest, the date or the key does not match.';
}

/** Delivery gives up on every client error except 429 (too many requests), which is retried later. */
const permanentFailures = Array.from({ length: 100 }, (_, i) => 400 + i).filter((status) => status !== 429);

export function createInstanceFederation(db: Database, config: Config, log: FastifyBaseLogger, health?: DatabaseHealth) {
  const kv = new DatabaseKvStore(db);
  const limits = fetchLimits({ db, config, log });
  // Exponential backoff with jitter from one second up to half a day; Retry-After on 429/503 wins.
  const outboxRetryPolicy = createExponentialBackoffPolicy({ initialDelay: { seconds: 1 }, maxDelay: { hours: 12 }, maxAttempts: 12 });
  const deliveries = new DeliveryShortcut({ kv, limits, log, retryPolicy: outboxRetryPolicy });
  const queue = new DatabaseJobQueue(db, {
    leaseMs: config.queueLeaseSeconds * 1000,
    pollMs: config.queuePollMs,
    workers: 4,
    // Node's fetch gives up on a silent server after five minutes; past that the job is let go.
    longestJobMs: 6 * 60_000,
    ...(health && { health }),
    sendFirst: deliveries.deliver,
  });
  // Fedify asks for a loader with every context it makes (every request, every job): build them once.
  const loadDocument = documentLoader(limits);
  const loadContext = contextLoader(limits, kv);
  const federation = createFederation<FederationData>({
    kv,
    queue,
    manuallyStartQueue: true,
    origin: config.publicUrl.origin,
    documentLoaderFactory: () => loadDocument,
    contextLoaderFactory: () => loadContext,
    authenticatedDocumentLoaderFactory: (identity) => documentLoader(limits, identity),
    signatureTimeWindow: { seconds: config.signatureWindowSeconds },
    permanentFailureStatusCodes: permanentFailures,
    outboxRetryPolicy,
    inboxRetryPolicy: createExponentialBackoffPolicy({ maxAttempts: 5 }),
    onOutboxError: (error, activity) => log.warn({ err: error, activity: activity?.id?.href }, 'delivery failed'),
    // After some failures within 10 minutes a server is unreachable: its deliveries wait, and one probe
    // is sent now and then (by default every half hour) until it answers again.
    circuitBreaker: {
      failureThreshold: config.unreachableAfterFailures,
      failureWindow: { minutes: 10 },
      recoveryDelay: { seconds: config.unreachableRetrySeconds },
      onStateChange: (host, _previous, state) => {
        log.info({ host, state }, 'remote server reachability changed');
        return recordServerState(db, host, state);
      },
    },
  });
  registerActors(federation);
  registerPosts(federation);
  const listeners = federation
    .setInboxListeners('/{+identifier}/inbox', '/inbox')
    .setSharedKeyDispatcher(() => ({ identifier: instanceIdentifier }))
    .withIdempotency('global')
    .onError((ctx, error) => ctx.data.log.warn({ err: error }, 'an incoming activity could not be handled'))
    .onUnverifiedActivity((_ctx, activity, reason) => {
      // A deleted account's `Delete` of itself, signed by a key its server no longer serves (410 Gone, as
      // Mastodon answers): nothing here can verify it, so it changes nothing, but 202 stops the retries.
      // One whose key we still have (Fedify caches keys) or can fetch was verified and handled.
      const gone = reason.type === 'keyFetchError' && 'status' in reason.result && reason.result.status === 410
        && reason.keyId.href.split('#')[0] === activity.actorId?.href;
      if (gone && activity instanceof Delete && activity.objectId?.href === activity.actorId?.href) return new Response(null, { status: 202 });
      return Response.json({ error: 'invalid_signature', message: describe(reason) }, { status: 401 });
    });
  // Fedify takes one listener per type: handlers of the same type (the catch-all `Activity`, which sees the
  // types ActivityStreams lacks, such as Lemmy's `Lock` and `Resolve`) run in turn.
  const handlersByType = new Map<InboxHandler['type'], InboxHandler['handle'][]>();
  for (const { type, handle } of [...inboxHandlers, ...groupHandlers, ...reportHandlers, ...moderationHandlers]) {
    handlersByType.set(type, [...(handlersByType.get(type) ?? []), handle]);
  }
  for (const [type, handles] of handlersByType) {
    listeners.on(type, async (ctx, activity) => {
      for (const handle of handles) await handle(ctx, activity);
    });
  }
  return { federation, queue, kv, deliveries };
}

export default fp(async function federationPlugin(app: FastifyInstance) {
  const { db, config } = app;
  const { federation, kv, queue, deliveries } = createInstanceFederation(db, config, app.log, app.databaseHealth);
  const contextData = (): FederationData => ({ db, config, log: app.log });
  app.decorate('federation', new FederationService(federation, contextData));

  // A worker process serves no public routes; a web process leaves queued jobs to the workers.
  if (config.role !== 'worker') {
    const gate = new InboxGate(queue, { maxInFlight: config.inboxMaxInFlight, maxBacklog: config.inboxMaxBacklog });
    app.addHook('onRequest', federationHook(federation, {
      origin: config.publicUrl,
      bodyLimit: config.bodyLimit,
      contextData,
      gate,
      refusesHost: (host) => isBlockedHost(db, host, config.limitedFederation),
      limits: new InboxLimits(config, config.publicUrl),
      shortcut: new InboxShortcut({ kv, queue, origin: config.publicUrl, windowSeconds: config.signatureWindowSeconds }),
    }));
    await app.register(clientToServer(app.federation));
    await app.register(profilePostRoutes(app.federation));
    // host-meta points older clients at WebFinger (RFC 6415).
    app.get('/.well-known/host-meta', { schema: { hide: true } }, async (_request, reply) => {
      const template = `${config.publicUrl.origin}/.well-known/webfinger?resource={uri}`;
      return reply
        .type('application/xrd+xml; charset=utf-8')
        .send(`<?xml version="1.0" encoding="UTF-8"?>\n<XRD xmlns="http://docs.oasis-open.org/ns/xri/xrd-1.0">\n  <Link rel="lrdd" template="${template}"/>\n</XRD>\n`);
    });
  }

  // The group announces every change in it: the live bus hears every write path (pages, API, Mastodon
  // API, federation), so there is one trigger for all of them. Where several web processes hear the same
  // change, each sends it under the same activity id, and receivers keep one.
  let stopAnnouncing = () => {};
  let stopModeration = async () => {};
  let stopWatchingDomains = async () => {};
  app.addHook('onReady', async () => {
    // The inbox and deliveries check servers against lists kept in memory while they are watched.
    stopWatchingDomains = await watchDomainPolicy(db);
    if (!app.hasDecorator('live')) return;
    stopAnnouncing = await app.live.subscribe({ instance: true }, null, (event) => {
      announceChange(app.federation.context(), event).catch((error: unknown) => app.log.warn({ err: error, event: event.event }, 'could not announce a change'));
    });
    // Moderation actions likewise, from the moderation log's NOTIFY (every path writes the log).
    stopModeration = await listen(db, 'square_mile_moderation', (payload) => {
      announceModeration(app.federation.context(), Number(payload)).catch((error: unknown) => app.log.warn({ err: error, entry: payload }, 'could not announce a moderation action'));
    }, (error) => app.log.warn({ err: error }, 'moderation listener'));
  });
  app.addHook('onClose', async () => {
    stopAnnouncing();
    await stopModeration();
    await stopWatchingDomains();
  });

  if (config.role === 'web') return;
  const stop = new AbortController();
  const workers = federation.startQueue(contextData(), { signal: stop.signal });
  const sweeper = setInterval(() => void kv.removeExpired().catch(() => {}), 10 * 60_000);
  sweeper.unref();
  app.addHook('onClose', async () => {
    clearInterval(sweeper);
    stop.abort();
    // Jobs in hand finish (or time out); anything left runs again after a restart.
    await workers.catch(() => {});
    deliveries.close();
  });
});
