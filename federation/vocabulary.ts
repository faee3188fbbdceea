// Translation between our rows and ActivityStreams: members are Persons, neighbourhoods are Groups with
// an AS2 Place for their locality, and remote actors become rows we can store.
import type { Context } from '@fedify/fedify';
import { type Actor, Endpoints, getTypeId, Group, isActor, Person, Place } from '@fedify/vocab';
import type { Member } from '../server/accounts/domain.ts';
import type { Neighbourhood } from '../server/neighbourhoods/domain.ts';
import { renderMarkdown } from '../server/markdown.ts';
import type { RemoteActorFields } from '../server/remote-actors/domain.ts';

/** Fedify actor identifiers are our canonical paths, so `{+identifier}` expands to the real URL. */
export const memberIdentifier = (username: string) => `members/${username}`;
export const neighbourhoodIdentifier = (handle: string) => `neighbourhoods/${handle}`;
export const instanceIdentifier = 'actor';

export type ActorIdentifier =
  | { kind: 'member'; name: string }
  | { kind: 'neighbourhood'; name: string }
  | { kind: 'instance' };

export function parseIdentifier(identifier: string): ActorIdentifier | null {
  if (identifier === instanceIdentifier) return { kind: 'instance' };
  const match = /^(members|neighbourhoods)\/([A-Za-z0-9_-]{1,40})$/.exec(identifier);
  if (!match) return null;
  return { kind: match[1] === 'members' ? 'member' : 'neighbourhood', name: match[2]! };
}

interface ActorLinks {
  identifier: string;
  keys: Awaited<ReturnType<Context<unknown>['getActorKeyPairs']>>;
}

function commonFields(ctx: Context<unknown>, { identifier, keys }: ActorLinks) {
  const id = ctx.getActorUri(identifier);
  return {
    id,
    url: id,
    inbox: ctx.getInboxUri(identifier),
    outbox: new URL(`${id.href}/outbox`),
    followers: ctx.getFollowersUri(identifier),
    following: ctx.getFollowingUri(identifier),
    endpoints: new Endpoints({ sharedInbox: ctx.getInboxUri() }),
    publicKey: keys[0]?.cryptographicKey ?? null,
    assertionMethods: keys.map((key) => key.multikey),
  };
}

export function personFromMember(ctx: Context<unknown>, member: Member, keys: ActorLinks['keys']): Person {
  return new Person({
    ...commonFields(ctx, { identifier: memberIdentifier(member.username), keys }),
    preferredUsername: member.username,
    name: member.display_name || member.username,
    summary: member.bio ? renderMarkdown(member.bio) : null,
    manuallyApprovesFollowers: false,
    discoverable: true,
  });
}

export function placeOf(neighbourhood: Neighbourhood): Place {
  return new Place({
    name: neighbourhood.place_name,
    latitude: neighbourhood.latitude,
    longitude: neighbourhood.longitude,
    radius: neighbourhood.radius_metres,
    units: neighbourhood.radius_metres === null ? null : 'm',
  });
}

export function groupFromNeighbourhood(ctx: Context<unknown>, neighbourhood: Neighbourhood, keys: ActorLinks['keys']): Group {
  const fields = commonFields(ctx, { identifier: neighbourhoodIdentifier(neighbourhood.handle), keys });
  return new Group({
    ...fields,
    preferredUsername: neighbourhood.handle,
    name: neighbourhood.name,
    summary: neighbourhood.description ? renderMarkdown(neighbourhood.description) : null,
    content: neighbourhood.rules ? renderMarkdown(neighbourhood.rules) : null,
    location: placeOf(neighbourhood),
    // FEP-1b12 and Lemmy: a group is attributed to its moderators collection.
    attribution: new URL(`${fields.id.href}/moderators`),
    // Its pinned threads, as Lemmy and Mastodon publish them.
    featured: new URL(`${fields.id.href}/featured`),
    manuallyApprovesFollowers: neighbourhood.admission === 'approval',
    discoverable: true,
  });
}

const shortType = (actor: Actor) => getTypeId(actor).href.replace(/^.*[#/]/, '');

/** What we store about a remote actor; null when it is not an actor we can talk to (no id or inbox). */
export function remoteActorFields(actor: unknown): RemoteActorFields | null {
  if (!isActor(actor) || !actor.id || !actor.inboxId) return null;
  const host = actor.id.host;
  const username = actor.preferredUsername?.toString();
  const url = actor.url instanceof URL ? actor.url.href : (actor.url?.href?.href ?? null);
  return {
    uri: actor.id.href,
    host,
    handle: username ? `${username}@${host}` : null,
    type: shortType(actor),
    name: (actor.name ?? username ?? '').toString().slice(0, 200),
    inbox: actor.inboxId.href,
    shared_inbox: actor.endpoints?.sharedInbox?.href ?? null,
    url,
  };
}
