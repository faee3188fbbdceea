// Moderation: who may act on a neighbourhood or the instance, the actions themselves, and their log.
// Every path (API, pages, and the federation handlers) calls these functions, so the checks live here.
import { memberByUsername, setMemberStatus, type Viewer } from '../accounts/domain.ts';
import type { Database, ModerationAction, ReportCategory } from '../database.ts';
import * as threads from '../threads/domain.ts';
import { badRequest, conflict, forbidden, notFound } from '../errors.ts';
import * as neighbourhoods from '../neighbourhoods/domain.ts';
import * as q from './queries.ts';

/** Instance admins and instance moderators may act in every neighbourhood. */
export const isInstanceStaff = (viewer: Viewer | null) => viewer?.role === 'admin' || viewer?.role === 'moderator';

export async function canModerate(db: Database, neighbourhood: neighbourhoods.Neighbourhood, viewer: Viewer | null): Promise<boolean> {
  if (!viewer) return false;
  return isInstanceStaff(viewer) || (await neighbourhoods.roleIn(db, neighbourhood, viewer)) === 'moderator';
}

async function requireModeratorOf(db: Database, neighbourhoodId: number, viewer: Viewer) {
  const neighbourhood = await neighbourhoods.neighbourhoodById(db, neighbourhoodId);
  if (!(await canModerate(db, neighbourhood, viewer))) {
    throw forbidden('Only this neighbourhood\u2019s moderators can do that.', 'not_a_moderator');
  }
  return neighbourhood;
}

function requireStaff(viewer: Viewer): void {
  if (!isInstanceStaff(viewer)) throw forbidden('Only the instance\u2019s admins and moderators can do that.', 'not_staff');
}

const checkReason = (reason: string | undefined) => (reason ?? '').trim().slice(0, 1000);

export function log(db: Database, moderator: Viewer, action: ModerationAction, entry: { neighbourhoodId: number | null; threadId?: number; replyId?: number; memberId?: number; reason?: string }) {
  return q.insertLogEntry(db, {
    neighbourhood_id: entry.neighbourhoodId,
    moderator_id: moderator.id,
    action,
    thread_id: entry.threadId ?? null,
    reply_id: entry.replyId ?? null,
    member_id: entry.memberId ?? null,
    reason: checkReason(entry.reason),
  });
}

/** Where a moderation action took place, for sending the moderator back there. */
export interface Where {
  handle: string;
  threadId: number;
}

async function threadState(db: Database, id: number) {
  const thread = await q.findThreadState(db, id);
  if (!thread) throw notFound('That thread');
  return thread;
}

/** A moderator's removal: hidden everywhere like a deletion, but kept so it can be restored. */
export async function removeThread(db: Database, moderator: Viewer, id: number, reason?: string): Promise<Where> {
  const thread = await threadState(db, id);
  const neighbourhood = await requireModeratorOf(db, thread.neighbourhood_id, moderator);
  if (thread.deleted_at) throw notFound('That thread');
  await q.markThreadRemoved(db, id);
  await log(db, moderator, 'remove_thread', { neighbourhoodId: thread.neighbourhood_id, threadId: id, memberId: thread.author_id ?? undefined, reason });
  return { handle: neighbourhood.handle, threadId: id };
}

export async function restoreThread(db: Database, moderator: Viewer, id: number, reason?: string): Promise<Where> {
  const thread = await threadState(db, id);
  const neighbourhood = await requireModeratorOf(db, thread.neighbourhood_id, moderator);
  if (!thread.removed_at) throw conflict('Only a removed thread can be restored.', 'not_removed');
  await q.markThreadRestored(db, id);
  await log(db, moderator, 'restore_thread', { neighbourhoodId: thread.neighbourhood_id, threadId: id, memberId: thread.author_id ?? undefined, reason });
  return { handle: neighbourhood.handle, threadId: id };
}

/** Locks (no new replies) or unlocks a thread. */
export async function lockThread(db: Database, moderator: Viewer, id: number, locked: boolean, reason?: string): Promise<Where> {
  const thread = await threadState(db, id);
  const neighbourhood = await requireModeratorOf(db, thread.neighbourhood_id, moderator);
  if (thread.deleted_at) throw notFound('That thread');
  await q.setThreadFlag(db, id, 'locked_at', locked);
  await log(db, moderator, locked ? 'lock_thread' : 'unlock_thread', { neighbourhoodId: thread.neighbourhood_id, threadId: id, reason });
  return { handle: neighbourhood.handle, threadId: id };
}

