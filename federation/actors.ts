// Our actors as Fedify serves them: members, neighbourhoods and the instance actor, their keys,
// collections (followers, following, outbox, moderators), WebFinger handles and NodeInfo.
import type { Context, Federation, FederationBuilder } from '@fedify/fedify';
import type { FastifyBaseLogger } from 'fastify';
import { Activity, Application, Endpoints, Person, type Recipient } from '@fedify/vocab';
import { memberByUsername } from '../server/accounts/domain.ts';
import type { Config } from '../server/config.ts';
import type { Database } from '../server/database.ts';
import { AppError } from '../server/errors.ts';
import { acceptedFollows, countAcceptedFollows } from '../server/remote-follows/domain.ts';
import { usage } from '../server/instance/queries.ts';
import { type ActorKeyOwner, keyPairsOf } from '../server/keys/domain.ts';
import { moderatorsOf, neighbourhoodByHandle } from '../server/neighbourhoods/domain.ts';
import { version } from '../server/version.ts';
import { firstOutboxPage, outboxPage } from './outbox.ts';
import {
  groupFromNeighbourhood,
  instanceIdentifier,
  memberIdentifier,
  neighbourhoodIdentifier,
  parseIdentifier,
  personFromMember,
} from './vocabulary.ts';

export interface FederationData {
  db: Database;
  config: Config;
  log: FastifyBaseLogger;
  /** A local actor this job has looked up already: signing as it and listing its followers reuse it. */
  actor?: LocalActor;
}

export type LocalActor =
  | { kind: 'member'; owner: ActorKeyOwner; identifier: string; member: NonNullable<Awaited<ReturnType<typeof memberByUsername>>> }
  | { kind: 'neighbourhood'; owner: ActorKeyOwner; identifier: string; neighbourhood: Awaited<ReturnType<typeof neighbourhoodByHandle>> }
  | { kind: 'instance'; owner: ActorKeyOwner; identifier: string };

/** The local actor an identifier names, or null (unknown, or a member who is not active). */
export async function localActor(db: Database, identifier: string): Promise<LocalActor | null> {
  const parsed = parseIdentifier(identifier);
  if (!parsed) return null;
  if (parsed.kind === 'instance') return { kind: 'instance', owner: 'instance', identifier };
  if (parsed.kind === 'member') {
    const member = await memberByUsername(db, parsed.name);
    if (!member || member.status !== 'active') return null;
    return { kind: 'member', owner: `member:${member.id}`, identifier: memberIdentifier(member.username), member };
  }
  try {
    return neighbourhoodActor(await neighbourhoodByHandle(db, parsed.name));
  } catch (error) {
    if (error instanceof AppError && error.status === 404) return null;
    throw error;
  }
}

export const neighbourhoodActor = (neighbourhood: Awaited<ReturnType<typeof neighbourhoodByHandle>>): LocalActor =>
  ({ kind: 'neighbourhood', owner: `neighbourhood:${neighbourhood.id}`, identifier: neighbourhoodIdentifier(neighbourhood.handle), neighbourhood });

/** A context acting as `actor`, looked up already, so that Fedify's lookups while sending do not repeat it. */
export const actingAs = (ctx: Context<FederationData>, actor: LocalActor): Context<FederationData> => ctx.clone({ ...ctx.data, actor });

const actorIn = (ctx: Context<FederationData>, identifier: string) =>
  ctx.data.actor?.identifier === identifier ? ctx.data.actor : localActor(ctx.data.db, identifier);

const pageSize = 50;

