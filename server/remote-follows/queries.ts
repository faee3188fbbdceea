// Every SQL statement about follows between our actors and actors on other servers.
import type { Selectable } from 'kysely';
import type { Database, RemoteFollowsTable } from '../database.ts';

export type FollowRow = Selectable<RemoteFollowsTable>;
type Direction = FollowRow['direction'];
type State = FollowRow['state'];

/** Records (or renews, after an earlier undo) a follow; returns the row as it now stands. */
export function upsertFollow(db: Database, follow: { localActor: string; remoteActorId: number; direction: Direction; activityId: string; state: State }) {
  const accepted_at = follow.state === 'accepted' ? new Date() : null;
  return db
    .insertInto('remote_follows')
    .values({
      local_actor: follow.localActor,
      remote_actor_id: follow.remoteActorId,
      direction: follow.direction,
      activity_id: follow.activityId,
      state: follow.state,
      accepted_at,
    })
    .onConflict((oc) =>
      oc.columns(['local_actor', 'remote_actor_id', 'direction']).doUpdateSet({ activity_id: follow.activityId, state: follow.state, accepted_at }),
    )
    .returningAll()
    .executeTakeFirstOrThrow();
}

export const findFollow = (db: Database, localActor: string, remoteActorId: number, direction: Direction) =>
  db
    .selectFrom('remote_follows')
    .selectAll()
    .where('local_actor', '=', localActor)
    .where('remote_actor_id', '=', remoteActorId)
    .where('direction', '=', direction)
    .executeTakeFirst();

export const findByActivityId = (db: Database, activityId: string, direction: Direction) =>
  db.selectFrom('remote_follows').selectAll().where('activity_id', '=', activityId).where('direction', '=', direction).executeTakeFirst();

export const findFollowById = (db: Database, id: number) => db.selectFrom('remote_follows').selectAll().where('id', '=', id).executeTakeFirst();

export function markAccepted(db: Database, id: number) {
  return db.updateTable('remote_follows').set({ state: 'accepted', accepted_at: new Date() }).where('id', '=', id).returningAll().executeTakeFirst();
}

export function deleteFollow(db: Database, id: number) {
  return db.deleteFrom('remote_follows').where('id', '=', id).returningAll().executeTakeFirst();
}

/** One page of a local actor's follows in one direction, oldest first, with the remote actor. */
export function listFollows(db: Database, localActor: string, direction: Direction, state: State, afterId: number, limit: number) {
  return db
    .selectFrom('remote_follows as f')
    .innerJoin('remote_actors as a', 'a.id', 'f.remote_actor_id')
    .select(['f.id', 'f.state', 'f.created_at', 'f.activity_id', 'a.uri', 'a.handle', 'a.inbox', 'a.shared_inbox', 'a.name', 'a.type'])
    .where('f.local_actor', '=', localActor)
    .where('f.direction', '=', direction)
    .where('f.state', '=', state)
    .where('f.id', '>', afterId)
    .orderBy('f.id')
    .limit(limit)
    .execute();
}

export async function countFollows(db: Database, localActor: string, direction: Direction, state: State): Promise<number> {
  const row = await db
    .selectFrom('remote_follows')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('local_actor', '=', localActor)
    .where('direction', '=', direction)
    .where('state', '=', state)
    .executeTakeFirstOrThrow();
  return row.n;
}

export async function admissionOf(db: Database, neighbourhoodId: number) {
  const row = await db.selectFrom('neighbourhoods').select('admission').where('id', '=', neighbourhoodId).executeTakeFirst();
  return row?.admission;
}

export async function setAdmission(db: Database, neighbourhoodId: number, admission: 'open' | 'approval') {
  await db.updateTable('neighbourhoods').set({ admission }).where('id', '=', neighbourhoodId).execute();
}