/** Pins a thread to the top of its neighbourhood's list, or unpins it. */
export async function pinThread(db: Database, moderator: Viewer, id: number, pinned: boolean, reason?: string): Promise<Where> {
  const thread = await threadState(db, id);
  const neighbourhood = await requireModeratorOf(db, thread.neighbourhood_id, moderator);
  if (thread.deleted_at) throw notFound('That thread');
  await q.setThreadFlag(db, id, 'pinned_at', pinned);
  await log(db, moderator, pinned ? 'pin_thread' : 'unpin_thread', { neighbourhoodId: thread.neighbourhood_id, threadId: id, reason });
  return { handle: neighbourhood.handle, threadId: id };
}

async function replyState(db: Database, id: number) {
  const reply = await q.findReplyState(db, id);
  if (!reply) throw notFound('That reply');
  return reply;
}

export async function removeReply(db: Database, moderator: Viewer, id: number, reason?: string): Promise<Where> {
  const reply = await replyState(db, id);
  const neighbourhood = await requireModeratorOf(db, reply.neighbourhood_id, moderator);
  if (reply.deleted_at) throw notFound('That reply');
  await q.markRepliesRemoved(db, { replyId: id });
  await log(db, moderator, 'remove_reply', { neighbourhoodId: reply.neighbourhood_id, threadId: reply.thread_id, replyId: id, memberId: reply.author_id ?? undefined, reason });
  return { handle: neighbourhood.handle, threadId: reply.thread_id };
}

export async function restoreReply(db: Database, moderator: Viewer, id: number, reason?: string): Promise<Where> {
  const reply = await replyState(db, id);
  const neighbourhood = await requireModeratorOf(db, reply.neighbourhood_id, moderator);
  if (!reply.removed_at) throw conflict('Only a removed reply can be restored.', 'not_removed');
  await q.markReplyRestored(db, reply);
  await log(db, moderator, 'restore_reply', { neighbourhoodId: reply.neighbourhood_id, threadId: reply.thread_id, replyId: id, memberId: reply.author_id ?? undefined, reason });
  return { handle: neighbourhood.handle, threadId: reply.thread_id };
}

async function memberNamed(db: Database, username: string) {
  const member = await memberByUsername(db, username);
  if (!member) throw notFound('That member');
  return member;
}

export interface BanOptions {
  reason?: string;
  /** Null bans until lifted. */
  expiresAt?: Date | null;
  /** Also removes everything they posted in the neighbourhood. */
  removeContent?: boolean;
}

/** Bans a member from a neighbourhood: they leave it, cannot rejoin until the ban ends, and may lose their posts there. */
export async function banFromNeighbourhood(db: Database, moderator: Viewer, handle: string, username: string, options: BanOptions = {}) {
  const neighbourhood = await neighbourhoods.neighbourhoodByHandle(db, handle);
  await requireModeratorOf(db, neighbourhood.id, moderator);
  const member = await memberNamed(db, username);
  if (member.id === moderator.id) throw badRequest('You cannot ban yourself.', 'invalid_ban');
  if (options.expiresAt && options.expiresAt <= new Date()) throw badRequest('A ban must end in the future.', 'invalid_ban');
  // A neighbourhood moderator cannot ban a fellow moderator; the instance's staff can.
  if (!isInstanceStaff(moderator) && (await neighbourhoods.roleIn(db, neighbourhood, { ...moderator, id: member.id })) === 'moderator') {
    throw forbidden('Ask the instance\u2019s admins to ban a moderator.', 'not_staff');
  }
  await q.upsertBan(db, { neighbourhoodId: neighbourhood.id, memberId: member.id, bannedBy: moderator.id, reason: checkReason(options.reason), expiresAt: options.expiresAt ?? null });
  await neighbourhoods.removeMembership(db, neighbourhood.id, member.id);
  if (options.removeContent) {
    await q.markThreadsOfAuthorRemoved(db, member.id, neighbourhood.id);
    await q.markRepliesRemoved(db, { authorId: member.id, neighbourhoodId: neighbourhood.id });
  }
  await log(db, moderator, 'ban', { neighbourhoodId: neighbourhood.id, memberId: member.id, reason: options.reason });
}

