// Every SQL statement about neighbourhoods and who belongs to them.
import { type Selectable, sql } from 'kysely';
import type { Database, NeighbourhoodsTable } from '../database.ts';

export type NeighbourhoodRow = Selectable<NeighbourhoodsTable>;

export interface Locality {
  placeName: string;
  latitude: number | null;
  longitude: number | null;
  radiusMetres: number | null;
}

export interface NeighbourhoodFields {
  name: string;
  description: string;
  rules: string;
  locality: Locality;
}

const columns = (f: NeighbourhoodFields) => ({
  name: f.name,
  name_key: f.name.toLowerCase(),
  description: f.description,
  rules: f.rules,
  place_name: f.locality.placeName,
  latitude: f.locality.latitude,
  longitude: f.locality.longitude,
  radius_metres: f.locality.radiusMetres,
});

/** Inserts the neighbourhood with its creator as first moderator; undefined when the handle is taken. */
export function insertNeighbourhood(db: Database, handle: string, fields: NeighbourhoodFields, creatorId: number) {
  const handleKey = handle.toLowerCase();
  return db.transaction().execute(async (trx) => {
    const memberHasName = await trx.selectFrom('members').select('id').where('username_key', '=', handleKey).executeTakeFirst();
    if (memberHasName) return undefined;
    const row = await trx
      .insertInto('neighbourhoods')
      .values({ handle, handle_key: handleKey, ...columns(fields), created_by: creatorId, member_count: 1 })
      .onConflict((oc) => oc.column('handle_key').doNothing())
      .returningAll()
      .executeTakeFirst();
    if (row) await trx.insertInto('memberships').values({ neighbourhood_id: row.id, member_id: creatorId, role: 'moderator' }).execute();
    return row;
  });
}

export function updateNeighbourhood(db: Database, id: number, fields: NeighbourhoodFields) {
  return db.updateTable('neighbourhoods').set(columns(fields)).where('id', '=', id).returningAll().executeTakeFirstOrThrow();
}

export function findByHandle(db: Database, handle: string) {
  return db.selectFrom('neighbourhoods').selectAll().where('handle_key', '=', handle.toLowerCase()).executeTakeFirst();
}

export function findById(db: Database, id: number) {
  return db.selectFrom('neighbourhoods').selectAll().where('id', '=', id).executeTakeFirst();
}

/** A member's role in a neighbourhood: run alone, or as a subquery of a statement that reads it beside other things. */
export function roleOf(db: Database, neighbourhoodId: number, memberId: number) {
  return db.selectFrom('memberships').select('memberships.role').where('memberships.neighbourhood_id', '=', neighbourhoodId).where('memberships.member_id', '=', memberId);
}

export function moderatorsOf(db: Database, neighbourhoodId: number) {
  return db
    .selectFrom('memberships')
    .innerJoin('members', 'members.id', 'memberships.member_id')
    .select(['members.id', 'members.username', 'members.display_name', 'members.ap_id'])
    .where('memberships.neighbourhood_id', '=', neighbourhoodId)
    .where('memberships.role', '=', 'moderator')
    .orderBy('memberships.joined_at')
    .execute();
}

/**
 * Adds the membership; false when the member already belonged. A neighbourhood on another server keeps the
 * size its own server gives (its followers), so memberships here (followers, mirrored moderators) leave it be.
 */
export function insertMembership(db: Database, neighbourhoodId: number, memberId: number) {
  return db.transaction().execute(async (trx) => {
    const added = await trx
      .insertInto('memberships')
      .values({ neighbourhood_id: neighbourhoodId, member_id: memberId })
      .onConflict((oc) => oc.columns(['neighbourhood_id', 'member_id']).doNothing())
      .returning('member_id')
      .executeTakeFirst();
    if (added) {
      await trx.updateTable('neighbourhoods').set((eb) => ({ member_count: eb('member_count', '+', 1) })).where('id', '=', neighbourhoodId).where('ap_id', 'is', null).execute();
    }
    return !!added;
  });
}

export function deleteMembership(db: Database, neighbourhoodId: number, memberId: number) {
  return db.transaction().execute(async (trx) => {
    const removed = await trx
      .deleteFrom('memberships')
      .where('neighbourhood_id', '=', neighbourhoodId)
      .where('member_id', '=', memberId)
      .returning('member_id')
      .executeTakeFirst();
    if (removed) {
      await trx.updateTable('neighbourhoods').set((eb) => ({ member_count: eb('member_count', '-', 1) })).where('id', '=', neighbourhoodId).where('ap_id', 'is', null).execute();
    }
    return !!removed;
  });
}

