// Blocking whole servers: the instance's staff decide, the federation core obeys (no activity taken in
// from a suspended server, none sent to it; a silenced one's posts and follows wait for approval).
// Lists travel as CSV in Mastodon's format.
import type { Viewer } from '../accounts/domain.ts';
import { type Database, type DomainBlocksTable, listen } from '../database.ts';
import { badRequest, forbidden, notFound } from '../errors.ts';
import * as q from './queries.ts';

export type DomainBlock = Awaited<ReturnType<typeof q.listBlocks>>[number];
type Severity = DomainBlocksTable['severity'];
const severities: readonly Severity[] = ['silence', 'suspend', 'noop'];

function requireStaff(viewer: Viewer) {
  if (viewer.role !== 'admin' && viewer.role !== 'moderator') throw forbidden('Only the instance\u2019s admins and moderators can do that.', 'not_staff');
}

/** A host name as blocks store it: lower case, no port, no trailing dot. */
export function normaliseDomain(text: string): string {
  const domain = text.trim().toLowerCase().replace(/\.$/, '');
  if (!/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/.test(domain) || domain.length > 253) {
    throw badRequest(`"${text.slice(0, 100)}" is not a domain name.`, 'invalid_domain');
  }
  return domain;
}

export interface BlockInput {
  domain: string;
  severity: Severity;
  rejectMedia?: boolean;
  rejectReports?: boolean;
  publicComment?: string;
  obfuscate?: boolean;
}

const toRow = (b: BlockInput) => ({
  domain: normaliseDomain(b.domain),
  severity: b.severity,
  reject_media: !!b.rejectMedia,
  reject_reports: !!b.rejectReports,
  public_comment: (b.publicComment ?? '').slice(0, 1000),
  obfuscate: !!b.obfuscate,
});

export async function blockDomain(db: Database, staff: Viewer, input: BlockInput) {
  requireStaff(staff);
  const row = toRow(input);
  await q.upsertBlock(db, row);
  forgetPolicy(db);
  if (row.severity === 'suspend') await q.severFollows(db, row.domain);
  return row;
}

export async function unblockDomain(db: Database, staff: Viewer, domain: string) {
  requireStaff(staff);
  const deleted = await q.deleteBlock(db, normaliseDomain(domain));
  forgetPolicy(db);
  if (!deleted) throw notFound('That domain block');
}

export async function domainBlocks(db: Database, staff: Viewer) {
  requireStaff(staff);
  return q.listBlocks(db);
}

/**
 * Whether nothing may come from or go to this host: the check the federation core makes. In allowlist
 * mode (`limited`) a host must be on the allowlist as well as not blocked.
 */
export async function isBlockedHost(db: Database, host: string, limited = false): Promise<boolean> {
  const hostname = bareHost(host);
  if (limited) {
    const lists = await rememberedLists(db);
    const allowed = lists ? q.coveringDomains(hostname).some((domain) => lists.allows.has(domain)) : await q.allowCovering(db, hostname);
    if (!allowed) return true;
  }
  return (await severityCovering(db, hostname)) === 'suspend';
}

/** The severity of the block covering a host, from the lists in memory when this process keeps them. */
async function severityCovering(db: Database, hostname: string): Promise<Severity | undefined> {
  const lists = await rememberedLists(db);
  // Most specific first, as in blockCovering.
  if (lists) return q.coveringDomains(hostname).map((domain) => lists.blocks.get(domain)).find(Boolean);
  return (await q.blockCovering(db, hostname))?.severity;
}

/**
 * The inbox asks about the server of every activity, and every sending job which servers to leave out,
 * while the lists change only when staff change them. A process that watches for changes (a trigger
 * notifies `square_mile_domain_policy`, whoever writes) keeps both lists in memory, reads them again after
 * any change, and stops relying on them while its listening connection is down (it could miss a change).
 */
type PolicyLists = Promise<{ blocks: Map<string, Severity>; allows: Set<string> }>;
interface WatchedPolicy {
  live: boolean;
  lists: PolicyLists | null;
}
const watched = new WeakMap<Database, WatchedPolicy>();

function loadPolicy(db: Database, policy: WatchedPolicy): PolicyLists {
  const lists = q.domainPolicy(db).then(({ blocks, allows }) => ({
    blocks: new Map(blocks.map((block) => [block.domain, block.severity])),
    allows: new Set(allows.map((allow) => allow.domain)),
  }));
  // A failed read is not kept: the next check tries again.
  lists.catch(() => {
    if (policy.lists === lists) policy.lists = null;
  });
  return lists;
}

/** The lists as this process keeps them, or null when it does not (not watching, or not hearing changes). */
function rememberedLists(db: Database) {
  const policy = watched.get(db);
  return policy?.live ? (policy.lists ??= loadPolicy(db, policy)) : null;
}

/** This process's own changes are seen at once, before their notification comes back. */
const forgetPolicy = (db: Database) => {
  const policy = watched.get(db);
  if (policy) policy.lists = null;
};

