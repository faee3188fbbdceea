// Every SQL statement about who follows which neighbourhoods, and members' named sets of them.
import type { Database } from '../database.ts';

export function insertFollow(db: Database, memberId: number, neighbourhoodId: number) {
  return db
    .insertInto('neighbourhood_follows')
    .values({ member_id: memberId, neighbourhood_id: neighbourhoodId })
    .onConflict((oc) => oc.columns(['member_id', 'neighbourhood_id']).doNothing())
    .execute();
}

/** Unfollowing also takes the neighbourhood out of the member's sets: a set only groups what they follow. */
export function deleteFollow(db: Database, memberId: number, neighbourhoodId: number) {
  return db.transaction().execute(async (trx) => {
    await trx
      .deleteFrom('neighbourhood_set_entries')
      .where('neighbourhood_id', '=', neighbourhoodId)
      .where('set_id', 'in', trx.selectFrom('neighbourhood_sets').select('id').where('owner_id', '=', memberId))
      .execute();
    const removed = await trx
      .deleteFrom('neighbourhood_follows')
      .where('member_id', '=', memberId)
      .where('neighbourhood_id', '=', neighbourhoodId)
      .executeTakeFirst();
    return removed.numDeletedRows > 0n;
  });
}

export function followedBy(db: Database, memberId: number) {
  return db
    .selectFrom('neighbourhood_follows')
    .innerJoin('neighbourhoods', 'neighbourhoods.id', 'neighbourhood_follows.neighbourhood_id')
    .selectAll('neighbourhoods')
    .select('neighbourhood_follows.created_at as followed_at')
    .where('neighbourhood_follows.member_id', '=', memberId)
    .orderBy('neighbourhoods.name_key')
    .orderBy('neighbourhoods.id')
    .execute();
}

export async function followedIds(db: Database, memberId: number): Promise<number[]> {
  const rows = await db.selectFrom('neighbourhood_follows').select('neighbourhood_id').where('member_id', '=', memberId).execute();
  return rows.map((row) => row.neighbourhood_id);
}

export function insertSet(db: Database, values: { ownerId: number; name: string; shared: boolean; shareKey: string }) {
  return db
    .insertInto('neighbourhood_sets')
    .values({ owner_id: values.ownerId, name: values.name, shared: values.shared, share_key: values.shareKey })
    .onConflict((oc) => oc.columns(['owner_id', 'name']).doNothing())
    .returningAll()
    .executeTakeFirst();
}

export function updateSet(db: Database, id: number, changes: { name?: string; shared?: boolean }) {
  return db.updateTable('neighbourhood_sets').set(changes).where('id', '=', id).returningAll().executeTakeFirstOrThrow();
}

export function findSetByName(db: Database, ownerId: number, name: string) {
  return db.selectFrom('neighbourhood_sets').selectAll().where('owner_id', '=', ownerId).where('name', '=', name).executeTakeFirst();
}

export function findSet(db: Database, id: number) {
  return db.selectFrom('neighbourhood_sets').selectAll().where('id', '=', id).executeTakeFirst();
}

export function findSetByShareKey(db: Database, shareKey: string) {
  return db
    .selectFrom('neighbourhood_sets')
    .innerJoin('members', 'members.id', 'neighbourhood_sets.owner_id')
    .selectAll('neighbourhood_sets')
    .select('members.username as owner_username')
    .where('share_key', '=', shareKey)
    .executeTakeFirst();
}

export function setsOf(db: Database, ownerId: number) {
  return db.selectFrom('neighbourhood_sets').selectAll().where('owner_id', '=', ownerId).orderBy('name').execute();
}

export function deleteSet(db: Database, id: number) {
  return db.deleteFrom('neighbourhood_sets').where('id', '=', id).execute();
}

export function entriesOf(db: Database, setIds: number[]) {
  if (!setIds.length) return Promise.resolve([]);
  return db
    .selectFrom('neighbourhood_set_entries')
    .innerJoin('neighbourhoods', 'neighbourhoods.id', 'neighbourhood_set_entries.neighbourhood_id')
    .selectAll('neighbourhoods')
    .select('neighbourhood_set_entries.set_id')
    .where('neighbourhood_set_entries.set_id', 'in', setIds)
    .orderBy('neighbourhoods.name_key')
    .orderBy('neighbourhoods.id')
    .execute();
}

/** Replaces the set's neighbourhoods; each one is followed too, since a set groups what its owner follows. */
export function replaceEntries(db: Database, set: { id: number; owner_id: number }, neighbourhoodIds: number[]) {
  return db.transaction().execute(async (trx) => {
    await trx.deleteFrom('neighbourhood_set_entries').where('set_id', '=', set.id).execute();
    if (!neighbourhoodIds.length) return;
    await trx.insertInto('neighbourhood_set_entries').values(neighbourhoodIds.map((id) => ({ set_id: set.id, neighbourhood_id: id }))).execute();
    await trx
      .insertInto('neighbourhood_follows')
      .values(neighbourhoodIds.map((id) => ({ member_id: set.owner_id, neighbourhood_id: id })))
      .onConflict((oc) => oc.columns(['member_id', 'neighbourhood_id']).doNothing())
      .execute();
  });
}
