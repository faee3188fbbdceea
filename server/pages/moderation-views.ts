// Pages about moderation: a neighbourhood's public log (with its bans and restore buttons for moderators)
// and the instance log for admins.
import type { LogEntry, Report } from '../moderation/domain.ts';
import { when } from './format.ts';
import { errorSummary, field, select } from './forms.ts';
import { type Fragment, html, type Html } from './html.ts';
import { buttonForm, csrfField, page, type PageContext } from './layout.ts';
import { heldLink } from './premoderation-views.ts';

const actionNames: Record<string, string> = {
  remove_thread: 'Removed a thread', restore_thread: 'Restored a thread', lock_thread: 'Locked a thread', unlock_thread: 'Unlocked a thread',
  pin_thread: 'Pinned a thread', unpin_thread: 'Unpinned a thread', remove_reply: 'Removed a reply', restore_reply: 'Restored a reply',
  ban: 'Banned a member', unban: 'Lifted a ban', appoint_moderator: 'Appointed a moderator', dismiss_moderator: 'Took back a moderator role',
  suspend: 'Suspended an account', unsuspend: 'Lifted a suspension',
  make_members_only: 'Made the neighbourhood members-only', make_public: 'Made the neighbourhood public',
  approve_join: 'Approved a request to join', reject_join: 'Turned down a request to join',
  resolve_report: 'Acted on a report', dismiss_report: 'Dismissed a report',
  approve_post: 'Approved a held post', reject_post: 'Rejected a held post', set_premoderation: 'Changed what is held for approval',
};

/** The button that undoes a removal, shown to moderators beside the log entry. */
function restoreButton(ctx: PageContext, e: LogEntry): Fragment {
  if (e.action === 'remove_thread' && e.thread_id) return buttonForm(ctx, `/threads/${e.thread_id}/restore`, 'Restore', {}, html` class="secondary"`);
  if (e.action === 'remove_reply' && e.reply_id) return buttonForm(ctx, `/replies/${e.reply_id}/restore`, 'Restore', {}, html` class="secondary"`);
  return null;
}

function logTable(ctx: PageContext, entries: LogEntry[], canModerate: boolean, showNeighbourhood: boolean) {
  if (!entries.length) return html`<p>No moderation actions yet.</p>`;
  return html`<table class="moderation-log">
<thead><tr><th scope="col">When</th>${showNeighbourhood ? html`<th scope="col">Neighbourhood</th>` : null}<th scope="col">Who</th><th scope="col">What</th><th scope="col">Reason</th>${canModerate ? html`<th scope="col"><span class="visually-hidden">Undo</span></th>` : null}</tr></thead>
<tbody>${entries.map((e) => html`<tr id="log-${e.id}">
  <td>${when(e.created_at, ctx.locale)}</td>
  ${showNeighbourhood ? html`<td>${e.neighbourhood ? html`<a href="/neighbourhoods/${e.neighbourhood}">${e.neighbourhood}</a>` : 'Instance'}</td>` : null}
  <td>${e.moderator ?? 'A former moderator'}</td>
  <td>${actionNames[e.action] ?? e.action}${e.thread_id && !e.reply_id ? html` (<a href="/threads/${e.thread_id}">thread ${e.thread_id}</a>)` : null}${
    e.reply_id ? html` (reply ${e.reply_id})` : null}${e.member ? html` · <a href="/members/${e.member}">@${e.member}</a>` : null}</td>
  <td>${e.reason || '—'}</td>
  ${canModerate ? html`<td>${restoreButton(ctx, e)}</td>` : null}
</tr>`)}</tbody>
</table>`;
}

export interface NeighbourhoodModerationData {
  neighbourhood: { handle: string; name: string; visibility: 'public' | 'members' };
  joinRequests: { username: string; display_name: string }[];
  reports: Report[];
  entries: LogEntry[];
  canModerate: boolean;
  bans: { username: string; banned_by: string | null; reason: string; expires_at: Date | null }[];
  error?: string;
  status?: number;
}

