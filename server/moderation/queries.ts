// Every SQL statement about moderation: removals, locks, pins, bans, moderator roles and the log.
import { type Insertable, sql } from 'kysely';
import type { Database, ModerationLogTable, ReportsTable } from '../database.ts';

/** A thread whatever its state, so a moderator can restore one that is hidden from everyone else. */
export function findThreadState(db: Database, id: number) {
  return db
    .selectFrom('threads')
    .select(['id', 'neighbourhood_id', 'author_id', 'deleted_at', 'removed_at', 'locked_at', 'pinned_at'])
    .where('id', '=', id)
    .executeTakeFirst();
}

export function findReplyState(db: Database, id: number) {
  return db
    .selectFrom('replies')
    .innerJoin('threads', 'threads.id', 'replies.thread_id')
    .select(['replies.id', 'replies.thread_id', 'replies.author_id', 'replies.deleted_at', 'replies.removed_at', 'threads.neighbourhood_id'])
    .where('replies.id', '=', id)
    .executeTakeFirst();
}

/** Hides a thread as removed; false when it was already gone. */
export async function markThreadRemoved(db: Database, id: number) {
  const now = new Date();
  const result = await db.updateTable('threads').set({ deleted_at: now, removed_at: now }).where('id', '=', id).where('deleted_at', 'is', null).executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

/** Brings back a removed thread; an author's own deletion is never undone. */
export async function markThreadRestored(db: Database, id: number) {
  const result = await db.updateTable('threads').set({ deleted_at: null, removed_at: null }).where('id', '=', id).where('removed_at', 'is not', null).executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

export function setThreadFlag(db: Database, id: number, flag: 'locked_at' | 'pinned_at', on: boolean) {
  return db.updateTable('threads').set({ [flag]: on ? new Date() : null }).where('id', '=', id).execute();
}

/** Removes replies (keeping their text for a restore) and keeps each thread's reply count in step. */
export function markRepliesRemoved(db: Database, filter: { replyId: number } | { authorId: number; neighbourhoodId: number }) {
  return db.transaction().execute(async (trx) => {
    const now = new Date();
    const removed = await trx
      .updateTable('replies')
      .set({ deleted_at: now, removed_at: now })
      .where('deleted_at', 'is', null)
      .$if('replyId' in filter, (qb) => qb.where('id', '=', (filter as { replyId: number }).replyId))
      .$if('authorId' in filter, (qb) => {
        const { authorId, neighbourhoodId } = filter as { authorId: number; neighbourhoodId: number };
        return qb
          .where('author_id', '=', authorId)
          .where('thread_id', 'in', (eb) => eb.selectFrom('threads').select('id').where('neighbourhood_id', '=', neighbourhoodId));
      })
      .returning('thread_id')
      .execute();
    for (const { thread_id } of removed) {
      await trx.updateTable('threads').set((eb) => ({ reply_count: eb('reply_count', '-', 1) })).where('id', '=', thread_id).execute();
    }
    return removed.length;
  });
}

export function markReplyRestored(db: Database, reply: { id: number; thread_id: number }) {
  return db.transaction().execute(async (trx) => {
    const restored = await trx
      .updateTable('replies')
      .set({ deleted_at: null, removed_at: null })
      .where('id', '=', reply.id)
      .where('removed_at', 'is not', null)
      .executeTakeFirst();
    if (restored.numUpdatedRows === 0n) return false;
    await trx.updateTable('threads').set((eb) => ({ reply_count: eb('reply_count', '+', 1) })).where('id', '=', reply.thread_id).execute();
    return true;
  });
}

export async function markThreadsOfAuthorRemoved(db: Database, authorId: number, neighbourhoodId: number) {
  const now = new Date();
  return db
    .updateTable('threads')
    .set({ deleted_at: now, removed_at: now })
    .where('author_id', '=', authorId)
    .where('neighbourhood_id', '=', neighbourhoodId)
    .where('deleted_at', 'is', null)
    .returning('id')
    .execute();
}

export function upsertBan(db: Database, ban: { neighbourhoodId: number; memberId: number; bannedBy: number | null; reason: string; expiresAt: Date | null }) {
  const values = { banned_by: ban.bannedBy, reason: ban.reason, expires_at: ban.expiresAt, created_at: new Date() };
  return db
    .insertInto('neighbourhood_bans')
    .values({ neighbourhood_id: ban.neighbourhoodId, member_id: ban.memberId, ...values })
    .onConflict((oc) => oc.columns(['neighbourhood_id', 'member_id']).doUpdateSet(values))
    .execute();
}

export async function deleteBan(db: Database, neighbourhoodId: number, memberId: number) {
  const result = await db.deleteFrom('neighbourhood_bans').where('neighbourhood_id', '=', neighbourhoodId).where('member_id', '=', memberId).executeTakeFirst();
  return result.numDeletedRows > 0n;
}

/** The ban in force on a member in a neighbourhood, if any; an expired ban no longer counts. */
export function activeBan(db: Database, neighbourhoodId: number, memberId: number) {
  return db
    .selectFrom('neighbourhood_bans')
    .select(['reason', 'expires_at'])
    .where('neighbourhood_id', '=', neighbourhoodId)
    .where('member_id', '=', memberId)
    .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', sql<Date>`now()`)]))
    .executeTakeFirst();
}

export function activeBans(db: Database, neighbourhoodId: number) {
  return db
    .selectFrom('neighbourhood_bans')
    .innerJoin('members', 'members.id', 'neighbourhood_bans.member_id')
    .leftJoin('members as moderator', 'moderator.id', 'neighbourhood_bans.banned_by')
    .select(['members.username', 'moderator.username as banned_by', 'neighbourhood_bans.reason', 'neighbourhood_bans.expires_at', 'neighbourhood_bans.created_at'])
    .where('neighbourhood_bans.neighbourhood_id', '=', neighbourhoodId)
    .where((eb) => eb.or([eb('neighbourhood_bans.expires_at', 'is', null), eb('neighbourhood_bans.expires_at', '>', sql<Date>`now()`)]))
    .orderBy('neighbourhood_bans.created_at', 'desc')
    .execute();
}

export async function setMembershipRole(db: Database, neighbourhoodId: number, memberId: number, role: 'member' | 'moderator') {
  const result = await db
    .updateTable('memberships')
    .set({ role })
    .where('neighbourhood_id', '=', neighbourhoodId)
    .where('member_id', '=', memberId)
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

/** Ends a remote member's moderator membership (they only belong as moderators); false when they were none. */
export async function deleteModeratorMembership(db: Database, neighbourhoodId: number, memberId: number) {
  const result = await db
    .deleteFrom('memberships')
    .where('neighbourhood_id', '=', neighbourhoodId)
    .where('member_id', '=', memberId)
    .where('role', '=', 'moderator')
    .executeTakeFirst();
  if (result.numDeletedRows === 0n) return false;
  await db.updateTable('neighbourhoods').set((eb) => ({ member_count: eb('member_count', '-', 1) })).where('id', '=', neighbourhoodId).execute();
  return true;
}

export function insertLogEntry(db: Database, entry: Insertable<ModerationLogTable>) {
  return db.insertInto('moderation_log').values(entry).execute();
}

/** One log entry with the ids other servers know its parts by: ActivityPub ids of remote rows, names of ours. */
export function logEntryForFederation(db: Database, id: number) {
  return db
    .selectFrom('moderation_log')
    .innerJoin('neighbourhoods', 'neighbourhoods.id', 'moderation_log.neighbourhood_id')
    .leftJoin('members as moderator', 'moderator.id', 'moderation_log.moderator_id')
    .leftJoin('members as subject', 'subject.id', 'moderation_log.member_id')
    .leftJoin('threads', 'threads.id', 'moderation_log.thread_id')
    .leftJoin('replies', 'replies.id', 'moderation_log.reply_id')
    .select([
      'moderation_log.id', 'moderation_log.action', 'moderation_log.thread_id', 'moderation_log.reply_id', 'moderation_log.reason',
      'moderation_log.expires_at', 'moderation_log.removed_content', 'moderation_log.created_at',
      'neighbourhoods.handle as neighbourhood_handle', 'neighbourhoods.ap_id as neighbourhood_ap_id',
      'moderator.username as moderator_username', 'moderator.ap_id as moderator_ap_id',
      'subject.username as member_username', 'subject.ap_id as member_ap_id',
      'threads.ap_id as thread_ap_id', 'replies.ap_id as reply_ap_id',
    ])
    .where('moderation_log.id', '=', id)
    .executeTakeFirst();
}

/** Log entries newest first: one neighbourhood's, or (neighbourhoodId undefined) the whole instance's. */
export function logEntries(db: Database, filter: { neighbourhoodId?: number; limit: number; beforeId?: number }) {
  return db
    .selectFrom('moderation_log')
    .leftJoin('members as moderator', 'moderator.id', 'moderation_log.moderator_id')
    .leftJoin('members as subject', 'subject.id', 'moderation_log.member_id')
    .leftJoin('neighbourhoods', 'neighbourhoods.id', 'moderation_log.neighbourhood_id')
    .select([
      'moderation_log.id', 'moderation_log.action', 'moderation_log.thread_id', 'moderation_log.reply_id', 'moderation_log.reason',
      'moderation_log.created_at', 'moderator.username as moderator', 'subject.username as member', 'neighbourhoods.handle as neighbourhood',
    ])
    .$if(filter.neighbourhoodId !== undefined, (qb) => qb.where('moderation_log.neighbourhood_id', '=', filter.neighbourhoodId!))
    .$if(filter.beforeId !== undefined, (qb) => qb.where('moderation_log.id', '<', filter.beforeId!))
    .orderBy('moderation_log.id', 'desc')
    .limit(filter.limit)
    .execute();
}

/** A member asks to join a members-only neighbourhood; asking twice keeps the first request. */
export function insertJoinRequest(db: Database, neighbourhoodId: number, memberId: number) {
  return db
    .insertInto('join_requests')
    .values({ neighbourhood_id: neighbourhoodId, member_id: memberId })
    .onConflict((oc) => oc.columns(['neighbourhood_id', 'member_id']).doNothing())
    .execute();
}

export async function deleteJoinRequest(db: Database, neighbourhoodId: number, memberId: number) {
  const result = await db.deleteFrom('join_requests').where('neighbourhood_id', '=', neighbourhoodId).where('member_id', '=', memberId).executeTakeFirst();
  return result.numDeletedRows > 0n;
}

export function joinRequests(db: Database, neighbourhoodId: number) {
  return db
    .selectFrom('join_requests')
    .innerJoin('members', 'members.id', 'join_requests.member_id')
    .select(['members.username', 'members.display_name', 'join_requests.created_at'])
    .where('join_requests.neighbourhood_id', '=', neighbourhoodId)
    .orderBy('join_requests.created_at')
    .execute();
}

export function setVisibility(db: Database, neighbourhoodId: number, visibility: 'public' | 'members') {
  // Members-only also means a moderator admits remote followers, through the federation core's admission.
  return db
    .updateTable('neighbourhoods')
    .set({ visibility, ...(visibility === 'members' && { admission: 'approval' as const }) })
    .where('id', '=', neighbourhoodId)
    .execute();
}

export function insertReport(db: Database, report: Insertable<ReportsTable>) {
  return db.insertInto('reports').values(report).returning('id').executeTakeFirstOrThrow();
}

function reportsWithNames(db: Database) {
  return db
    .selectFrom('reports')
    .leftJoin('members as reporter', 'reporter.id', 'reports.reporter_id')
    .leftJoin('members as subject', 'subject.id', 'reports.member_id')
    .leftJoin('neighbourhoods', 'neighbourhoods.id', 'reports.neighbourhood_id')
    .selectAll('reports')
    .select([
      'reporter.username as reporter', 'reporter.ap_id as reporter_ap_id', 'subject.username as member', 'subject.ap_id as member_ap_id',
      'neighbourhoods.handle as neighbourhood', 'neighbourhoods.ap_id as neighbourhood_ap_id',
    ]);
}

export function findReport(db: Database, id: number) {
  return reportsWithNames(db).where('reports.id', '=', id).executeTakeFirst();
}

/** Open reports a member may handle: every one for instance staff, else those in neighbourhoods they moderate. */
export function openReports(db: Database, moderator: { id: number; staff: boolean }, neighbourhoodId?: number) {
  return reportsWithNames(db)
    .where('reports.status', '=', 'open')
    .$if(!moderator.staff, (qb) =>
      qb.where('reports.neighbourhood_id', 'in', (eb) =>
        eb.selectFrom('memberships').select('neighbourhood_id').where('member_id', '=', moderator.id).where('role', '=', 'moderator')))
    .$if(neighbourhoodId !== undefined, (qb) => qb.where('reports.neighbourhood_id', '=', neighbourhoodId!))
    .orderBy('reports.id')
    .limit(200)
    .execute();
}

export function reportsBy(db: Database, reporterId: number) {
  return reportsWithNames(db).where('reports.reporter_id', '=', reporterId).orderBy('reports.id', 'desc').limit(100).execute();
}

export function setReportApId(db: Database, id: number, apId: string) {
  return db.updateTable('reports').set({ ap_id: apId }).where('id', '=', id).execute();
}

export function openReportsByApId(db: Database, apId: string) {
  return reportsWithNames(db).where('reports.ap_id', '=', apId).where('reports.status', '=', 'open').execute();
}

/** Closes an open report; `moderatorId` null when the server that holds it closed it. */
export async function closeReport(db: Database, id: number, status: 'resolved' | 'dismissed', moderatorId: number | null) {
  const result = await db
    .updateTable('reports')
    .set({ status, resolved_by: moderatorId, resolved_at: new Date() })
    .where('id', '=', id)
    .where('status', '=', 'open')
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}
