// Every SQL statement about blocked servers.
import { type Insertable, sql } from 'kysely';
import type { Database, DomainBlocksTable } from '../database.ts';

export function listBlocks(db: Database) {
  return db.selectFrom('domain_blocks').selectAll().orderBy('domain').execute();
}

export function upsertBlock(db: Database, block: Insertable<DomainBlocksTable>) {
  const { domain: _domain, ...changes } = block;
  return db.insertInto('domain_blocks').values(block).onConflict((oc) => oc.column('domain').doUpdateSet(changes)).execute();
}

export async function deleteBlock(db: Database, domain: string) {
  const result = await db.deleteFrom('domain_blocks').where('domain', '=', domain).executeTakeFirst();
  return result.numDeletedRows > 0n;
}

/** The host itself and every domain it is under: a block on any of them covers it. */
export function coveringDomains(host: string): string[] {
  const parts = host.split('.');
  return parts.map((_, i) => parts.slice(i).join('.'));
}

/** The block that covers a host: on the host itself or on any domain it is under, the most specific first. */
export function blockCovering(db: Database, host: string) {
  return db
    .selectFrom('domain_blocks')
    .select(['domain', 'severity'])
    .where('domain', 'in', coveringDomains(host))
    .where('severity', '<>', 'noop')
    .orderBy(sql`length(domain)`, 'desc')
    .executeTakeFirst();
}

/** A suspended server's follows end, in both directions, as on Mastodon. */
export function severFollows(db: Database, domain: string) {
  return db
    .deleteFrom('remote_follows')
    .where('remote_actor_id', 'in', (eb) =>
      eb.selectFrom('remote_actors').select('id').where((w) => {
        const hostname = sql<string>`split_part(remote_actors.host, ':', 1)`;
        return w.or([w(hostname, '=', domain), w(hostname, 'like', `%.${domain}`)]);
      }))
    .execute();
}

/** The inbox URLs of every known actor on a suspended server, so deliveries can leave them out. */
export function inboxesOnBlockedServers(db: Database) {
  return db
    .selectFrom('remote_actors')
    .innerJoin('domain_blocks', (join) =>
      join.on((eb) => {
        const hostname = sql<string>`split_part(remote_actors.host, ':', 1)`;
        return eb.and([
          eb('domain_blocks.severity', '=', 'suspend'),
          eb.or([eb(hostname, '=', eb.ref('domain_blocks.domain')), eb(hostname, 'like', sql<string>`'%.' || domain_blocks.domain`)]),
        ]);
      }))
    .select(['remote_actors.inbox', 'remote_actors.shared_inbox'])
    .execute();
}

/** What the federation core checks, for a process to keep in memory: blocks that do something, and allows. */
export async function domainPolicy(db: Database) {
  const [blocks, allows] = await Promise.all([
    db.selectFrom('domain_blocks').select(['domain', 'severity']).where('severity', '<>', 'noop').execute(),
    db.selectFrom('domain_allows').select('domain').execute(),
  ]);
  return { blocks, allows };
}

export function listAllows(db: Database) {
  return db.selectFrom('domain_allows').selectAll().orderBy('domain').execute();
}

export function insertAllow(db: Database, domain: string) {
  return db.insertInto('domain_allows').values({ domain }).onConflict((oc) => oc.column('domain').doNothing()).execute();
}

export async function deleteAllow(db: Database, domain: string) {
  const result = await db.deleteFrom('domain_allows').where('domain', '=', domain).executeTakeFirst();
  return result.numDeletedRows > 0n;
}

/** An allow on the host itself or on any domain it is under. */
export function allowCovering(db: Database, host: string) {
  return db.selectFrom('domain_allows').select('domain').where('domain', 'in', coveringDomains(host)).executeTakeFirst();
}

/** In allowlist mode: the inbox URLs of every known actor on a server that is not allowed. */
export function inboxesOffAllowlist(db: Database) {
  const hostname = sql<string>`split_part(remote_actors.host, ':', 1)`;
  return db
    .selectFrom('remote_actors')
    .select(['remote_actors.inbox', 'remote_actors.shared_inbox'])
    .where(({ not, exists, selectFrom }) =>
      not(exists(selectFrom('domain_allows').select('domain_allows.domain').where((eb) =>
        eb.or([eb(hostname, '=', eb.ref('domain_allows.domain')), eb(hostname, 'like', sql<string>`'%.' || domain_allows.domain`)])))))
    .execute();
}

/** Whether a block covering the host, of any severity, says to reject its reports. */
export async function rejectsReports(db: Database, host: string): Promise<boolean> {
  const row = await db
    .selectFrom('domain_blocks')
    .select('domain')
    .where('domain', 'in', coveringDomains(host))
    .where('reject_reports', '=', true)
    .executeTakeFirst();
  return !!row;
}
