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

export async function canModerate(db: Database, neighbourhood: Pick<neighbourhoods.Neighbourhood, 'id'>, viewer: Viewer | null): Promise<boolean> {
  if (!viewer) return false;
  return isInstanceStaff(viewer) || moderatesAs(viewer, await neighbourhoods.roleIn(db, neighbourhood, viewer));
}

/** `canModerate` for a caller that already holds the viewer's role in the neighbourhood. */
export const moderatesAs = (viewer: Viewer | null, role: string | null): boolean => isInstanceStaff(viewer) || (!!viewer && role === 'moderator');

/**
 * Who takes a moderation action: a member (one of ours, or the member row of an actor on another server,
 * such as a remote moderator), or a neighbourhood on another server acting on what it holds, which is the
 * authority there (federation has checked that the group itself said so).
 */
export type Moderator = Viewer | { neighbourhoodItself: number };

const asMember = (moderator: Moderator): Viewer | null => ('id' in moderator ? moderator : null);

async function requireModeratorOf(db: Database, neighbourhoodId: number, moderator: Moderator) {
  const neighbourhood = await neighbourhoods.neighbourhoodById(db, neighbourhoodId);
  const allowed = 'neighbourhoodItself' in moderator
    ? moderator.neighbourhoodItself === neighbourhood.id && neighbourhood.ap_id !== null
    : await canModerate(db, neighbourhood, moderator);
  if (!allowed) throw forbidden('Only this neighbourhood\u2019s moderators can do that.', 'not_a_moderator');
  return neighbourhood;
}

function requireStaff(viewer: Viewer): void {
  if (!isInstanceStaff(viewer)) throw forbidden('Only the instance\u2019s admins and moderators can do that.', 'not_staff');
}

const checkReason = (reason: string | undefined) => (reason ?? '').trim().slice(0, 1000);

interface LogDetails {
  neighbourhoodId: number | null;
  threadId?: number;
  replyId?: number;
  memberId?: number;
  reason?: string;
  expiresAt?: Date | null;
  removedContent?: boolean;
}

