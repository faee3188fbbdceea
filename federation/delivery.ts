// Sending: one function puts an activity from one of our actors on the durable queue, for given
// recipients or for all the actor's followers (shared inboxes once each). And finding remote actors.
import { randomUUID } from 'node:crypto';
import type { Context } from '@fedify/fedify';
import type { Activity, Recipient } from '@fedify/vocab';
import { undeliverableOrigins } from '../server/domain-blocks/domain.ts';
import { AppError, badRequest, notFound } from '../server/errors.ts';
import { actorByHandle, actorByUri, isStale, type RemoteActor, rememberActor } from '../server/remote-actors/domain.ts';
import type { FederationData } from './actors.ts';
import { checkAddress, type FetchLimits, limitedFetch } from './fetching.ts';
import { instanceIdentifier, remoteActorFields } from './vocabulary.ts';

export const newActivityId = (ctx: Context<unknown>) => new URL(`/activities/${randomUUID()}`, ctx.origin);

export const recipientOf = (actor: RemoteActor): Recipient & { id: URL } => ({
  id: new URL(actor.uri),
  inboxId: new URL(actor.inbox),
  endpoints: actor.shared_inbox ? { sharedInbox: new URL(actor.shared_inbox) } : null,
});

/**
 * Queues `activity` from our actor `identifier` to the recipients, or to all its followers. Delivery,
 * retries with backoff, and holding back from unreachable servers happen in the queue workers.
 */
export async function sendActivity(ctx: Context<FederationData>, identifier: string, to: Recipient | Recipient[] | 'followers', activity: Activity): Promise<void> {
  // Nothing goes to a blocked server, whether addressed directly or among the followers.
  const blocked = await undeliverableOrigins(ctx.data.db, ctx.data.config.limitedFederation);
  const options = { preferSharedInbox: true, excludeBaseUris: [new URL(ctx.origin), ...blocked] };
  if (to === 'followers') await ctx.sendActivity({ identifier }, 'followers', activity, options);
  else await ctx.sendActivity({ identifier }, to, activity, options);
}

export const fetchLimits = (data: FederationData): FetchLimits => ({
  allowPrivateAddresses: data.config.allowPrivateAddresses,
  timeoutMs: data.config.fetchTimeoutMs,
  maxBytes: data.config.fetchMaxBytes,
  userAgent: `square-mile (+${data.config.publicUrl.href})`,
});

/** The remote actor at `uri`, from our cache while fresh, otherwise fetched (signed by the instance actor). */
export async function rememberRemoteActor(ctx: Context<FederationData>, uri: URL, refresh = false): Promise<RemoteActor | null> {
  const cached = await actorByUri(ctx.data.db, uri.href);
  if (cached && !refresh && !isStale(cached)) return cached;
  let fetched: unknown;
  try {
    fetched = await ctx.lookupObject(uri, { documentLoader: await ctx.getDocumentLoader({ identifier: instanceIdentifier }) });
  } catch {
    fetched = null;
  }
  const fields = remoteActorFields(fetched);
  if (!fields || fields.uri !== uri.href) return cached ?? null;
  // An actor could name an inbox on a private address to make us post there; refuse it like a fetch.
  for (const inbox of [fields.inbox, fields.shared_inbox]) {
    if (!inbox) continue;
    try {
      await checkAddress(inbox, ctx.data.config.allowPrivateAddresses);
    } catch {
      return null;
    }
  }
  return rememberActor(ctx.data.db, fields);
}

const handlePattern = /^@?([^@\s/]+)@([a-z0-9.-]+(?::\d{1,5})?)$/i;

/** Finds a remote actor by `@name@host` (WebFinger) or by its URL. Throws 400/404 with a reason. */
export async function findRemoteActor(ctx: Context<FederationData>, account: string): Promise<RemoteActor> {
  let uri: URL;
  const handle = handlePattern.exec(account.trim());
  if (handle) {
    const [, name, host] = handle;
    if (host!.toLowerCase() === ctx.data.config.domain) throw badRequest('That account is on this instance.', 'local_account');
    const known = await actorByHandle(ctx.data.db, `${name}@${host}`);
    if (known && !isStale(known)) return known;
    uri = await webFinger(ctx.data, name!, host!);
  } else {
    try {
      uri = new URL(account);
    } catch {
      throw badRequest('Give an account as @name@host or as the URL of its profile.', 'invalid_account');
    }
    if (uri.origin === new URL(ctx.origin).origin) throw badRequest('That account is on this instance.', 'local_account');
  }
  const actor = await rememberRemoteActor(ctx, uri, true);
  if (!actor) throw notFound(`The account ${account}`);
  return actor;
}

const activityJson = /^application\/(activity\+json|ld\+json)/;

/**
 * The actor id WebFinger gives for `name@host`. A host that answers without it: 404. A host that never
 * answers: 504 once FETCH_TIMEOUT_MS has passed (one deadline for every scheme tried), 502 when it cannot
 * be reached at all (refused, no such name, a private address), so a member is told which it was.
 */
async function webFinger(data: FederationData, name: string, host: string): Promise<URL> {
  const resource = `acct:${name}@${host}`;
  // Test and closed networks run over plain HTTP (this instance's own scheme says which).
  const schemes = data.config.publicUrl.protocol === 'http:' ? ['https:', 'http:'] : ['https:'];
  const deadline = AbortSignal.timeout(data.config.fetchTimeoutMs);
  let answered = false;
  let failure: unknown;
  for (const scheme of schemes) {
    const url = `${scheme}//${host}/.well-known/webfinger?resource=${encodeURIComponent(resource)}`;
    let document: { links?: { rel?: string; type?: string; href?: string }[] };
    try {
      const { response } = await limitedFetch(url, (u) => new Request(u, { headers: { accept: 'application/jrd+json' } }), fetchLimits(data), deadline);
      answered = true;
      if (!response.ok) continue;
      document = (await response.json()) as typeof document;
    } catch (error) {
      failure = error;
      if (deadline.aborted) break;
      continue;
    }
    const self = document.links?.find((link) => link.rel === 'self' && link.type && activityJson.test(link.type) && link.href);
    if (self) return new URL(self.href!);
  }
  if (answered) throw notFound(`The account @${name}@${host}`);
  if (deadline.aborted) throw new AppError(504, 'remote_timeout', `${host} did not answer within ${data.config.fetchTimeoutMs / 1000} s; try again later.`);
  const reason = failure instanceof Error ? ((failure.cause as Error | undefined)?.message ?? failure.message) : String(failure);
  throw new AppError(502, 'remote_unreachable', `Could not reach ${host}: ${reason}`);
}