export async function liftBan(db: Database, moderator: Viewer, handle: string, username: string, reason?: string) {
  const neighbourhood = await neighbourhoods.neighbourhoodByHandle(db, handle);
  await requireModeratorOf(db, neighbourhood.id, moderator);
  const member = await memberNamed(db, username);
  if (!(await q.deleteBan(db, neighbourhood.id, member.id))) throw notFound('That ban');
  await log(db, moderator, 'unban', { neighbourhoodId: neighbourhood.id, memberId: member.id, reason });
}

export async function bansIn(db: Database, viewer: Viewer, handle: string) {
  const neighbourhood = await neighbourhoods.neighbourhoodByHandle(db, handle);
  await requireModeratorOf(db, neighbourhood.id, viewer);
  return q.activeBans(db, neighbourhood.id);
}

/** Makes a member of the neighbourhood one of its moderators, or hands the role back. */
export async function setNeighbourhoodModerator(db: Database, moderator: Viewer, handle: string, username: string, appointed: boolean) {
  const neighbourhood = await neighbourhoods.neighbourhoodByHandle(db, handle);
  await requireModeratorOf(db, neighbourhood.id, moderator);
  const member = await memberNamed(db, username);
  if (!appointed && (await neighbourhoods.moderatorsOf(db, neighbourhood.id)).length <= 1 && !isInstanceStaff(moderator)) {
    throw conflict('A neighbourhood keeps at least one moderator.', 'last_moderator');
  }
  if (!(await q.setMembershipRole(db, neighbourhood.id, member.id, appointed ? 'moderator' : 'member'))) {
    throw conflict(`${member.username} has to join ${neighbourhood.name} first.`, 'not_a_member');
  }
  await log(db, moderator, appointed ? 'appoint_moderator' : 'dismiss_moderator', { neighbourhoodId: neighbourhood.id, memberId: member.id });
}

/** Makes a neighbourhood members-only (threads for members alone, joining by approval) or public again. */
export async function setMembersOnly(db: Database, moderator: Viewer, handle: string, membersOnly: boolean) {
  const neighbourhood = await neighbourhoods.neighbourhoodByHandle(db, handle);
  await requireModeratorOf(db, neighbourhood.id, moderator);
  await q.setVisibility(db, neighbourhood.id, membersOnly ? 'members' : 'public');
  await log(db, moderator, membersOnly ? 'make_members_only' : 'make_public', { neighbourhoodId: neighbourhood.id });
}

export async function joinRequestsFor(db: Database, moderator: Viewer, handle: string) {
  const neighbourhood = await neighbourhoods.neighbourhoodByHandle(db, handle);
  await requireModeratorOf(db, neighbourhood.id, moderator);
  return q.joinRequests(db, neighbourhood.id);
}

/** Admits (as a member) or turns away someone who asked to join; either way the request is settled. */
export async function decideJoinRequest(db: Database, moderator: Viewer, handle: string, username: string, approved: boolean) {
  const neighbourhood = await neighbourhoods.neighbourhoodByHandle(db, handle);
  await requireModeratorOf(db, neighbourhood.id, moderator);
  const member = await memberNamed(db, username);
  if (!(await q.deleteJoinRequest(db, neighbourhood.id, member.id))) throw notFound('That join request');
  if (approved) await neighbourhoods.addMembership(db, neighbourhood.id, member.id);
  await log(db, moderator, approved ? 'approve_join' : 'reject_join', { neighbourhoodId: neighbourhood.id, memberId: member.id });
}

export const reportCategories: readonly ReportCategory[] = ['spam', 'harassment', 'illegal', 'rules', 'other'];

export type ReportTarget = { threadId: number } | { replyId: number } | { username: string };

/**
 * A member reports a thread, reply or account. A post's report goes to its neighbourhood's moderators;
 * an account's to the instance's staff. One can only report what one can read.
 */