export function log(db: Database, moderator: Moderator, action: ModerationAction, entry: LogDetails) {
  return q.insertLogEntry(db, {
    neighbourhood_id: entry.neighbourhoodId,
    moderator_id: asMember(moderator)?.id ?? null,
    action,
    thread_id: entry.threadId ?? null,
    reply_id: entry.replyId ?? null,
    member_id: entry.memberId ?? null,
    reason: checkReason(entry.reason),
    expires_at: entry.expiresAt ?? null,
    removed_content: entry.removedContent ?? false,
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
export async function removeThread(db: Database, moderator: Moderator, id: number, reason?: string): Promise<Where> {
  const thread = await threadState(db, id);
  const neighbourhood = await requireModeratorOf(db, thread.neighbourhood_id, moderator);
  if (thread.deleted_at) throw notFound('That thread');
  await q.markThreadRemoved(db, id);
  await log(db, moderator, 'remove_thread', { neighbourhoodId: thread.neighbourhood_id, threadId: id, memberId: thread.author_id ?? undefined, reason });
  return { handle: neighbourhood.handle, threadId: id };
}

export async function restoreThread(db: Database, moderator: Moderator, id: number, reason?: string): Promise<Where> {
  const thread = await threadState(db, id);
  const neighbourhood = await requireModeratorOf(db, thread.neighbourhood_id, moderator);
  if (!thread.removed_at) throw conflict('Only a removed thread can be restored.', 'not_removed');
  await q.markThreadRestored(db, id);
  await log(db, moderator, 'restore_thread', { neighbourhoodId: thread.neighbourhood_id, threadId: id, memberId: thread.author_id ?? undefined, reason });
  return { handle: neighbourhood.handle, threadId: id };
}

/** Locks (no new replies) or unlocks a thread. */
export async function lockThread(db: Database, moderator: Moderator, id: number, locked: boolean, reason?: string): Promise<Where> {
  const thread = await threadState(db, id);
  const neighbourhood = await requireModeratorOf(db, thread.neighbourhood_id, moderator);
  if (thread.deleted_at) throw notFound('That thread');
  await q.setThreadFlag(db, id, 'locked_at', locked);
  await log(db, moderator, locked ? 'lock_thread' : 'unlock_thread', { neighbourhoodId: thread.neighbourhood_id, threadId: id, reason });
  return { handle: neighbourhood.handle, threadId: id };
}

/** Pins a thread to the top of its neighbourhood's list, or unpins it. */
export async function pinThread(db: Database, moderator: Moderator, id: number, pinned: boolean, reason?: string): Promise<Where> {
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

export async function removeReply(db: Database, moderator: Moderator, id: number, reason?: string): Promise<Where> {
  const reply = await replyState(db, id);
  const neighbourhood = await requireModeratorOf(db, reply.neighbourhood_id, moderator);
  if (reply.deleted_at) throw notFound('That reply');
  await q.markRepliesRemoved(db, { replyId: id });
  await log(db, moderator, 'remove_reply', { neighbourhoodId: reply.neighbourhood_id, threadId: reply.thread_id, replyId: id, memberId: reply.author_id ?? undefined, reason });
  return { handle: neighbourhood.handle, threadId: reply.thread_id };
}

export async function restoreReply(db: Database, moderator: Moderator, id: number, reason?: string): Promise<Where> {
  const reply = await replyState(db, id);
  const neighbourhood = await requireModeratorOf(db, reply.neighbourhood_id, moderator);
  if (!reply.removed_at) throw conflict('Only a removed reply can be restored.', 'not_removed');
  await q.markReplyRestored(db, reply);
  await log(db, moderator, 'restore_reply', { neighbourhoodId: reply.neighbourhood_id, threadId: reply.thread_id, replyId: id, memberId: reply.author_id ?? undefined, reason });
  return { handle: neighbourhood.handle, threadId: reply.thread_id };
}

/** Someone from another server: their member row is named `name@host`, which a local name cannot be. */
const isRemote = (member: { username: string }) => member.username.includes('@');

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
export async function banFromNeighbourhood(db: Database, moderator: Moderator, handle: string, username: string, options: BanOptions = {}) {
  const neighbourhood = await neighbourhoods.neighbourhoodByHandle(db, handle);
  await requireModeratorOf(db, neighbourhood.id, moderator);
  const member = await memberNamed(db, username);
  const acting = asMember(moderator);
  if (member.id === acting?.id) throw badRequest('You cannot ban yourself.', 'invalid_ban');
  if (options.expiresAt && options.expiresAt <= new Date()) throw badRequest('A ban must end in the future.', 'invalid_ban');
  // A neighbourhood moderator cannot ban a fellow moderator; the instance's staff can.
  if (acting && !isInstanceStaff(acting) && (await neighbourhoods.roleIn(db, neighbourhood, { ...acting, id: member.id })) === 'moderator') {
    throw forbidden('Ask the instance\u2019s admins to ban a moderator.', 'not_staff');
  }
  await q.upsertBan(db, { neighbourhoodId: neighbourhood.id, memberId: member.id, bannedBy: acting?.id ?? null, reason: checkReason(options.reason), expiresAt: options.expiresAt ?? null });
  await neighbourhoods.removeMembership(db, neighbourhood.id, member.id);
  if (options.removeContent) {
    await q.markThreadsOfAuthorRemoved(db, member.id, neighbourhood.id);
    await q.markRepliesRemoved(db, { authorId: member.id, neighbourhoodId: neighbourhood.id });
  }
  await log(db, moderator, 'ban', { neighbourhoodId: neighbourhood.id, memberId: member.id, reason: options.reason, expiresAt: options.expiresAt ?? null, removedContent: !!options.removeContent });
}

export async function liftBan(db: Database, moderator: Moderator, handle: string, username: string, reason?: string) {
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

/**
 * Makes a member of the neighbourhood one of its moderators, or hands the role back. Someone from another
 * server (who follows rather than joins) becomes a member by being appointed, and stops being one when
 * dismissed; so does anyone in a neighbourhood on another server, whose membership here only mirrors it.
 */
export async function setNeighbourhoodModerator(db: Database, moderator: Moderator, handle: string, username: string, appointed: boolean) {
  const neighbourhood = await neighbourhoods.neighbourhoodByHandle(db, handle);
  await requireModeratorOf(db, neighbourhood.id, moderator);
  const member = await memberNamed(db, username);
  const acting = asMember(moderator);
  const mirrored = isRemote(member) || neighbourhood.ap_id !== null;
  if (!appointed && !neighbourhood.ap_id && (await neighbourhoods.moderatorsOf(db, neighbourhood.id)).length <= 1 && !isInstanceStaff(acting)) {
    throw conflict('A neighbourhood keeps at least one moderator.', 'last_moderator');
  }
  if (appointed && mirrored) await neighbourhoods.addMembership(db, neighbourhood.id, member.id);
  if (!appointed && isRemote(member)) {
    if (!(await q.deleteModeratorMembership(db, neighbourhood.id, member.id))) throw conflict(`${member.username} is not a moderator here.`, 'not_a_moderator');
  } else if (!(await q.setMembershipRole(db, neighbourhood.id, member.id, appointed ? 'moderator' : 'member'))) {
    throw conflict(`${member.username} has to join ${neighbourhood.name} first.`, 'not_a_member');
  }
  await log(db, moderator, appointed ? 'appoint_moderator' : 'dismiss_moderator', { neighbourhoodId: neighbourhood.id, memberId: member.id });
}

/**
 * A neighbourhood on another server, as its moderators collection lists them now: the listed members
 * (ours or remote) become its moderators here, the others stop being. Not logged: nobody acted here.
 */
export async function mirrorRemoteModerators(db: Database, neighbourhood: neighbourhoods.Neighbourhood, memberIds: number[]) {
  if (!neighbourhood.ap_id) throw badRequest('Only a neighbourhood on another server is mirrored.', 'not_remote');
  for (const { id, ap_id } of await neighbourhoods.moderatorsOf(db, neighbourhood.id)) {
    if (memberIds.includes(id)) continue;
    if (ap_id) await neighbourhoods.removeMembership(db, neighbourhood.id, id);
    else await q.setMembershipRole(db, neighbourhood.id, id, 'member');
  }
  for (const id of memberIds) {
    await neighbourhoods.addMembership(db, neighbourhood.id, id);
    await q.setMembershipRole(db, neighbourhood.id, id, 'moderator');
  }
}

/** A log entry with what other servers need to hear about it, or undefined. */
export const logEntryForFederation = q.logEntryForFederation;
export type FederatedLogEntry = NonNullable<Awaited<ReturnType<typeof q.logEntryForFederation>>>;

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
 * an account's to the instance's staff. One can only report what one can read. A report from another
 * server (a Flag, `apId` its id) names posts by id, which is not a reading of them: it is taken as given.
 */
export async function fileReport(db: Database, reporter: Viewer, target: ReportTarget, input: { category: ReportCategory; reason?: string; forward?: boolean; apId?: string }) {
  let columns: { neighbourhood_id: number | null; thread_id: number | null; reply_id: number | null; member_id: number | null };
  const readable = (id: number) => (input.apId ? threads.threadById(db, id) : threads.readableThread(db, reporter, id));
  if ('threadId' in target) {
    const thread = await readable(target.threadId);
    columns = { neighbourhood_id: thread.neighbourhood_id, thread_id: thread.id, reply_id: null, member_id: thread.author_id };
  } else if ('replyId' in target) {
    const reply = await threads.replyById(db, target.replyId);
    if (reply.deleted_at) throw notFound('That reply');
    const thread = await readable(reply.thread_id);
    columns = { neighbourhood_id: thread.neighbourhood_id, thread_id: thread.id, reply_id: reply.id, member_id: reply.author_id };
  } else {
    const member = await memberNamed(db, target.username);
    columns = { neighbourhood_id: null, thread_id: null, reply_id: null, member_id: member.id };
  }
  if (columns.member_id === reporter.id) throw badRequest('You cannot report yourself.', 'invalid_report');
  const { id } = await q.insertReport(db, {
    reporter_id: reporter.id, ...columns, category: input.category, reason: checkReason(input.reason), forward: !!input.forward, ap_id: input.apId ?? null,
  });
  return (await q.findReport(db, id))!;
}

export async function reportById(db: Database, id: number) {
  const report = await q.findReport(db, id);
  if (!report) throw notFound('That report');
  return report;
}

/** The Flag we sent to another server for a member's report is remembered, so that server's answer finds it. */
export const rememberSentFlag = (db: Database, reportId: number, apId: string) => q.setReportApId(db, reportId, apId);

/**
 * Another server resolved a report we forwarded to it (Lemmy's `Resolve` of our Flag): the reporter sees
 * it resolved. Only the server holding the neighbourhood (or, for an account, the account) has that say.
 */
export async function resolvedElsewhere(db: Database, flagId: string, byOrigin: string): Promise<number> {
  let closed = 0;
  for (const report of await q.openReportsByApId(db, flagId)) {
    const authority = report.neighbourhood_ap_id ?? (report.neighbourhood_id === null ? report.member_ap_id : null);
    if (!authority || new URL(authority).origin !== byOrigin) continue;
    if (await q.closeReport(db, report.id, 'resolved', null)) closed++;
  }
  return closed;
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
