// Who may read a neighbourhood's posts. Every feed, stream, directory entry and digest asks here, so when
// moderation adds private neighbourhoods the rule is tightened in this one file and nothing leaks elsewhere.
import type { Database, NeighbourhoodsTable } from '../database.ts';
import type { Selectable } from 'kysely';

/** A signed-in member's id, or null for anyone (public feeds, feed readers). */
export type Reader = number | null;

/** For live events: the neighbourhood row is already loaded once per event, so this stays synchronous. */
export function mayRead(_neighbourhood: Selectable<NeighbourhoodsTable>, _reader: Reader): boolean {
  return true; // every neighbourhood is public today
}

/** For feed queries: the ids of the neighbourhoods the reader may read, as a subquery. */
export function readableNeighbourhoods(db: Database, _reader: Reader) {
  return db.selectFrom('neighbourhoods').select('neighbourhoods.id');
}
