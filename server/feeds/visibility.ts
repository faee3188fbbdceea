// Who may read a neighbourhood's posts. Every feed, stream, directory entry, digest, page, API listing and
// Mastodon status asks here, so the rule for members-only neighbourhoods lives in this one file.
import type { Selectable } from 'kysely';
import type { Database, NeighbourhoodsTable } from '../database.ts';

/** A signed-in member's id, or null for anyone (public feeds, feed readers). */
export type Reader = number | null;

/** Whether `reader` may read the threads of one neighbourhood: anyone for a public one, members for the rest. */
export async function mayRead(db: Database, neighbourhood: Pick<Selectable<NeighbourhoodsTable>, 'id' | 'visibility'>, reader: Reader): Promise<boolean> {
  if (neighbourhood.visibility === 'public') return true;
  if (reader === null) return false;
  const membership = await db
    .selectFrom('memberships')
    .select('member_id')
    .where('neighbourhood_id', '=', neighbourhood.id)
    .where('member_id', '=', reader)
    .executeTakeFirst();
  return !!membership;
}

/** For queries: the ids of the neighbourhoods the reader may read, as a subquery. */
export function readableNeighbourhoods(db: Database, reader: Reader) {
  return db
    .selectFrom('neighbourhoods')
    .select('neighbourhoods.id')
    .where((eb) =>
      eb.or([
        eb('neighbourhoods.visibility', '=', 'public'),
        eb('neighbourhoods.id', 'in', eb.selectFrom('memberships').select('memberships.neighbourhood_id').where('memberships.member_id', '=', reader ?? -1)),
      ]),
    );
}
