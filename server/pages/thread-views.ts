// Pages about threads: one thread with its nested replies, and the forms to write and edit them.
import type { ThreadKind } from '../database.ts';
import { attachmentsOf, type Reply, type ReplyInThread, type Thread } from '../threads/domain.ts';
import { toLocalInput, when } from './format.ts';
import { errorSummary, field, markdownEditor, select } from './forms.ts';
import { type Fragment, html, type Html, trusted } from './html.ts';
import { buttonForm, csrfField, page, type PageContext } from './layout.ts';
import { kindNames } from './neighbourhood-views.ts';

const byline = (ctx: PageContext, username: string | null, displayName: string | null, at: Date, editedAt: Date | null) =>
  html`<p class="meta">${username ? html`<a href="/members/${username}">${displayName || username}</a>` : 'A former member'} · ${when(at, ctx.locale)}${
    editedAt ? html` · <span title="Edited">edited</span>` : null
  }</p>`;

function likeButton(ctx: PageContext, action: string, count: number, liked: boolean) {
  const label = html`<span aria-hidden="true">♥</span> ${liked ? 'Liked' : 'Like'} <span class="count">(${count})</span>`;
  if (!ctx.viewer) return html`<p class="likes">${count} ${count === 1 ? 'like' : 'likes'}</p>`;
  return buttonForm(ctx, action, label, { liked: liked ? '0' : '1' }, html` class="like" aria-pressed="${liked ? 'true' : 'false'}"`);
}

/** Dislikes arrive only from other servers (there is no downvote here); when there are some, they show. */
function dislikes(post: { dislike_count: number }): Fragment {
  return post.dislike_count ? html`<p class="dislikes">${post.dislike_count} ${post.dislike_count === 1 ? 'dislike' : 'dislikes'} from elsewhere</p>` : null;
}

/** Attachments of a post from another server: images with their alt text, the rest as links. */
function attachmentList(post: { attachments: Thread['attachments'] }): Fragment {
  const items = attachmentsOf(post);
  if (!items.length) return null;
  return html`<ul class="attachments">${items.map((a) => html`<li>${a.shown
    ? html`<a href="${a.url}"><img src="${a.url}" alt="${a.description ?? ''}" loading="lazy" referrerpolicy="no-referrer"></a>`
    : html`<a href="${a.url}" rel="nofollow noopener">${a.description || (a.image ? 'Image' : 'Attachment')}: ${new URL(a.url).hostname}</a>`}</li>`)}</ul>`;
}

function kindDetails(ctx: PageContext, t: Thread): Fragment {
  if (t.kind === 'event' && t.event_starts_at) {
    return html`<dl class="details">
  <dt>When</dt><dd>${when(t.event_starts_at, ctx.locale)}${t.event_ends_at ? html` until ${when(t.event_ends_at, ctx.locale)}` : null}</dd>
  ${t.event_place ? html`<dt>Where</dt><dd>${t.event_place}</dd>` : null}
</dl>`;
  }
  if ((t.kind === 'offer' || t.kind === 'want') && t.exchange_status) {
    const open = t.exchange_status === 'open';
    const toggle = ctx.viewer?.id === t.author_id
      ? buttonForm(ctx, `/threads/${t.id}/status`, open ? (t.kind === 'offer' ? 'Mark as given' : 'Mark as found') : 'Reopen', { status: open ? 'fulfilled' : 'open' }, html` class="secondary"`)
      : null;
    return html`<dl class="details">
  <dt>${t.kind === 'offer' ? 'Offered' : 'Wanted'}</dt><dd>${t.exchange_item}</dd>
  ${t.exchange_expires_at ? html`<dt>Until</dt><dd>${when(t.exchange_expires_at, ctx.locale)}</dd>` : null}
  <dt>Status</dt><dd><span class="status status-${t.exchange_status}">${open ? 'Open' : 'Fulfilled'}</span> ${toggle}</dd>
</dl>`;
  }
  return null;
}