export async function fileReport(db: Database, reporter: Viewer, target: ReportTarget, input: { category: ReportCategory; reason?: string; forward?: boolean }) {
  let columns: { neighbourhood_id: number | null; thread_id: number | null; reply_id: number | null; member_id: number | null };
  if ('threadId' in target) {
    const thread = await threads.readableThread(db, reporter, target.threadId);
    columns = { neighbourhood_id: thread.neighbourhood_id, thread_id: thread.id, reply_id: null, member_id: thread.author_id };
  } else if ('replyId' in target) {
    const reply = await threads.replyById(db, target.replyId);
    if (reply.deleted_at) throw notFound('That reply');
    const thread = await threads.readableThread(db, reporter, reply.thread_id);
    columns = { neighbourhood_id: thread.neighbourhood_id, thread_id: thread.id, reply_id: reply.id, member_id: reply.author_id };
  } else {
    const member = await memberNamed(db, target.username);
    columns = { neighbourhood_id: null, thread_id: null, reply_id: null, member_id: member.id };
  }
  if (columns.member_id === reporter.id) throw badRequest('You cannot report yourself.', 'invalid_report');
  const { id } = await q.insertReport(db, { reporter_id: reporter.id, ...columns, category: input.category, reason: checkReason(input.reason), forward: !!input.forward });
  return (await q.findReport(db, id))!;
}

/** The reports waiting for this moderator: in one neighbourhood, or everywhere they may act. */
export async function reportQueue(db: Database, moderator: Viewer, handle?: string) {
  const neighbourhood = handle ? await neighbourhoods.neighbourhoodByHandle(db, handle) : undefined;
  if (neighbourhood) await requireModeratorOf(db, neighbourhood.id, moderator);
  return q.openReports(db, { id: moderator.id, staff: isInstanceStaff(moderator) }, neighbourhood?.id);
}

/** A moderator closes a report, acted on or not; the reporter sees the outcome in their own list. */
export async function closeReport(db: Database, moderator: Viewer, id: number, outcome: 'resolved' | 'dismissed', reason?: string) {
  const report = await q.findReport(db, id);
  if (!report) throw notFound('That report');
  if (report.neighbourhood_id === null) requireStaff(moderator);
  else await requireModeratorOf(db, report.neighbourhood_id, moderator);
  if (!(await q.closeReport(db, id, outcome, moderator.id))) throw conflict('That report is already closed.', 'report_closed');
  await log(db, moderator, outcome === 'resolved' ? 'resolve_report' : 'dismiss_report', {
    neighbourhoodId: report.neighbourhood_id, threadId: report.thread_id ?? undefined, replyId: report.reply_id ?? undefined, reason,
  });
  return report.neighbourhood;
}

export const reportsBy = (db: Database, reporter: Viewer) => q.reportsBy(db, reporter.id);
export type Report = NonNullable<Awaited<ReturnType<typeof q.findReport>>>;

/** Suspends an account instance-wide (it can no longer sign in or act), or lifts the suspension. */
export async function suspendAccount(db: Database, staff: Viewer, username: string, suspended: boolean, reason?: string) {
  requireStaff(staff);
  const member = await memberNamed(db, username);
  if (member.id === staff.id) throw badRequest('You cannot suspend yourself.', 'invalid_suspension');
  if (member.role === 'admin' && staff.role !== 'admin') throw forbidden('Only an admin can suspend an admin.', 'not_staff');
  await setMemberStatus(db, member.username, suspended ? 'suspended' : 'active');
  await log(db, staff, suspended ? 'suspend' : 'unsuspend', { neighbourhoodId: null, memberId: member.id, reason });
}

/** A neighbourhood's moderation log: public, so neighbours can see how their space is kept. */
export async function neighbourhoodLog(db: Database, handle: string, page: { limit: number; beforeId?: number }) {
  const neighbourhood = await neighbourhoods.neighbourhoodByHandle(db, handle);
  return { neighbourhood, entries: await q.logEntries(db, { neighbourhoodId: neighbourhood.id, ...page }) };
}

/** Every moderation action on the instance, for its admins and moderators. */
export async function instanceLog(db: Database, viewer: Viewer, page: { limit: number; beforeId?: number }) {
  requireStaff(viewer);
  return q.logEntries(db, page);
}

export type LogEntry = Awaited<ReturnType<typeof q.logEntries>>[number];
