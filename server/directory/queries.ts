// The SQL behind the directory: where a place name is, and how lively each neighbourhood has been lately.
import { sql } from 'kysely';
import type { Database } from '../database.ts';

/** The centre of the neighbourhoods that use this place name and have a point; undefined if none do. */
export async function placeCentre(db: Database, placeName: string) {
  const row = await db
    .selectFrom('neighbourhoods')
    .select([sql<number | null>`avg(latitude)`.as('latitude'), sql<number | null>`avg(longitude)`.as('longitude')])
    .where(sql`lower(place_name)`, '=', placeName.toLowerCase())
    .where('latitude', 'is not', null)
    .executeTakeFirst();
  return row && row.latitude !== null && row.longitude !== null ? { latitude: Number(row.latitude), longitude: Number(row.longitude) } : undefined;
}

export async function threadCountsSince(db: Database, neighbourhoodIds: number[], since: Date): Promise<Map<number, number>> {
  if (!neighbourhoodIds.length) return new Map();
  const rows = await db
    .selectFrom('threads')
    .select(['neighbourhood_id', (eb) => eb.fn.countAll<number>().as('n')])
    .where('neighbourhood_id', 'in', neighbourhoodIds)
    .where('deleted_at', 'is', null)
    .where('created_at', '>=', since)
    .groupBy('neighbourhood_id')
    .execute();
  return new Map(rows.map((row) => [row.neighbourhood_id, Number(row.n)]));
}