function replyForm(ctx: PageContext, threadId: number, parentId: number | null, body = '', preview: Html | null = null) {
  return html`<form method="post" action="/threads/${threadId}/replies" class="reply-form">
  ${csrfField(ctx)}${parentId ? html`<input type="hidden" name="parentId" value="${parentId}">` : null}
  ${markdownEditor('body', parentId ? 'Your reply' : 'Reply to the thread', body, preview, { rows: parentId ? 3 : 5 })}
  <p><button type="submit">Post reply</button></p>
</form>`;
}

export interface ThreadPageData {
  thread: Thread;
  replies: readonly ReplyInThread[];
  likes: { thread: boolean; replies: Set<number> };
  isMember: boolean;
  canModerate?: boolean;
}

/** A moderator's buttons for a thread: remove, lock or unlock, pin or unpin. */
function moderatorActions(ctx: PageContext, t: Thread): Fragment {
  return html`<div class="actions moderation" aria-label="Moderation">
    ${buttonForm(ctx, `/threads/${t.id}/remove`, 'Remove thread', {}, html` class="link danger" data-confirm="Remove this thread?"`)}
    ${buttonForm(ctx, `/threads/${t.id}/${t.locked_at ? 'unlock' : 'lock'}`, t.locked_at ? 'Unlock' : 'Lock', {}, html` class="secondary"`)}
    ${buttonForm(ctx, `/threads/${t.id}/${t.pinned_at ? 'unpin' : 'pin'}`, t.pinned_at ? 'Unpin' : 'Pin', {}, html` class="secondary"`)}
  </div>`;
}

/** What one reply's controls depend on besides the reply itself. */
export interface ReplyView {
  threadId: number;
  liked: boolean;
  isMember: boolean;
  canModerate?: boolean;
  locked?: boolean;
}

/**
 * One reply as a list item, without its answers: the thread page nests them; live updates insert it alone.
 * Answering it is a link to a form of its own, which the page script opens in place: a form under every
 * reply made a member's page of 50 posts three times the work and the size of a visitor's.
 */
export function replyItem(ctx: PageContext, r: Reply, view: ReplyView, answers: Fragment = null): Html {
  const mine = ctx.viewer?.id === r.author_id && !r.deleted_at;
  return html`<li id="reply-${r.id}" class="reply">
<article aria-label="Reply by ${r.deleted_at ? 'a deleted post' : r.author_display_name || r.author_username || 'a former member'}">
  ${r.deleted_at ? html`<p class="deleted">This reply was deleted.</p>` : html`${byline(ctx, r.author_username, r.author_display_name, r.created_at, r.edited_at)}
  <div class="body">${trusted(r.body_html)}</div>
  ${attachmentList(r)}
  <div class="actions">
    ${likeButton(ctx, `/replies/${r.id}/like`, r.like_count, view.liked)}
    ${dislikes(r)}
    ${mine ? html`<a href="/replies/${r.id}/edit">Edit</a> ${buttonForm(ctx, `/replies/${r.id}/delete`, 'Delete', {}, html` class="link danger" data-confirm="Delete this reply?"`)}` : null}
    ${ctx.viewer && !mine ? html`<a href="/replies/${r.id}/report" class="report">Report</a>` : null}
    ${view.canModerate ? buttonForm(ctx, `/replies/${r.id}/remove`, 'Remove', {}, html` class="link danger" data-confirm="Remove this reply?"`) : null}
    ${view.isMember && !view.locked ? html`<a href="/replies/${r.id}/reply" data-answer>Reply</a>` : null}
  </div>`}
</article>
${answers}
</li>`;
}

function replyTree(ctx: PageContext, data: ThreadPageData, byParent: Map<number | null, ReplyInThread[]>, parentId: number | null): Fragment {
  const children = byParent.get(parentId);
  if (!children) return null;
  const t = data.thread;
  return html`<ol class="replies"${parentId === null ? html` data-stream="thread:${t.id}" data-neighbourhood="${t.neighbourhood_handle}"` : html` data-parent="${parentId}"`}>${children.map(
    (r) => replyItem(ctx, r, { threadId: t.id, liked: data.likes.replies.has(r.id), isMember: data.isMember, canModerate: data.canModerate, locked: !!t.locked_at }, replyTree(ctx, data, byParent, r.id)),
  )}</ol>`;
}

