// Pages for a member who follows many neighbourhoods: the merged home feed, what they follow with their
// sets and private feed URLs, a shared set, and the digest.
import type { ThreadKind } from '../database.ts';
import type { Digest, DigestPeriod } from '../digests/domain.ts';
import type { FeedItem } from '../feeds/domain.ts';
import type { Neighbourhood } from '../neighbourhoods/domain.ts';
import type { Reply, Thread } from '../threads/domain.ts';
import { when } from './format.ts';
import { errorSummary, field, nearPointFields, select } from './forms.ts';
import { type Fragment, html, type Html, trusted } from './html.ts';
import { buttonForm, csrfField, page, type PageContext } from './layout.ts';
import { kindNames, threadSummary } from './neighbourhood-views.ts';

/** A reply as the home feed lists it: which thread it answers, where, and what it says. */
export const feedReply = (ctx: PageContext, thread: Thread, r: Reply) => html`<li class="feed-reply" id="feed-reply-${r.id}">
  <p class="kind">Reply</p>
  <h3>Re: <a href="/threads/${thread.id}#reply-${r.id}">${thread.title}</a></h3>
  <p class="meta">${r.author_username ? html`by <a href="/members/${r.author_username}">${r.author_display_name || r.author_username}</a>` : 'by a former member'} in <a href="/neighbourhoods/${thread.neighbourhood_handle}">${thread.neighbourhood_name}</a> · ${when(r.created_at, ctx.locale, 'date')}${r.edited_at ? ' · edited' : null}</p>
  <div class="body">${trusted(r.body_html)}</div>
</li>`;

const feedItem = (ctx: PageContext, item: FeedItem) => (item.type === 'thread' ? threadSummary(ctx, item.thread, true) : feedReply(ctx, item.thread, item.reply));

/** The home feed's filters as typed into its form; every one optional. */
export interface HomeQuery {
  set?: string;
  kind?: ThreadKind;
  place?: string;
  lat?: string;
  lng?: string;
  within?: string;
}

export interface HomePageData {
  query: HomeQuery;
  sets: { id: number; name: string }[];
  followCount: number;
  items: FeedItem[];
  next: string | null;
  error?: string;
}

export function homePage(ctx: PageContext, data: HomePageData) {
  const q = data.query;
  const near = !!(q.lat || q.lng || q.within);
  const present = Object.fromEntries(Object.entries(q).filter(([, v]) => v)) as Record<string, string>;
  const more = data.next ? `/home?${new URLSearchParams({ ...present, cursor: data.next })}` : null;
  // Live updates cannot tell which set or place a new post falls in, so only the kind filter keeps them.
  const live = !q.set && !q.place && !near;
  return page(ctx, 'Home', html`
<h1>Home</h1>
<p class="lede">New threads and replies in the ${data.followCount} ${data.followCount === 1 ? 'neighbourhood' : 'neighbourhoods'} you follow, newest first.
<a href="/following">What you follow, sets and feeds</a> · <a href="/digest">Your digest</a></p>
<form method="get" action="/home" class="search" aria-label="Filter your feed">
  <div class="pair">
    ${select('set', 'Set', [['', 'Everything you follow'], ...data.sets.map((s) => [String(s.id), s.name] as const)], q.set ?? '')}
    ${select('kind', 'Kind', [['', 'All kinds'], ...Object.entries(kindNames).map(([k, v]) => [k, v.many] as const)], q.kind ?? '')}
  </div>
  ${field('place', 'Place name', { value: q.place, maxLength: 200, unmarked: true, hint: 'Only neighbourhoods whose place name contains this.' })}
  ${nearPointFields(q, { id: 'home-near-hint', summary: 'Only near a point', hint: 'Decimal degrees and a distance in kilometres.' }, !!near)}
  <p><button type="submit">Filter</button></p>
</form>
${errorSummary(data.error)}
${data.items.length
    ? null
    : html`<p>Nothing here yet.${data.followCount ? null : html` <a href="/">Find neighbourhoods</a> and follow them to fill your feed.`}</p>`}
<ol class="thread-list feed"${live ? html` data-stream="home"` : null}${live && q.kind ? html` data-kind="${q.kind}"` : null}>${data.items.map((item) => feedItem(ctx, item))}</ol>
${more ? html`<p><a href="${more}" rel="next">Older</a></p>` : null}`);
}

