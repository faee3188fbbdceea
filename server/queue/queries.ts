// Every SQL statement about the federation job queue and its key–value rows.
import { sql } from 'kysely';
import type { Database } from '../database.ts';

const live = sql<boolean>`(expires_at is null or expires_at > now())`;
const after = (ms: number) => sql<Date>`now() + ${ms} * interval '1 millisecond'`;

/** The value, and how long the row has left (null: it never expires), counted by the database's clock. */
export async function getValue(db: Database, key: string): Promise<{ value: unknown; expires_in_ms: number | null } | undefined> {
  return db
    .selectFrom('federation_kv')
    .select(['value', sql<number | null>`(extract(epoch from expires_at - now()) * 1000)::float8`.as('expires_in_ms')])
    .where('key', '=', key)
    .where(live)
    .executeTakeFirst();
}

export async function setValue(db: Database, key: string, value: unknown, ttlMs: number | null): Promise<void> {
  const json = JSON.stringify(value);
  const expires = ttlMs === null ? null : after(ttlMs);
  await db
    .insertInto('federation_kv')
    .values({ key, value: sql`${json}::jsonb`, expires_at: expires })
    .onConflict((oc) => oc.column('key').doUpdateSet({ value: sql`${json}::jsonb`, expires_at: expires }))
    .execute();
}

export async function deleteValue(db: Database, key: string): Promise<void> {
  await db.deleteFrom('federation_kv').where('key', '=', key).execute();
}

/** Replaces the value only if it is still `expected` (undefined: absent); true when it did. */
export function compareAndSet(db: Database, key: string, expected: unknown, value: unknown, ttlMs: number | null): Promise<boolean> {
  return db.transaction().execute(async (trx) => {
    const row = await trx.selectFrom('federation_kv').select(['value']).where('key', '=', key).where(live).forUpdate().executeTakeFirst();
    const current = row ? JSON.stringify(row.value) : undefined;
    const wanted = expected === undefined ? undefined : JSON.stringify(expected);
    // jsonb normalises key order, so both sides go through it before comparing.
    const normalised = wanted === undefined ? undefined : JSON.stringify((await sql<{ v: unknown }>`select ${wanted}::jsonb as v`.execute(trx)).rows[0]!.v);
    if (current !== normalised) return false;
    // Swapping in `undefined` removes the key (Fedify clears circuit state this way).
    if (value === undefined) await deleteValue(trx, key);
    else await setValue(trx, key, value, ttlMs);
    return true;
  });
}

export function listValues(db: Database, exact: string, prefix: string) {
  const escaped = prefix.replace(/[\\%_]/g, (c) => `\\${c}`);
  return db
    .selectFrom('federation_kv')
    .select(['key', 'value'])
    .where((eb) => eb.or([eb('key', '=', exact), eb('key', 'like', `${escaped}%`)]))
    .where(live)
    .orderBy('key')
    .execute();
}

export async function deleteExpiredValues(db: Database): Promise<void> {
  await db.deleteFrom('federation_kv').where('expires_at', '<=', sql<Date>`now()`).execute();
}

export async function insertJobs(db: Database, messages: readonly unknown[], delayMs: number, orderingKey: string | null): Promise<void> {
  if (!messages.length) return;
  await db
    .insertInto('federation_jobs')
    .values(messages.map((message) => ({ message: sql`${JSON.stringify(message)}::jsonb`, ordering_key: orderingKey, run_at: after(delayMs) })))
    .execute();
}

/**
 * Takes up to `count` due jobs for `leaseMs`, oldest first. SKIP LOCKED lets several processes claim at once
 * without taking the same row; a job whose worker died becomes due again when its lease runs out. Only the
 * oldest job of an ordering key can be taken, so jobs sharing one run one at a time, in order.
 */
export async function claimJobs(db: Database, leaseMs: number, count: number): Promise<{ id: number; message: unknown }[]> {
  const result = await sql<{ id: number; message: unknown }>`
    update federation_jobs set locked_until = ${after(leaseMs)}
    where id in (
      select j.id from federation_jobs j
      where j.run_at <= now() and (j.locked_until is null or j.locked_until < now())
        and (j.ordering_key is null or not exists (
          select 1 from federation_jobs o where o.ordering_key = j.ordering_key and o.id < j.id))
      order by j.run_at, j.id
      limit ${count}
      for update skip locked
    )
    returning id, message`.execute(db);
  return result.rows;
}

/** Keeps a job claimed while its worker is still on it. */
export async function extendLease(db: Database, id: number, leaseMs: number): Promise<void> {
  await db.updateTable('federation_jobs').set({ locked_until: after(leaseMs) }).where('id', '=', id).execute();
}

export async function deleteJob(db: Database, id: number): Promise<void> {
  await db.deleteFrom('federation_jobs').where('id', '=', id).execute();
}

export async function jobCounts(db: Database) {
  return db
    .selectFrom('federation_jobs')
    .select((eb) => [
      eb.fn.countAll<number>().as('queued'),
      eb.fn.count<number>(sql`case when run_at <= now() then 1 end`).as('ready'),
    ])
    .executeTakeFirstOrThrow();
}