/** Starts keeping the lists in memory for `db`; the returned function stops it. */
export async function watchDomainPolicy(db: Database): Promise<() => Promise<void>> {
  const policy: WatchedPolicy = { live: true, lists: null };
  const stop = await listen(db, 'square_mile_domain_policy', () => {
    policy.lists = null;
  }, () => {
    policy.live = false;
    policy.lists = null;
  }, () => {
    policy.live = true;
    policy.lists = null;
  });
  watched.set(db, policy);
  return async () => {
    watched.delete(db);
    await stop();
  };
}

const bareHost = (host: string) => host.replace(/:\d+$/, '').replace(/^\[|\]$/g, '').toLowerCase();

/**
 * Whether a server is silenced (Mastodon's "limit"): its activities still arrive, but its posts wait for a
 * neighbourhood moderator's approval and its follows of neighbourhoods for a moderator's answer.
 */
export async function isSilencedHost(db: Database, host: string): Promise<boolean> {
  return (await severityCovering(db, bareHost(host))) === 'silence';
}

/** Whether staff chose to reject reports (`Flag`s) from this server, whatever else its block says. */
export const rejectsReportsFrom = (db: Database, host: string) => q.rejectsReports(db, bareHost(host));

export async function allowDomain(db: Database, staff: Viewer, domain: string) {
  requireStaff(staff);
  await q.insertAllow(db, normaliseDomain(domain));
  forgetPolicy(db);
}

export async function disallowDomain(db: Database, staff: Viewer, domain: string) {
  requireStaff(staff);
  const deleted = await q.deleteAllow(db, normaliseDomain(domain));
  forgetPolicy(db);
  if (!deleted) throw notFound('That allowed domain');
}

export async function domainAllows(db: Database, staff: Viewer) {
  requireStaff(staff);
  return q.listAllows(db);
}

const csvHeader = '#domain,#severity,#reject_media,#reject_reports,#public_comment,#obfuscate';

function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

export async function exportCsv(db: Database, staff: Viewer): Promise<string> {
  const rows = await domainBlocks(db, staff);
  return [csvHeader, ...rows.map((r) => [r.domain, r.severity, String(r.reject_media), String(r.reject_reports), csvField(r.public_comment), String(r.obfuscate)].join(','))].join('\n') + '\n';
}

/** Splits CSV text into rows of fields (RFC 4180 quoting). */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { field += '"'; i++; }
      else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') { row.push(field); field = ''; }
    else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(field); field = '';
      if (row.some((f) => f !== '')) rows.push(row);
      row = [];
    } else field += c;
  }
  row.push(field);
  if (row.some((f) => f !== '')) rows.push(row);
  return rows;
}

/**
 * Imports Mastodon's domain block CSV (with its `#domain,#severity,...` header, or the older bare list of
 * domains). Every row is checked before any is stored; returns how many were imported.
 */
export async function importCsv(db: Database, staff: Viewer, text: string): Promise<number> {
  requireStaff(staff);
  const rows = parseCsv(text);
  const header = rows[0]?.[0]?.startsWith('#') ? rows.shift()!.map((h) => h.replace(/^#/, '').trim()) : ['domain'];
  const column = (name: string) => header.indexOf(name);
  if (column('domain') < 0) throw badRequest('The CSV needs a #domain column.', 'invalid_csv');
  const flag = (row: string[], name: string) => column(name) >= 0 && row[column(name)]?.trim().toLowerCase() === 'true';
  const blocks = rows.map((row, i): BlockInput => {
    const severity = (column('severity') >= 0 ? row[column('severity')]?.trim() : '') || 'suspend';
    if (!severities.includes(severity as Severity)) throw badRequest(`Row ${i + 1}: "${severity.slice(0, 20)}" is not a severity.`, 'invalid_csv');
    return {
      domain: row[column('domain')] ?? '',
      severity: severity as Severity,
      rejectMedia: flag(row, 'reject_media'),
      rejectReports: flag(row, 'reject_reports'),
      publicComment: column('public_comment') >= 0 ? row[column('public_comment')] ?? '' : '',
      obfuscate: flag(row, 'obfuscate'),
    };
  });
  const checked = blocks.map(toRow);
  for (const block of checked) await blockDomain(db, staff, { domain: block.domain, severity: block.severity, rejectMedia: block.reject_media, rejectReports: block.reject_reports, publicComment: block.public_comment, obfuscate: block.obfuscate });
  return checked.length;
}

/** Origins deliveries must skip: those of every known inbox on a blocked server. */
export async function undeliverableOrigins(db: Database, limited = false): Promise<URL[]> {
  // With no server suspended, and none left out by an allowlist, there is nothing to look up.
  const lists = await rememberedLists(db);
  if (lists && !limited && ![...lists.blocks.values()].includes('suspend')) return [];
  const origins = new Set<string>();
  const rows = [...(await q.inboxesOnBlockedServers(db)), ...(limited ? await q.inboxesOffAllowlist(db) : [])];
  for (const row of rows) {
    for (const url of [row.inbox, row.shared_inbox]) if (url && URL.canParse(url)) origins.add(new URL(url).origin);
  }
  return [...origins].map((origin) => new URL(origin));
}
