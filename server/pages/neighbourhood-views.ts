// Pages about neighbourhoods: the directory, one neighbourhood with its threads, and the form to start one.
import type { ThreadKind } from '../database.ts';
import { renderMarkdown } from '../markdown.ts';
import type { Neighbourhood } from '../neighbourhoods/domain.ts';
import type { Thread } from '../threads/domain.ts';
import { distance, when } from './format.ts';
import { errorSummary, field, markdownEditor, nearPointFields } from './forms.ts';
import { html, type Html, trusted } from './html.ts';
import { type AlternateFeed, buttonForm, csrfField, page, type PageContext } from './layout.ts';

export const kindNames: Record<ThreadKind, { one: string; many: string }> = {
  discussion: { one: 'Discussion', many: 'Discussions' },
  event: { one: 'Event', many: 'Events' },
  offer: { one: 'Offer', many: 'Offers' },
  want: { one: 'Want', many: 'Wants' },
  story: { one: 'Story', many: 'Stories' },
};

export interface DirectoryQuery {
  q?: string;
  lat?: string;
  lng?: string;
  within?: string;
}

export function directoryPage(ctx: PageContext, query: DirectoryQuery, rows: (Neighbourhood & { distance: number | null })[], next: string | null, error?: string) {
  const near = query.lat && query.lng;
  const more = next ? `/?${new URLSearchParams({ ...query, cursor: next } as Record<string, string>)}` : null;
  return page(ctx, 'Neighbourhoods', html`
<h1>Neighbourhoods</h1>
<p class="lede">Find the people on your street: read what is going on, join in, lend a ladder, borrow a drill.</p>
<form method="get" action="/" class="search" role="search" aria-label="Find a neighbourhood">
  ${field('q', 'Name or place', { type: 'search', value: query.q, maxLength: 100, unmarked: true })}
  ${nearPointFields(query, { id: 'near-hint', summary: 'Search near a point', hint: 'Decimal degrees, e.g. 53.38 and -1.47. Neighbourhoods are then listed nearest first, with their distance.' }, !!near)}
  <p><button type="submit">Search</button></p>
</form>
${errorSummary(error)}
${rows.length === 0
    ? html`<p>No neighbourhood matches yet.${ctx.viewer ? html` <a href="/neighbourhoods/new">Start one</a>.` : null}</p>`
    : html`<ul class="cards" aria-label="${near ? 'Neighbourhoods, nearest first' : 'Neighbourhoods, most recently active first'}">${rows.map(
        (n) => html`<li class="card">
  <h2><a href="/neighbourhoods/${n.handle}">${n.name}</a></h2>
  <p class="meta">${n.place_name}${n.ap_id ? html` · on ${new URL(n.ap_id).host}` : null}${n.distance !== null ? html` · <strong>${distance(n.distance, ctx.locale)} away</strong>` : null} · ${n.member_count} ${
    n.member_count === 1 ? 'member' : 'members'
  }</p>
  <p class="meta">Last active ${when(n.last_activity_at, ctx.locale, 'date')}</p>
</li>`,
      )}</ul>`}
${more ? html`<p><a href="${more}" rel="next">More neighbourhoods</a></p>` : null}`);
}

export interface NeighbourhoodPageData {
  neighbourhood: Neighbourhood;
  moderators: { username: string; display_name: string }[];
  role: 'member' | 'moderator' | null;
  /** Whether the viewer follows it: its posts reach their home feed. Joining follows too, but one may unfollow. */
  following: boolean;
  threads: Thread[];
  kind: ThreadKind | undefined;
  next: string | null;
}