export function neighbourhoodModerationPage(ctx: PageContext, d: NeighbourhoodModerationData) {
  const n = d.neighbourhood;
  const membersOnly = n.visibility === 'members';
  const access = d.canModerate
    ? html`<section aria-labelledby="access-heading"><h2 id="access-heading">Who reads and joins</h2>
<p>${membersOnly ? 'Members only: only members read the threads, and a moderator approves each new member.' : 'Public: anyone reads the threads and anyone may join.'}
${buttonForm(ctx, `/neighbourhoods/${n.handle}/privacy`, membersOnly ? 'Make public' : 'Make members-only', { membersOnly: membersOnly ? '0' : '1' }, html` class="secondary"`)}</p>
${d.joinRequests.length ? html`<ul class="join-requests">${d.joinRequests.map((r) => html`<li>@${r.username} asks to join
  ${buttonForm(ctx, `/neighbourhoods/${n.handle}/join-requests/${r.username}/approve`, 'Approve')}
  ${buttonForm(ctx, `/neighbourhoods/${n.handle}/join-requests/${r.username}/reject`, 'Reject', {}, html` class="secondary"`)}</li>`)}</ul>` : html`<p>No one is waiting to join.</p>`}
</section>`
    : null;
  const bans = d.canModerate
    ? html`<section aria-labelledby="bans-heading"><h2 id="bans-heading">Bans</h2>
${d.bans.length ? html`<ul>${d.bans.map((b) => html`<li>@${b.username}${b.expires_at ? html` until ${when(b.expires_at, ctx.locale)}` : ' until lifted'}${b.reason ? html` — ${b.reason}` : null}
  ${buttonForm(ctx, `/neighbourhoods/${n.handle}/bans/${b.username}/lift`, 'Lift ban', {}, html` class="secondary"`)}</li>`)}</ul>` : html`<p>Nobody is banned.</p>`}
${errorSummary(d.error)}
<form method="post" action="/neighbourhoods/${n.handle}/bans">${csrfField(ctx)}
  ${field('username', 'Member to ban', { required: true, maxLength: 64 })}
  ${field('reason', 'Reason', { maxLength: 1000, hint: 'Shown in the public log.' })}
  ${field('days', 'Days', { type: 'number', hint: 'Leave empty to ban until lifted.', attributes: html` min="1" max="3650"` })}
  <p><label><input type="checkbox" name="removeContent" value="1"> Also remove everything they posted here</label></p>
  <p><button type="submit" class="danger">Ban</button></p>
</form></section>`
    : null;
  return page(ctx, `Moderation log · ${n.name}`, html`
<nav aria-label="Breadcrumb" class="crumbs"><a href="/neighbourhoods/${n.handle}">${n.name}</a></nav>
<h1>Moderation log</h1>
<p>Every action ${n.name}\u2019s moderators take, with their reasons.</p>
${d.canModerate ? reportQueue(ctx, d.reports) : null}
${d.canModerate ? heldLink(n.handle) : null}
${access}
${logTable(ctx, d.entries, d.canModerate, false)}
${bans}`, { status: d.status ?? 200 });
}

export function instanceModerationPage(ctx: PageContext, entries: LogEntry[], reports: Report[]) {
  return page(ctx, 'Instance moderation log', html`
<h1>Instance moderation log</h1>
<p><a href="/admin/domain-blocks">Blocked servers</a></p>
${reportQueue(ctx, reports)}
<h2>Every action</h2>
<p>Every moderation action on ${ctx.instanceName}, newest first.</p>
${logTable(ctx, entries, true, true)}`);
}

const categoryNames: Record<string, string> = {
  spam: 'Spam', harassment: 'Harassment or abuse', illegal: 'Against the law', rules: 'Breaks the neighbourhood\u2019s rules', other: 'Something else',
};

function describeTarget(r: Report): Fragment {
  if (r.reply_id) return html`a <a href="/replies/${r.reply_id}">reply</a>${r.member ? html` by @${r.member}` : null}`;
  if (r.thread_id) return html`a <a href="/threads/${r.thread_id}">thread</a>${r.member ? html` by @${r.member}` : null}`;
  return html`the account ${r.member ? html`<a href="/members/${r.member}">@${r.member}</a>` : 'of a former member'}`;
}

/** Open reports with the buttons to close them. */
export function reportQueue(ctx: PageContext, reports: Report[]): Html {
  return html`<section aria-labelledby="reports-heading"><h2 id="reports-heading">Open reports</h2>
${reports.length ? html`<ul class="reports">${reports.map((r) => html`<li id="report-${r.id}">@${r.reporter ?? 'a former member'} reported ${describeTarget(r)}: <strong>${categoryNames[r.category]}</strong>${r.reason ? html` — ${r.reason}` : null}
  ${buttonForm(ctx, `/reports/${r.id}/resolve`, 'Resolve')} ${buttonForm(ctx, `/reports/${r.id}/dismiss`, 'Dismiss', {}, html` class="secondary"`)}</li>`)}</ul>` : html`<p>No open reports.</p>`}
</section>`;
}

export interface ReportFormData {
  /** The hidden fields naming what is reported. */
  target: Record<string, string>;
  what: string;
  back: string;
  error?: string;
  status?: number;
}

export function reportFormPage(ctx: PageContext, d: ReportFormData) {
  return page(ctx, 'Report', html`
<h1>Report ${d.what}</h1>
<p>Your report goes to the people who moderate it. They will not tell the author who reported.</p>
${errorSummary(d.error)}
<form method="post" action="/reports">${csrfField(ctx)}${Object.entries(d.target).map(([name, value]) => html`<input type="hidden" name="${name}" value="${value}">`)}
  ${select('category', 'What is wrong?', Object.entries(categoryNames), 'rules')}
  ${field('reason', 'Tell the moderators more', { maxLength: 1000 })}
  <p><label><input type="checkbox" name="forward" value="1"> Also send this report to the author\u2019s own server if they are on another one</label></p>
  <p><button type="submit">Send report</button> <a href="${d.back}">Cancel</a></p>
</form>`, { status: d.status ?? 200 });
}

const outcomeNames = { open: 'Waiting for a moderator', resolved: 'Acted on', dismissed: 'No action taken' } as const;

export function myReportsPage(ctx: PageContext, reports: Report[]) {
  return page(ctx, 'Your reports', html`
<h1>Your reports</h1>
${reports.length ? html`<ul class="reports">${reports.map((r) => html`<li id="report-${r.id}">${when(r.created_at, ctx.locale)}: ${describeTarget(r)}, ${categoryNames[r.category]} — <strong class="status-${r.status}">${outcomeNames[r.status]}</strong></li>`)}</ul>` : html`<p>You have not reported anything.</p>`}`);
}