export function registerActors(federation: Federation<FederationData> | FederationBuilder<FederationData>): void {
  federation
    .setActorDispatcher('/{+identifier}', async (ctx, identifier) => {
      const actor = await localActor(ctx.data.db, identifier);
      if (!actor) return null;
      const keys = await ctx.getActorKeyPairs(actor.identifier);
      if (actor.kind === 'member') return personFromMember(ctx, actor.member, keys);
      if (actor.kind === 'neighbourhood') return groupFromNeighbourhood(ctx, actor.neighbourhood, keys);
      const id = ctx.getActorUri(instanceIdentifier);
      return new Application({
        id,
        preferredUsername: ctx.data.config.publicUrl.hostname,
        name: ctx.data.config.instanceName,
        inbox: ctx.getInboxUri(instanceIdentifier),
        outbox: new URL(`${id.href}/outbox`),
        endpoints: new Endpoints({ sharedInbox: ctx.getInboxUri() }),
        publicKey: keys[0]?.cryptographicKey ?? null,
        assertionMethods: keys.map((key) => key.multikey),
        manuallyApprovesFollowers: true,
      });
    })
    .setKeyPairsDispatcher(async (ctx, identifier) => {
      const actor = await actorIn(ctx, identifier);
      return actor ? keyPairsOf(ctx.data.db, actor.owner) : [];
    })
    .mapHandle(async (ctx, username) => {
      if (username.toLowerCase() === ctx.data.config.publicUrl.hostname.toLowerCase()) return instanceIdentifier;
      for (const identifier of [memberIdentifier(username), `neighbourhoods/${username}`]) {
        const actor = await localActor(ctx.data.db, identifier);
        if (actor) return actor.identifier;
      }
      return null;
    });

  // Followers: remote actors whose follow was accepted. Without a cursor (Fedify's fan-out) every one.
  federation
    .setFollowersDispatcher('/{+identifier}/followers', async (ctx, identifier, cursor) => {
      const actor = await actorIn(ctx, identifier);
      if (!actor) return null;
      const after = cursor === null ? 0 : Number(cursor) || 0;
      const limit = cursor === null ? 100_000 : pageSize;
      const rows = await acceptedFollows(ctx.data.db, actor.owner, 'inbound', after, limit);
      const items: Recipient[] = rows.map((row) => ({
        id: new URL(row.uri),
        inboxId: new URL(row.inbox),
        endpoints: row.shared_inbox ? { sharedInbox: new URL(row.shared_inbox) } : null,
      }));
      return { items, nextCursor: cursor !== null && rows.length === limit ? String(rows.at(-1)!.id) : null };
    })
    .setCounter(async (ctx, identifier) => {
      const actor = await localActor(ctx.data.db, identifier);
      return actor ? countAcceptedFollows(ctx.data.db, actor.owner, 'inbound') : null;
    })
    .setFirstCursor(() => '0');

  federation
    .setFollowingDispatcher('/{+identifier}/following', async (ctx, identifier, cursor) => {
      const actor = await localActor(ctx.data.db, identifier);
      if (!actor) return null;
      const after = cursor === null ? 0 : Number(cursor) || 0;
      const rows = await acceptedFollows(ctx.data.db, actor.owner, 'outbound', after, pageSize);
      return { items: rows.map((row) => new URL(row.uri)), nextCursor: rows.length === pageSize ? String(rows.at(-1)!.id) : null };
    })
    .setCounter(async (ctx, identifier) => {
      const actor = await localActor(ctx.data.db, identifier);
      return actor ? countAcceptedFollows(ctx.data.db, actor.owner, 'outbound') : null;
    })
    .setFirstCursor(() => '0');

  // A member's outbox holds the Create of each of their threads and replies (see federation/outbox.ts);
  // the others' outboxes are empty for now.
  federation
    .setOrderedCollectionDispatcher('outbox', Activity, '/{+owner}/outbox', async (ctx, values, cursor) => {
      const actor = await localActor(ctx.data.db, values.owner);
      if (!actor) return null;
      if (actor.kind !== 'member') return { items: [] };
      return outboxPage(ctx, actor.member.id, cursor);
    })
    // A member's posts are paged and not counted; the other outboxes are counted (as empty).
    .setCounter(async (ctx, values) => {
      const actor = await localActor(ctx.data.db, values.owner);
      return actor && actor.kind !== 'member' ? 0 : null;
    })
    .setFirstCursor(async (ctx, values) => ((await localActor(ctx.data.db, values.owner))?.kind === 'member' ? firstOutboxPage : null));

  const moderators = async (db: Database, handle: string) => {
    const actor = await localActor(db, `neighbourhoods/${handle}`);
    return actor?.kind === 'neighbourhood' ? moderatorsOf(db, actor.neighbourhood.id) : null;
  };
  federation
    .setCollectionDispatcher('moderators', Person, '/neighbourhoods/{handle}/moderators', async (ctx, values) => {
      const list = await moderators(ctx.data.db, values.handle);
      // Moderators from other servers are listed by their own ids.
      return list && { items: list.map((m) => new Person({ id: m.ap_id ? new URL(m.ap_id) : ctx.getActorUri(memberIdentifier(m.username)) })) };
    })
    .setCounter(async (ctx, values) => (await moderators(ctx.data.db, values.handle))?.length ?? null);

  federation.setNodeInfoDispatcher('/nodeinfo/2.1', async (ctx) => {
    const counts = await usage(ctx.data.db);
    return {
      software: { name: 'square-mile', version, homepage: new URL(ctx.data.config.publicUrl.href) },
      protocols: ['activitypub'],
      openRegistrations: ctx.data.config.registration === 'open',
      usage: { users: { total: counts.members }, localPosts: counts.threads, localComments: counts.replies },
      metadata: { nodeName: ctx.data.config.instanceName },
    };
  });
}