export const threadSummary = (ctx: PageContext, t: Thread, showNeighbourhood = false) => html`<li class="thread-summary kind-${t.kind}" id="thread-${t.id}">
  <p class="kind">${kindNames[t.kind].one}${t.exchange_status === 'fulfilled' ? ' · fulfilled' : null}</p>
  <h3><a href="/threads/${t.id}">${t.title}</a></h3>
  ${t.kind === 'event' && t.event_starts_at ? html`<p class="meta">${when(t.event_starts_at, ctx.locale)}${t.event_place ? html` · ${t.event_place}` : null}</p>` : null}
  ${t.exchange_item ? html`<p class="meta">${t.kind === 'offer' ? 'Offered' : 'Wanted'}: ${t.exchange_item}</p>` : null}
  <p class="meta">${t.author_username ? html`by <a href="/members/${t.author_username}">${t.author_display_name || t.author_username}</a>` : 'by a former member'}${
    showNeighbourhood ? html` in <a href="/neighbourhoods/${t.neighbourhood_handle}">${t.neighbourhood_name}</a>` : null
  } · ${t.reply_count} ${t.reply_count === 1 ? 'reply' : 'replies'} · ${when(t.last_activity_at, ctx.locale, 'date')}</p>
</li>`;

export function neighbourhoodPage(ctx: PageContext, data: NeighbourhoodPageData) {
  const n = data.neighbourhood;
  const handle = `@${n.handle}@${ctx.domain}`;
  const tabs: [ThreadKind | undefined, string][] = [[undefined, 'All'], ...Object.entries(kindNames).map(([k, v]) => [k as ThreadKind, v.many] as [ThreadKind, string])];
  const base = `/neighbourhoods/${n.handle}`;
  const membership = !ctx.viewer
    ? html`<p><a class="button" href="/login?next=${encodeURIComponent(base)}">Log in to join</a></p>`
    : data.role
      ? html`<div class="membership"><p>You are ${data.role === 'moderator' ? 'a moderator' : 'a member'} here.</p> ${buttonForm(ctx, `${base}/leave`, 'Leave', {}, html` class="secondary"`)}</div>`
      : buttonForm(ctx, `${base}/join`, html`Join ${n.name}`);
  const follow = ctx.viewer
    ? html`<div class="membership"><p>${data.following ? 'Its posts reach your home feed.' : 'Follow it to see its posts in your home feed, without joining.'}</p> ${
      buttonForm(ctx, `${base}/${data.following ? 'unfollow' : 'follow'}`, data.following ? 'Unfollow' : html`Follow ${n.name}`, {}, html` class="secondary"`)
    }</div>`
    : null;
  const feeds = neighbourhoodFeeds(n);
  const more = data.next ? `${base}?${new URLSearchParams({ ...(data.kind && { kind: data.kind }), cursor: data.next })}` : null;
  const point = n.latitude !== null && n.longitude !== null
    ? html`<p class="meta">Centre ${n.latitude.toFixed(4)}, ${n.longitude.toFixed(4)}${n.radius_metres ? html`, reaching about ${distance(n.radius_metres, ctx.locale)} around it` : null}</p>`
    : null;
  return page(ctx, n.name, html`
<header class="page-head">
  <h1>${n.name}</h1>
  <p class="meta">${n.place_name} · ${n.member_count} ${n.member_count === 1 ? 'member' : 'members'}</p>
  ${membership}
  ${follow}
  <div class="follow">
    <p>Follow from Mastodon or any other fediverse app: search for</p>
    <p><code class="handle" data-copy>${handle}</code></p>
  </div>
</header>
<div class="columns">
<section aria-labelledby="threads-heading" class="threads">
  <h2 id="threads-heading">Threads</h2>
  <nav aria-label="Kinds of thread" class="tabs"><ul>${tabs.map(
    ([kind, label]) => html`<li><a href="${kind ? `${base}?kind=${kind}` : base}"${kind === data.kind ? html` aria-current="page"` : null}>${label}</a></li>`,
  )}</ul></nav>
  ${data.role ? html`<p><a class="button" href="${base}/threads/new${data.kind ? `?kind=${data.kind}` : ''}">Start a thread</a></p>` : null}
  ${n.visibility === 'members' && !data.role
    ? html`<p class="members-only">Only members read ${n.name}’s threads. Ask to join and a moderator will decide.</p>`
    : data.threads.length
      ? null
      : html`<p>Nothing here yet.${data.role ? ' Be the first to post.' : ''}</p>`}
  <ol class="thread-list" data-stream="neighbourhood:${n.handle}"${data.kind ? html` data-kind="${data.kind}"` : null}>${data.threads.map((t) => threadSummary(ctx, t))}</ol>
  ${more ? html`<p><a href="${more}" rel="next">Older threads</a></p>` : null}
</section>
<aside class="about">
  <section aria-labelledby="about-heading"><h2 id="about-heading">About</h2>${n.description ? trusted(renderMarkdown(n.description)) : html`<p>No description yet.</p>`}</section>
  <section aria-labelledby="rules-heading"><h2 id="rules-heading">Rules</h2>${n.rules ? trusted(renderMarkdown(n.rules)) : html`<p>Be kind; the usual neighbourly rules.</p>`}</section>
  <section aria-labelledby="feeds-heading"><h2 id="feeds-heading">Feeds</h2><ul>${feeds.map((f) => html`<li><a href="${f.href}">${f.title}</a></li>`)}</ul></section>
  <section aria-labelledby="locality-heading"><h2 id="locality-heading">Where</h2><p>${n.place_name}</p>${point}</section>
  <section aria-labelledby="moderators-heading"><h2 id="moderators-heading">Moderators</h2><ul>${data.moderators.map(
    (m) => html`<li><a href="/members/${m.username}">${m.display_name || m.username}</a></li>`,
  )}</ul><p><a href="/neighbourhoods/${n.handle}/moderation">Moderation log</a></p></section>
</aside>
</div>`, { feeds });
}

