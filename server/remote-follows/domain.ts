// Follows across servers: remote people following our members and neighbourhoods, and our members
// following people and neighbourhoods elsewhere. The protocol side lives in federation/.
import type { Viewer } from '../accounts/domain.ts';
import type { Database } from '../database.ts';
import { notFound } from '../errors.ts';
import type { ActorKeyOwner } from '../keys/domain.ts';
import { isSilencedHost } from '../domain-blocks/domain.ts';
import { neighbourhoodByHandle, requireModerator } from '../neighbourhoods/domain.ts';
import { actorById } from '../remote-actors/domain.ts';
import * as q from './queries.ts';

export type Follow = q.FollowRow;
export type LocalActorRef = ActorKeyOwner;

export const memberActor = (id: number): LocalActorRef => `member:${id}`;
export const neighbourhoodActor = (id: number): LocalActorRef => `neighbourhood:${id}`;

/**
 * A remote actor asks to follow one of ours. Members and open neighbourhoods accept at once;
 * a neighbourhood that admits by approval (or a follower on a silenced server) waits for its moderators.
 */
export async function receiveFollow(db: Database, target: LocalActorRef, remoteActorId: number, activityId: string): Promise<Follow> {
  const existing = await q.findFollow(db, target, remoteActorId, 'inbound');
  let state: Follow['state'] = 'accepted';
  if (existing?.state !== 'accepted') {
    const [kind, id] = target.split(':');
    if (kind === 'neighbourhood' && (await q.admissionOf(db, Number(id))) === 'approval') state = 'pending';
    // A silenced server's follows of a neighbourhood wait for a moderator, as its posts do.
    if (kind === 'neighbourhood' && (await isSilencedHost(db, (await actorById(db, remoteActorId)).host))) state = 'pending';
  }
  return q.upsertFollow(db, { localActor: target, remoteActorId, direction: 'inbound', activityId, state });
}

/** Undo(Follow): the remote actor stops following; true when there was something to remove. */
export async function endInboundFollow(db: Database, target: LocalActorRef, remoteActorId: number): Promise<boolean> {
  const follow = await q.findFollow(db, target, remoteActorId, 'inbound');
  if (!follow) return false;
  await q.deleteFollow(db, follow.id);
  return true;
}

export async function followRequests(db: Database, viewer: Viewer, handle: string) {
  const neighbourhood = await neighbourhoodByHandle(db, handle);
  await requireModerator(db, neighbourhood, viewer);
  return q.listFollows(db, neighbourhoodActor(neighbourhood.id), 'inbound', 'pending', 0, 100);
}

/** A moderator accepts or refuses a held request; returns the follow as it was decided, for the reply. */
export async function decideFollowRequest(db: Database, viewer: Viewer, handle: string, requestId: number, accept: boolean) {
  const neighbourhood = await neighbourhoodByHandle(db, handle);
  await requireModerator(db, neighbourhood, viewer);
  const follow = await q.findFollowById(db, requestId);
  if (!follow || follow.local_actor !== neighbourhoodActor(neighbourhood.id) || follow.direction !== 'inbound' || follow.state !== 'pending') {
    throw notFound('That follow request');
  }
  const decided = accept ? await q.markAccepted(db, follow.id) : await q.deleteFollow(db, follow.id);
  return { follow: decided!, neighbourhood };
}

export async function setAdmission(db: Database, viewer: Viewer, handle: string, admission: 'open' | 'approval') {
  const neighbourhood = await neighbourhoodByHandle(db, handle);
  await requireModerator(db, neighbourhood, viewer);
  await q.setAdmission(db, neighbourhood.id, admission);
  return { ...neighbourhood, admission };
}

/** A member asks to follow a remote actor; the follow waits for the remote Accept. */
export async function startFollowing(db: Database, memberId: number, remoteActorId: number, activityId: string): Promise<{ follow: Follow; isNew: boolean }> {
  const existing = await q.findFollow(db, memberActor(memberId), remoteActorId, 'outbound');
  if (existing?.state === 'accepted') return { follow: existing, isNew: false };
  const follow = await q.upsertFollow(db, { localActor: memberActor(memberId), remoteActorId, direction: 'outbound', activityId, state: 'pending' });
  return { follow, isNew: true };
}

/**
 * Accept or Reject from the followed actor, matched by our Follow's id or, when the answer does not carry
 * it, by which of our members followed; only the actor that was followed can answer.
 */
export async function answerOutboundFollow(
  db: Database,
  remoteActorId: number,
  which: { activityId: string | null; follower: LocalActorRef | null },
  accepted: boolean,
): Promise<Follow | undefined> {
  const follow = which.activityId
    ? await q.findByActivityId(db, which.activityId, 'outbound')
    : which.follower && (await q.findFollow(db, which.follower, remoteActorId, 'outbound'));
  if (!follow || follow.remote_actor_id !== remoteActorId) return undefined;
  return accepted ? q.markAccepted(db, follow.id) : q.deleteFollow(db, follow.id);
}

export async function stopFollowing(db: Database, memberId: number, followId: number): Promise<Follow> {
  const follow = await q.findFollowById(db, followId);
  if (!follow || follow.local_actor !== memberActor(memberId) || follow.direction !== 'outbound') throw notFound('That follow');
  await q.deleteFollow(db, follow.id);
  return follow;
}

export async function following(db: Database, memberId: number) {
  const [accepted, pending] = await Promise.all([
    q.listFollows(db, memberActor(memberId), 'outbound', 'accepted', 0, 1000),
    q.listFollows(db, memberActor(memberId), 'outbound', 'pending', 0, 1000),
  ]);
  return [...accepted, ...pending];
}

/** One page of accepted follows for the AS2 collections; `after` is the last follow id of the previous page. */
export const acceptedFollows = (db: Database, actor: LocalActorRef, direction: Follow['direction'], after: number, limit: number) =>
  q.listFollows(db, actor, direction, 'accepted', after, limit);
export const countAcceptedFollows = (db: Database, actor: LocalActorRef, direction: Follow['direction']) => q.countFollows(db, actor, direction, 'accepted');
export const admissionOf = q.admissionOf;

/** Whether a remote actor follows the neighbourhood with its moderators' (or its open admission's) consent. */
export async function isAdmittedFollower(db: Database, neighbourhoodId: number, remoteActorId: number): Promise<boolean> {
  return (await q.findFollow(db, neighbourhoodActor(neighbourhoodId), remoteActorId, 'inbound'))?.state === 'accepted';
}
