// The SQL of the live bus: where the numbered log of live events stands, and what a listener missed.
import type { Database } from '../database.ts';

export async function latestEventId(db: Database): Promise<number> {
  const row = await db.selectFrom('live_events').select((eb) => eb.fn.max('id').as('id')).executeTakeFirst();
  return Number(row?.id ?? 0);
}

/** Events numbered above `afterId`, oldest first, as the NOTIFY payloads that announced them. */
export async function eventsAfter(db: Database, afterId: number, limit: number): Promise<string[]> {
  const rows = await db.selectFrom('live_events').select(['id', 'payload']).where('id', '>', afterId).orderBy('id').limit(limit).execute();
  return rows.map((row) => JSON.stringify({ ...row.payload, id: Number(row.id) }));
}
