// What we remember about people and groups on other servers, and whether their servers answer.
import type { Database } from '../database.ts';
import * as q from './queries.ts';

export type RemoteActor = q.RemoteActorRow;
export type RemoteActorFields = q.RemoteActorFields;

/** How long a cached remote actor is trusted before it is fetched again. */
export const remoteActorMaxAgeMs = 24 * 60 * 60 * 1000;

export const rememberActor = q.upsertActor;
export const actorByUri = q.findByUri;
export const actorByHandle = q.findByHandle;
export const serverStatus = q.findServer;
export const actorById = q.findById;

export const isStale = (actor: RemoteActor, now = Date.now()) => now - actor.fetched_at.getTime() > remoteActorMaxAgeMs;

/** Circuit state from delivery: an open circuit marks the server unreachable until a delivery succeeds. */
export async function recordServerState(db: Database, host: string, state: 'closed' | 'open' | 'half-open'): Promise<void> {
  if (state === 'closed') await q.markServerReachable(db, host);
  else await q.markServerUnreachable(db, host);
}