export function threadPage(ctx: PageContext, data: ThreadPageData) {
  const t = data.thread;
  const mine = ctx.viewer?.id === t.author_id;
  const replyCount = html`${t.reply_count} ${t.reply_count === 1 ? 'reply' : 'replies'}`;
  const byParent = Map.groupBy(data.replies, (r) => r.parent_id);
  return page(ctx, t.title, html`
<nav aria-label="Breadcrumb" class="crumbs"><a href="/neighbourhoods/${t.neighbourhood_handle}">${t.neighbourhood_name}</a> › ${kindNames[t.kind].many}</nav>
<article class="thread kind-${t.kind}" aria-labelledby="thread-title">
  <p class="kind">${kindNames[t.kind].one}${t.pinned_at ? html` · <span class="pinned">Pinned</span>` : null}${t.locked_at ? html` · <span class="locked">Locked</span>` : null}</p>
  <h1 id="thread-title">${t.title}</h1>
  ${byline(ctx, t.author_username, t.author_display_name, t.created_at, t.edited_at)}
  ${kindDetails(ctx, t)}
  <div class="body">${trusted(t.body_html)}</div>
  ${attachmentList(t)}
  <div class="actions">
    ${likeButton(ctx, `/threads/${t.id}/like`, t.like_count, data.likes.thread)}
    ${dislikes(t)}
    ${ctx.viewer && !mine ? html`<a href="/threads/${t.id}/report" class="report">Report</a>` : null}
    ${mine ? html`<a href="/threads/${t.id}/edit">Edit</a> ${buttonForm(ctx, `/threads/${t.id}/delete`, 'Delete thread', {}, html` class="link danger" data-confirm="Delete this thread and hide its replies?"`)}` : null}
  </div>
  ${data.canModerate ? moderatorActions(ctx, t) : null}
</article>
<section aria-labelledby="replies-heading" class="conversation">
  <h2 id="replies-heading">${replyCount}</h2>
  ${replyTree(ctx, data, byParent, null) ?? html`<ol class="replies" data-stream="thread:${t.id}" data-neighbourhood="${t.neighbourhood_handle}"></ol>`}
  ${t.locked_at
    ? html`<p class="locked">This thread is locked: it takes no new replies.</p>`
    : data.isMember
    ? replyForm(ctx, t.id, null)
    : ctx.viewer
      ? html`<p>Join <a href="/neighbourhoods/${t.neighbourhood_handle}">${t.neighbourhood_name}</a> to reply.</p>`
      : html`<p><a href="/login?next=${encodeURIComponent(ctx.path)}">Log in</a> to reply.</p>`}
</section>`);
}

export interface ThreadDraft {
  kind: ThreadKind;
  title?: string;
  body?: string;
  startsAt?: string;
  endsAt?: string;
  place?: string;
  timeZone?: string;
  item?: string;
  expiresAt?: string;
}

export function draftOf(t: Thread, timeZone: string): ThreadDraft {
  return {
    kind: t.kind,
    title: t.title,
    body: t.body_source,
    startsAt: toLocalInput(t.event_starts_at, timeZone),
    endsAt: toLocalInput(t.event_ends_at, timeZone),
    place: t.event_place ?? '',
    timeZone,
    item: t.exchange_item ?? '',
    expiresAt: toLocalInput(t.exchange_expires_at, timeZone),
  };
}

const timeZones = [...new Set(['UTC', ...Intl.supportedValuesOf('timeZone')])].map((z) => [z, z.replaceAll('_', ' ')] as const);

export interface ThreadFormOptions {
  /** Where the form posts: a neighbourhood's thread list when new, the thread's edit URL when editing. */
  action: string;
  heading: string;
  neighbourhood: { handle: string; name: string };
  editing: boolean;
  preview: Html | null;
  error?: string;
  status?: number;
}

