// The directory: the neighbourhoods this instance knows, found by name or by distance from a point or a
// place name already in use, each with where it lives and how lively it is. Neighbourhoods on other servers
// that this one has seen (followed, looked up, or heard from) are rows in `neighbourhoods` too, with an actor id.
import type { Config } from '../config.ts';
import type { Database } from '../database.ts';
import { badRequest } from '../errors.ts';
import type { Cursor } from '../http.ts';
import * as neighbourhoods from '../neighbourhoods/domain.ts';
import * as q from './queries.ts';

export interface DirectoryFilter {
  search?: string;
  near?: { latitude: number; longitude: number } | { place: string };
  withinMetres?: number;
  limit: number;
  after?: Cursor;
}

const recentDays = 30;

export async function findInDirectory(db: Database, filter: DirectoryFilter) {
  let point: { latitude: number; longitude: number } | undefined;
  if (filter.near && 'place' in filter.near) {
    point = await q.placeCentre(db, filter.near.place.trim());
    if (!point) throw badRequest(`No neighbourhood here has a place called "${filter.near.place.trim()}" with a location.`, 'unknown_place');
  } else {
    point = filter.near;
  }
  const { rows, next } = await neighbourhoods.findNeighbourhoods(db, {
    search: filter.search,
    near: point && { ...point, withinMetres: filter.withinMetres },
    limit: filter.limit,
    after: filter.after,
  });
  const since = new Date(Date.now() - recentDays * 24 * 3600_000);
  const counts = await q.threadCountsSince(db, rows.map((row) => row.id), since);
  return { entries: rows.map((row) => ({ neighbourhood: row, threadsLast30Days: counts.get(row.id) ?? 0 })), next, centre: point };
}

export type DirectoryEntry = Awaited<ReturnType<typeof findInDirectory>>['entries'][number];

/** Where a neighbourhood lives: here, or on the server its Group actor is on. */
export function instanceOf(neighbourhood: Pick<neighbourhoods.Neighbourhood, 'ap_id'>, config: Pick<Config, 'domain'>) {
  return neighbourhood.ap_id ? { domain: new URL(neighbourhood.ap_id).host, local: false } : { domain: config.domain, local: true };
}

export async function entryFor(db: Database, neighbourhood: neighbourhoods.Neighbourhood): Promise<DirectoryEntry> {
  const since = new Date(Date.now() - recentDays * 24 * 3600_000);
  const counts = await q.threadCountsSince(db, [neighbourhood.id], since);
  return { neighbourhood: { ...neighbourhood, distance: null }, threadsLast30Days: counts.get(neighbourhood.id) ?? 0 };
}