export interface FollowingPageData {
  following: Neighbourhood[];
  sets: { set: { id: number; name: string; shared: boolean; share_key: string }; neighbourhoods: Neighbourhood[] }[];
  feedTokens: { id: number; label: string; created_at: Date }[];
  /** A feed token just made: its URLs can be shown this once, since only its hash is kept. */
  newToken?: { label: string; urls: Record<string, string> };
  shareUrl: (key: string) => string;
  error?: string;
  status?: number;
}

function setSection(ctx: PageContext, data: FollowingPageData, entry: FollowingPageData['sets'][number]): Html {
  const { set, neighbourhoods } = entry;
  const inSet = new Set(neighbourhoods.map((n) => n.id));
  const addable = data.following.filter((n) => !inSet.has(n.id));
  const base = `/following/sets/${set.id}`;
  return html`<li class="card" id="set-${set.id}">
  <h3>${set.name}</h3>
  ${neighbourhoods.length
    ? html`<ul>${neighbourhoods.map((n) => html`<li><a href="/neighbourhoods/${n.handle}">${n.name}</a> ${buttonForm(ctx, `${base}/remove`, html`Remove<span class="visually-hidden"> ${n.name} from ${set.name}</span>`, { neighbourhoodId: String(n.id) }, html` class="link"`)}</li>`)}</ul>`
    : html`<p>No neighbourhoods in this set yet.</p>`}
  ${addable.length
    ? html`<form method="post" action="${base}/add" class="inline-form">${csrfField(ctx)}
    <p class="field"><label for="add-${set.id}">Add to ${set.name}</label>
    <select id="add-${set.id}" name="neighbourhoodId">${addable.map((n) => html`<option value="${n.id}">${n.name}</option>`)}</select></p>
    <p><button type="submit" class="secondary">Add</button></p></form>`
    : null}
  <p>${set.shared
    ? html`Shared: anyone with <a href="${data.shareUrl(set.share_key)}">this link</a> can see it. <code class="share-url">${data.shareUrl(set.share_key)}</code>`
    : 'Private: only you see it.'}</p>
  <p>${buttonForm(ctx, `${base}/share`, set.shared ? 'Stop sharing' : 'Share with a link', { shared: set.shared ? '0' : '1' }, html` class="secondary"`)}
  <a href="/home?set=${set.id}">Read this set</a>
  ${buttonForm(ctx, `${base}/delete`, html`Delete set<span class="visually-hidden"> ${set.name}</span>`, {}, html` class="link danger" data-confirm="Delete this set? You keep following its neighbourhoods."`)}</p>
</li>`;
}