export function threadFormPage(ctx: PageContext, draft: ThreadDraft, o: ThreadFormOptions) {
  const kind = draft.kind;
  const chooser = o.editing
    ? null
    : html`<nav aria-label="What are you posting?" class="tabs"><ul>${Object.entries(kindNames).map(
        ([k, v]) => html`<li><a href="/neighbourhoods/${o.neighbourhood.handle}/threads/new?kind=${k}"${k === kind ? html` aria-current="page"` : null}>${v.one}</a></li>`,
      )}</ul></nav>`;
  const zone = select('timeZone', 'Time zone', timeZones, draft.timeZone ?? ctx.locale.timeZone, 'The times above are in this zone.');
  const specific: Fragment = kind === 'event'
    ? html`<fieldset><legend>When and where</legend>
  ${field('startsAt', 'Starts', { type: 'datetime-local', value: draft.startsAt, required: true })}
  ${field('endsAt', 'Ends', { type: 'datetime-local', value: draft.endsAt })}
  ${zone}
  ${field('place', 'Place', { value: draft.place, maxLength: 300, hint: 'e.g. “Outside number 12” or “The community hall”.' })}
</fieldset>`
    : kind === 'offer' || kind === 'want'
      ? html`<fieldset><legend>${kind === 'offer' ? 'What you are offering' : 'What you are looking for'}</legend>
  ${field('item', kind === 'offer' ? 'Offered' : 'Wanted', { value: draft.item, required: true, maxLength: 300 })}
  ${field('expiresAt', 'Until', { type: 'datetime-local', value: draft.expiresAt, hint: 'When the offer or request lapses, if it does.' })}
  ${zone}
</fieldset>`
      : null;
  return page(ctx, o.heading, html`
<nav aria-label="Breadcrumb" class="crumbs"><a href="/neighbourhoods/${o.neighbourhood.handle}">${o.neighbourhood.name}</a></nav>
<h1>${o.heading}</h1>
${chooser}
${errorSummary(o.error)}
<form method="post" action="${o.action}">
  ${csrfField(ctx)}<input type="hidden" name="kind" value="${kind}">
  ${field('title', 'Title', { value: draft.title, required: true, maxLength: 200 })}
  ${specific}
  ${markdownEditor('body', 'Message', draft.body ?? '', o.preview, { rows: 8 })}
  <p><button type="submit">${o.editing ? 'Save changes' : `Post ${kindNames[kind].one.toLowerCase()}`}</button></p>
</form>`, { status: o.status ?? 200 });
}

export interface ReplyFormOptions {
  thread: Thread;
  /** The reply being answered or edited, shown above the form for context. */
  context: Reply | null;
  editing: Reply | null;
  body: string;
  preview: Html | null;
  error?: string;
  status?: number;
}

export function replyFormPage(ctx: PageContext, o: ReplyFormOptions) {
  const t = o.thread;
  const heading = o.editing ? 'Edit your reply' : 'Reply';
  const shown = o.context && !o.context.deleted_at ? o.context : null;
  const form = o.editing
    ? html`<form method="post" action="/replies/${o.editing.id}/edit">${csrfField(ctx)}
  ${markdownEditor('body', 'Your reply', o.body, o.preview)}
  <p><button type="submit">Save changes</button> <a href="/threads/${t.id}#reply-${o.editing.id}">Cancel</a></p></form>`
    : replyForm(ctx, t.id, o.context?.id ?? null, o.body, o.preview);
  return page(ctx, heading, html`
<nav aria-label="Breadcrumb" class="crumbs"><a href="/neighbourhoods/${t.neighbourhood_handle}">${t.neighbourhood_name}</a> › <a href="/threads/${t.id}">${t.title}</a></nav>
<h1>${heading}</h1>
${shown && !o.editing ? html`<blockquote class="context">${byline(ctx, shown.author_username, shown.author_display_name, shown.created_at, shown.edited_at)}${trusted(shown.body_html)}</blockquote>` : null}
${errorSummary(o.error)}
${form}`, { status: o.status ?? 200 });
}
