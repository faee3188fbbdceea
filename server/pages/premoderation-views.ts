// Pages about held posts: a neighbourhood's queue with what it holds (for its moderators), and an author's
// own posts awaiting approval.
import type { HeldPost } from '../premoderation/domain.ts';
import type { Settings } from '../premoderation/holding.ts';
import { when } from './format.ts';
import { errorSummary, field } from './forms.ts';
import { html, type Html, trusted } from './html.ts';
import { csrfField, page, type PageContext } from './layout.ts';

function heldItem(ctx: PageContext, h: HeldPost, decide: boolean): Html {
  const what = h.thread_id === null
    ? html`A ${h.kind ?? 'thread'}: <strong>${h.title}</strong>`
    : html`A reply to <a href="/threads/${h.thread_id}">${h.thread_title ?? 'a thread'}</a>`;
  return html`<li id="held-${h.id}" class="held">
<p>${what} by @${h.author_username} in <a href="/neighbourhoods/${h.neighbourhood_handle}">${h.neighbourhood_name}</a>, ${when(h.created_at, ctx.locale)}
 — <strong class="status-open">awaiting approval</strong> (held because ${h.reason}).</p>
<div class="body">${trusted(h.body_html)}</div>
${decide
    ? html`<form method="post" action="/held-posts/${h.id}/approve" class="inline">${csrfField(ctx)}<button type="submit">Approve</button></form>
<form method="post" action="/held-posts/${h.id}/reject" class="inline">${csrfField(ctx)}
  <label for="reason-${h.id}">Reason</label> <input id="reason-${h.id}" name="reason" maxlength="1000">
  <button type="submit" class="secondary">Reject</button></form>`
    : null}
</li>`;
}

export interface HeldQueueData {
  neighbourhood: { handle: string; name: string };
  settings: Settings;
  held: HeldPost[];
  error?: string;
  status?: number;
}

export function heldQueuePage(ctx: PageContext, d: HeldQueueData) {
  const n = d.neighbourhood;
  return page(ctx, `Held posts · ${n.name}`, html`
<nav aria-label="Breadcrumb" class="crumbs"><a href="/neighbourhoods/${n.handle}">${n.name}</a> › <a href="/neighbourhoods/${n.handle}/moderation">Moderation</a></nav>
<h1>Posts awaiting approval</h1>
<p>Held posts are seen only by their authors and ${n.name}\u2019s moderators, and reach no other server, until approved.</p>
${d.held.length ? html`<ul class="held-posts">${d.held.map((h) => heldItem(ctx, h, true))}</ul>` : html`<p>Nothing is waiting.</p>`}
<section aria-labelledby="holding-heading"><h2 id="holding-heading">What waits for approval</h2>
${errorSummary(d.error)}
<form method="post" action="/neighbourhoods/${n.handle}/premoderation">${csrfField(ctx)}
  ${field('holdFirstPosts', 'Hold the first posts of members new here', { type: 'number', required: true, value: String(d.settings.holdFirstPosts), hint: 'How many of a newcomer\u2019s posts (here or from another server) a moderator approves; 0 holds none.', attributes: html` min="0" max="100"` })}
  <p class="field"><label for="f-holdWords">Hold posts with these words or phrases <span class="optional">(optional)</span></label>
  <span class="hint" id="f-holdWords-hint">One a line; matched as whole words, whatever the case.</span>
  <textarea id="f-holdWords" name="holdWords" rows="5" maxlength="20000" aria-describedby="f-holdWords-hint">${d.settings.holdWords.join('\n')}</textarea></p>
  <p><button type="submit">Save</button></p>
</form></section>`, { status: d.status ?? 200 });
}

export function myHeldPostsPage(ctx: PageContext, held: HeldPost[]) {
  return page(ctx, 'Your posts awaiting approval', html`
<h1>Your posts awaiting approval</h1>
<p>The neighbourhood\u2019s moderators look at these before anyone else sees them.</p>
${held.length ? html`<ul class="held-posts">${held.map((h) => heldItem(ctx, h, false))}</ul>` : html`<p>Nothing of yours is waiting.</p>`}`);
}

export const heldLink = (handle: string) => html`<p><a href="/neighbourhoods/${handle}/held-posts">Posts awaiting approval</a></p>`;