export function followingPage(ctx: PageContext, data: FollowingPageData) {
  const fresh = data.newToken
    ? html`<div class="notice" role="status"><p><strong>Your private feed URLs</strong>${data.newToken.label ? html` (${data.newToken.label})` : null}. Copy them now: they are shown only once.</p>
<dl class="details feed-urls">${Object.entries({ 'Home (Atom)': data.newToken.urls.homeAtom, 'Home (RSS)': data.newToken.urls.homeRss, 'Digest (Atom)': data.newToken.urls.digestAtom, 'Digest (RSS)': data.newToken.urls.digestRss }).map(
      ([label, url]) => html`<dt>${label}</dt><dd><code class="share-url">${url}</code></dd>`,
    )}</dl></div>`
    : null;
  return page(ctx, 'What you follow', html`
<h1>What you follow</h1>
${errorSummary(data.error)}
<section aria-labelledby="following-heading">
  <h2 id="following-heading">Neighbourhoods</h2>
  ${data.following.length
    ? html`<ul>${data.following.map((n) => html`<li><a href="/neighbourhoods/${n.handle}">${n.name}</a> <span class="meta">${n.place_name}</span> ${buttonForm(ctx, `/neighbourhoods/${n.handle}/unfollow`, html`Unfollow<span class="visually-hidden"> ${n.name}</span>`, { back: '/following' }, html` class="link"`)}</li>`)}</ul>`
    : html`<p>You follow no neighbourhood yet. <a href="/">Find some in the directory</a>.</p>`}
</section>
<section aria-labelledby="sets-heading">
  <h2 id="sets-heading">Sets</h2>
  <p>Group neighbourhoods you follow to read them together, and share a set with a link if you like.</p>
  ${data.sets.length ? html`<ul class="cards">${data.sets.map((s) => setSection(ctx, data, s))}</ul>` : null}
  <form method="post" action="/following/sets">
    ${csrfField(ctx)}
    ${field('name', 'Name of a new set', { required: true, maxLength: 100 })}
    <p class="field check"><input type="checkbox" id="f-shared" name="shared" value="1"> <label for="f-shared">Share it with a link</label></p>
    <p><button type="submit">Make the set</button></p>
  </form>
</section>
<section aria-labelledby="feeds-heading">
  <h2 id="feeds-heading">Private feed URL</h2>
  <p>A secret address for a feed reader to fetch your home feed and digest. Revoke it and it stops working at once.</p>
  ${fresh}
  ${data.feedTokens.length
    ? html`<ul>${data.feedTokens.map((token) => html`<li>${token.label || 'Unnamed'} · made ${when(token.created_at, ctx.locale, 'date')} ${buttonForm(ctx, `/following/feed-tokens/${token.id}/revoke`, html`Revoke<span class="visually-hidden"> ${token.label || 'the unnamed feed URL'}</span>`, {}, html` class="link danger"`)}</li>`)}</ul>`
    : null}
  <form method="post" action="/following/feed-tokens">
    ${csrfField(ctx)}
    ${field('label', 'What it is for', { maxLength: 100, hint: 'e.g. “my feed reader”.' })}
    <p><button type="submit">Make a private feed URL</button></p>
  </form>
</section>`, { status: data.status ?? 200 });
}

export function sharedSetPage(ctx: PageContext, set: { name: string; owner_username: string }, neighbourhoods: Neighbourhood[]) {
  return page(ctx, set.name, html`
<h1>${set.name}</h1>
<p class="lede">A set of neighbourhoods shared by <a href="/members/${set.owner_username}">@${set.owner_username}</a>.</p>
${neighbourhoods.length
    ? html`<ul class="cards">${neighbourhoods.map((n) => html`<li class="card"><h2><a href="/neighbourhoods/${n.handle}">${n.name}</a></h2><p class="meta">${n.place_name}</p></li>`)}</ul>`
    : html`<p>This set is empty.</p>`}`);
}

const counts = (t: Digest['threads'][number]): string =>
  [t.isNew && 'new', t.newReplies && `${t.newReplies} new ${t.newReplies === 1 ? 'reply' : 'replies'}`, t.newLikes && `${t.newLikes} ${t.newLikes === 1 ? 'like' : 'likes'}`]
    .filter(Boolean)
    .join(', ');

export function digestPage(ctx: PageContext, digest: Digest) {
  const periods: [DigestPeriod, string][] = [['daily', 'Last day'], ['weekly', 'Last week']];
  const title = `Your ${digest.period} digest`;
  const list: Fragment = digest.threads.length
    ? html`<ol class="thread-list">${digest.threads.map((entry) => html`<li class="thread-summary kind-${entry.thread.kind}">
  <p class="kind">${kindNames[entry.thread.kind].one}</p>
  <h2 class="summary-title"><a href="/threads/${entry.thread.id}">${entry.thread.title}</a></h2>
  <p class="meta">in <a href="/neighbourhoods/${entry.thread.neighbourhood_handle}">${entry.thread.neighbourhood_name}</a> · ${counts(entry)}</p>
</li>`)}</ol>`
    : html`<p>Nothing new in the neighbourhoods you follow.</p>`;
  return page(ctx, title, html`
<h1>${title}</h1>
<p class="lede">The liveliest threads in what you follow, from ${when(digest.from, ctx.locale)} to ${when(digest.until, ctx.locale)}.</p>
<nav aria-label="Digest period" class="tabs"><ul>${periods.map(
    ([period, label]) => html`<li><a href="/digest?period=${period}"${period === digest.period ? html` aria-current="page"` : null}>${label}</a></li>`,
  )}</ul></nav>
${list}`);
}