export function countModerators(db: Database, neighbourhoodId: number) {
  return db
    .selectFrom('memberships')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('neighbourhood_id', '=', neighbourhoodId)
    .where('role', '=', 'moderator')
    .executeTakeFirstOrThrow();
}

export interface ListFilter {
  /** Case-insensitive part of the name or place name. */
  search?: string;
  near?: { latitude: number; longitude: number; withinMetres?: number };
  limit: number;
  /** Keyset position: the sort value and id of the last row of the previous page. */
  after?: { sort: string | number; id: number };
}

const escapeLike = (text: string) => text.replace(/[\\%_]/g, (c) => `\\${c}`);

/** Great-circle distance in metres from the point to each neighbourhood's centre (haversine). */
export const distanceFrom = (lat: number, lng: number) => sql<number>`(2 * 6371008.8 * asin(least(1, sqrt(
  power(sin(radians(latitude - ${lat}) / 2), 2)
  + cos(radians(${lat})) * cos(radians(latitude)) * power(sin(radians(longitude - ${lng}) / 2), 2)))))`;

export async function listNeighbourhoods(db: Database, filter: ListFilter) {
  let query = db.selectFrom('neighbourhoods').selectAll();
  if (filter.search) {
    const pattern = `%${escapeLike(filter.search.toLowerCase())}%`;
    query = query.where((eb) => eb.or([eb('name_key', 'like', pattern), eb(eb.fn('lower', ['place_name']), 'like', pattern)]));
  }
  if (filter.near) {
    const { latitude, longitude, withinMetres } = filter.near;
    const distance = distanceFrom(latitude, longitude);
    let ranked = query.select(distance.as('distance')).where('latitude', 'is not', null);
    if (withinMetres !== undefined) {
      // A bounding box first, so the point index narrows the rows before the trigonometry runs.
      const dLat = withinMetres / 111_320;
      const dLng = withinMetres / (111_320 * Math.max(Math.cos((latitude * Math.PI) / 180), 0.01));
      ranked = ranked
        .where('latitude', '>=', latitude - dLat)
        .where('latitude', '<=', latitude + dLat)
        .where('longitude', '>=', longitude - dLng)
        .where('longitude', '<=', longitude + dLng)
        .where(distance, '<=', withinMetres);
    }
    const after = filter.after;
    return db
      .selectFrom(ranked.as('ranked'))
      .selectAll()
      .$if(!!after, (qb) => qb.where((eb) => eb(eb.refTuple('distance', 'id'), '>', eb.tuple(Number(after!.sort), after!.id))))
      .orderBy('distance')
      .orderBy('id')
      .limit(filter.limit)
      .execute();
  }
  const after = filter.after;
  return query
    .select(sql<null>`null`.as('distance'))
    .$if(!!after, (qb) =>
      qb.where((eb) => eb(eb.refTuple('last_activity_at', 'id'), '<', eb.tuple(new Date(String(after!.sort)), after!.id))),
    )
    .orderBy('last_activity_at', 'desc')
    .orderBy('id', 'desc')
    .limit(filter.limit)
    .execute();
}

export function touchActivity(db: Database, neighbourhoodId: number, at: Date) {
  return db.updateTable('neighbourhoods').set({ last_activity_at: at }).where('id', '=', neighbourhoodId).execute();
}

export const listAll = (db: Database) => db.selectFrom('neighbourhoods').selectAll().orderBy('id').execute();

/** What we know of a neighbourhood on another server from its Group actor. */
export interface RemoteNeighbourhoodFields {
  apId: string;
  handle: string;
  name: string;
  description: string;
  placeName: string;
  latitude: number | null;
  longitude: number | null;
  radiusMetres: number | null;
  /** Its followers' count where the group publishes one; left as it was otherwise. */
  memberCount: number | null;
}

/** A neighbourhood on another server, as members here follow or look it up: named `name@host`, kept current. */
export function upsertRemote(db: Database, values: RemoteNeighbourhoodFields) {
  const fields = {
    name: values.name,
    name_key: values.name.toLowerCase(),
    description: values.description,
    place_name: values.placeName,
    latitude: values.latitude,
    longitude: values.longitude,
    radius_metres: values.radiusMetres,
    ...(values.memberCount !== null && { member_count: values.memberCount }),
  };
  return db
    .insertInto('neighbourhoods')
    .values({ ap_id: values.apId, handle: values.handle, handle_key: values.handle.toLowerCase(), member_count: 0, ...fields, created_by: null })
    .onConflict((oc) => oc.column('ap_id').doUpdateSet(fields))
    .returningAll()
    .executeTakeFirstOrThrow();
}

export function findByApId(db: Database, apId: string) {
  return db.selectFrom('neighbourhoods').selectAll().where('ap_id', '=', apId).executeTakeFirst();
}