/** The neighbourhood's public feed files (server/feeds), linked on its page and announced in its head. */
const neighbourhoodFeeds = (n: Neighbourhood): AlternateFeed[] => [
  { type: 'application/atom+xml', title: `${n.name}: threads (Atom)`, href: `/feeds/neighbourhoods/${n.handle}/threads.atom` },
  { type: 'application/rss+xml', title: `${n.name}: threads (RSS)`, href: `/feeds/neighbourhoods/${n.handle}/threads.rss` },
  { type: 'text/calendar', title: `${n.name}: events (iCalendar)`, href: `/feeds/neighbourhoods/${n.handle}/events.ics` },
];

export interface NeighbourhoodDraft {
  handle?: string;
  name?: string;
  description?: string;
  rules?: string;
  placeName?: string;
  latitude?: string;
  longitude?: string;
  radius?: string;
}

export function newNeighbourhoodPage(ctx: PageContext, draft: NeighbourhoodDraft, preview: { description: Html | null; rules: Html | null }, error?: string, status = 200) {
  return page(ctx, 'Start a neighbourhood', html`
<h1>Start a neighbourhood</h1>
${errorSummary(error)}
<form method="post" action="/neighbourhoods" novalidate>
  ${csrfField(ctx)}
  ${field('name', 'Name', { value: draft.name, required: true, maxLength: 100, hint: 'What neighbours call it, e.g. “Park Road and around”.' })}
  ${field('handle', 'Handle', { value: draft.handle, required: true, maxLength: 40, hint: `2 to 40 letters, digits, - or _. It makes the address people follow: @handle@${ctx.domain}.`, autocomplete: 'off' })}
  ${field('placeName', 'Place name', { value: draft.placeName, required: true, maxLength: 200, hint: 'The street, estate or village.' })}
  <fieldset>
    <legend>Centre point <span class="optional">(optional)</span></legend>
    <p class="hint" id="point-hint">Lets people nearby find you. Decimal degrees.</p>
    <div class="pair">
      ${field('latitude', 'Latitude', { value: draft.latitude, attributes: html` inputmode="decimal" aria-describedby="point-hint"` })}
      ${field('longitude', 'Longitude', { value: draft.longitude, attributes: html` inputmode="decimal" aria-describedby="point-hint"` })}
    </div>
    ${field('radius', 'Radius in metres', { value: draft.radius, attributes: html` inputmode="numeric"` })}
  </fieldset>
  ${markdownEditor('description', 'About', draft.description ?? '', preview.description, { required: false, rows: 4 })}
  ${markdownEditor('rules', 'Rules', draft.rules ?? '', preview.rules, { required: false, rows: 4 })}
  <p><button type="submit">Start the neighbourhood</button></p>
</form>`, { status });
}
