// Every SQL statement about actors on other servers and about those servers' reachability.
import { type Insertable, type Selectable, sql } from 'kysely';
import type { Database, RemoteActorsTable } from '../database.ts';

export type RemoteActorRow = Selectable<RemoteActorsTable>;
export type RemoteActorFields = Omit<Insertable<RemoteActorsTable>, 'id' | 'fetched_at'>;

export function upsertActor(db: Database, fields: RemoteActorFields) {
  const { uri: _, ...changes } = fields;
  return db
    .insertInto('remote_actors')
    .values(fields)
    .onConflict((oc) => oc.column('uri').doUpdateSet({ ...changes, fetched_at: sql<Date>`now()` }))
    .returningAll()
    .executeTakeFirstOrThrow();
}

export const findByUri = (db: Database, uri: string) => db.selectFrom('remote_actors').selectAll().where('uri', '=', uri).executeTakeFirst();

export const findByHandle = (db: Database, handle: string) =>
  db.selectFrom('remote_actors').selectAll().where(sql<string>`lower(handle)`, '=', handle.toLowerCase()).executeTakeFirst();

export async function markServerUnreachable(db: Database, host: string) {
  await db
    .insertInto('remote_servers')
    .values({ host, last_failure_at: sql<Date>`now()`, unreachable_since: sql<Date>`now()`, last_success_at: null })
    .onConflict((oc) =>
      oc.column('host').doUpdateSet({ last_failure_at: sql<Date>`now()`, unreachable_since: sql<Date>`coalesce(remote_servers.unreachable_since, now())` }),
    )
    .execute();
}

export async function markServerReachable(db: Database, host: string) {
  await db
    .insertInto('remote_servers')
    .values({ host, last_success_at: sql<Date>`now()`, unreachable_since: null, last_failure_at: null })
    .onConflict((oc) => oc.column('host').doUpdateSet({ last_success_at: sql<Date>`now()`, unreachable_since: null }))
    .execute();
}

export const findServer = (db: Database, host: string) => db.selectFrom('remote_servers').selectAll().where('host', '=', host).executeTakeFirst();

export const findById = (db: Database, id: number) => db.selectFrom('remote_actors').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
