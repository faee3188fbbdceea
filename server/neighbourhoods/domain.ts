// Neighbourhoods: creating and describing them, who belongs, who moderates, and finding them.
import type { Viewer } from '../accounts/domain.ts';
import type { Database } from '../database.ts';
import { badRequest, conflict, forbidden, notFound } from '../errors.ts';
import type { Cursor } from '../http.ts';
import { mayRead } from '../feeds/visibility.ts';
import { activeBan, insertJoinRequest } from '../moderation/queries.ts';
import * as q from './queries.ts';

export type Neighbourhood = q.NeighbourhoodRow;
export type { Locality, NeighbourhoodFields } from './queries.ts';

const handlePattern = /^[A-Za-z0-9][A-Za-z0-9_-]{1,39}$/;

export function checkFields(fields: q.NeighbourhoodFields): q.NeighbourhoodFields {
  const name = fields.name.trim();
  if (!name) throw badRequest('A neighbourhood needs a name.', 'invalid_name');
  const placeName = fields.locality.placeName.trim();
  if (!placeName) throw badRequest('A neighbourhood needs a place name.', 'invalid_locality');
  const { latitude, longitude, radiusMetres } = fields.locality;
  if ((latitude === null) !== (longitude === null)) {
    throw badRequest('Give both latitude and longitude, or neither.', 'invalid_locality');
  }
  if (radiusMetres !== null && latitude === null) throw badRequest('A radius needs a centre point.', 'invalid_locality');
  return { ...fields, name, locality: { placeName, latitude, longitude, radiusMetres } };
}

export async function createNeighbourhood(db: Database, creator: Pick<Viewer, 'id'>, handle: string, fields: q.NeighbourhoodFields) {
  if (!handlePattern.test(handle)) {
    throw badRequest('A handle is 2 to 40 letters, digits, hyphens or underscores, starting with a letter or digit.', 'invalid_handle');
  }
  const row = await q.insertNeighbourhood(db, handle, checkFields(fields), creator.id);
  if (!row) throw conflict(`The handle "${handle}" is taken.`, 'handle_taken');
  return row;
}

export async function neighbourhoodByHandle(db: Database, handle: string): Promise<Neighbourhood> {
  const row = await q.findByHandle(db, handle);
  if (!row) throw notFound('That neighbourhood');
  return row;
}

export async function neighbourhoodById(db: Database, id: number): Promise<Neighbourhood> {
  const row = await q.findById(db, id);
  if (!row) throw notFound('That neighbourhood');
  return row;
}

export async function roleIn(db: Database, neighbourhood: Pick<Neighbourhood, 'id'>, viewer: Viewer | null) {
  if (!viewer) return null;
  return (await q.roleOf(db, neighbourhood.id, viewer.id).executeTakeFirst())?.role ?? null;
}

export async function requireModerator(db: Database, neighbourhood: Neighbourhood, viewer: Viewer): Promise<void> {
  if (viewer.role === 'admin') return;
  if ((await roleIn(db, neighbourhood, viewer)) !== 'moderator') {
    throw forbidden('Only this neighbourhood\u2019s moderators can do that.', 'not_a_moderator');
  }
}

/** Refuses (as not found, so it does not confirm the thread exists) a reader of a members-only neighbourhood who is not a member. */
export async function requireReader(db: Database, neighbourhood: { id: number; visibility: 'public' | 'members' }, viewer: Viewer | null, what: string): Promise<void> {
  if (!(await mayRead(db, neighbourhood, viewer?.id ?? null))) throw notFound(what);
}

export async function requireMember(db: Database, neighbourhood: Neighbourhood, viewer: Viewer): Promise<void> {
  if (!(await roleIn(db, neighbourhood, viewer))) {
    throw forbidden(`Join ${neighbourhood.name} to post there.`, 'not_a_member');
  }
}

export async function updateNeighbourhood(db: Database, viewer: Viewer, handle: string, changes: Partial<q.NeighbourhoodFields>) {
  const current = await neighbourhoodByHandle(db, handle);
  await requireModerator(db, current, viewer);
  const fields = checkFields({
    name: changes.name ?? current.name,
    description: changes.description ?? current.description,
    rules: changes.rules ?? current.rules,
    locality: changes.locality ?? {
      placeName: current.place_name,
      latitude: current.latitude,
      longitude: current.longitude,
      radiusMetres: current.radius_metres,
    },
  });
  return q.updateNeighbourhood(db, current.id, fields);
}

export async function requireNotBanned(db: Database, neighbourhood: Neighbourhood, viewer: Pick<Viewer, 'id'>): Promise<void> {
  const ban = await activeBan(db, neighbourhood.id, viewer.id);
  if (ban) {
    const until = ban.expires_at ? ` until ${ban.expires_at.toISOString()}` : '';
    throw forbidden(`You are banned from ${neighbourhood.name}${until}.`, 'banned');
  }
}

export async function join(db: Database, viewer: Viewer, handle: string) {
  const neighbourhood = await neighbourhoodByHandle(db, handle);
  await requireNotBanned(db, neighbourhood, viewer);
  // A members-only neighbourhood takes a moderator's approval: the request waits for them.
  if (neighbourhood.visibility === 'members' && !(await roleIn(db, neighbourhood, viewer))) {
    await insertJoinRequest(db, neighbourhood.id, viewer.id);
    return neighbourhood;
  }
  await q.insertMembership(db, neighbourhood.id, viewer.id);
  return neighbourhoodByHandle(db, handle);
}

export async function leave(db: Database, viewer: Viewer, handle: string) {
  const neighbourhood = await neighbourhoodByHandle(db, handle);
  if ((await roleIn(db, neighbourhood, viewer)) === 'moderator' && (await q.countModerators(db, neighbourhood.id)).n <= 1) {
    throw conflict('You are its only moderator: hand the role to someone else before leaving.', 'last_moderator');
  }
  await q.deleteMembership(db, neighbourhood.id, viewer.id);
  return neighbourhoodByHandle(db, handle);
}

export const moderatorsOf = q.moderatorsOf;
export const removeMembership = q.deleteMembership;
export const addMembership = q.insertMembership;
export const touchActivity = q.touchActivity;
export const listAll = q.listAll;

export async function findNeighbourhoods(db: Database, filter: Omit<q.ListFilter, 'after'> & { after?: Cursor }) {
  if (filter.after && typeof filter.after.sort !== (filter.near ? 'number' : 'string')) {
    throw badRequest('That cursor belongs to a different listing.', 'invalid_cursor');
  }
  const rows = await q.listNeighbourhoods(db, filter);
  const last = rows.length === filter.limit ? rows[rows.length - 1] : undefined;
  const next: Cursor | undefined = last && {
    sort: filter.near ? last.distance! : last.last_activity_at.toISOString(),
    id: last.id,
  };
  return { rows, next };
}

/** A neighbourhood on another server that members here follow, by its ActivityPub id; undefined if unknown. */
export const neighbourhoodByApId = q.findByApId;

export function rememberRemoteNeighbourhood(db: Database, group: q.RemoteNeighbourhoodFields) {
  return q.upsertRemote(db, { ...group, name: group.name.slice(0, 200) || group.handle, description: group.description.slice(0, 5000), placeName: group.placeName.slice(0, 200) });
}
