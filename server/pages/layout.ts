// The frame every page shares: language, skip link, site header with the visitor's account links.
import type { Viewer } from '../accounts/domain.ts';
import { type Fragment, html, type Html } from './html.ts';
import type { Locale } from './format.ts';

/** What every page needs to know about the request it answers. */
export interface PageContext {
  instanceName: string;
  domain: string;
  viewer: Viewer | null;
  csrf: string;
  locale: Locale;
  /** The path and query of this page, for sending the visitor back after signing in. */
  path: string;
}

export const csrfField = (ctx: PageContext) => html`<input type="hidden" name="_csrf" value="${ctx.csrf}">`;

/** A one-button form: every change of state is a POST carrying the CSRF token. */
export const buttonForm = (ctx: PageContext, action: string, label: Fragment, fields: Record<string, string> = {}, extra: Fragment = null) =>
  html`<form method="post" action="${action}" class="inline">${csrfField(ctx)}${Object.entries(fields).map(
    ([name, value]) => html`<input type="hidden" name="${name}" value="${value}">`,
  )}<button type="submit"${extra}>${label}</button></form>`;

/** A feed a page offers to feed readers, announced in its head with `<link rel="alternate">`. */
export interface AlternateFeed {
  type: string;
  title: string;
  href: string;
}

export function page(ctx: PageContext, title: string, body: Fragment, options: { status?: number; feeds?: AlternateFeed[] } = {}): { status: number; html: Html } {
  const viewer = ctx.viewer;
  const account = viewer
    ? html`<li><a href="/home"${ctx.path.split('?')[0] === '/home' ? html` aria-current="page"` : null}>Home</a></li>
        <li><a href="/neighbourhoods/new">Start a neighbourhood</a></li>
        <li><a href="/members/${viewer.username}">@${viewer.username}</a></li>
        <li>${buttonForm(ctx, '/logout', 'Log out')}</li>`
    : html`<li><a href="/login?next=${encodeURIComponent(ctx.path)}">Log in</a></li><li><a href="/register">Join</a></li>`;
  return {
    status: options.status ?? 200,
    html: html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · ${ctx.instanceName}</title>
<link rel="stylesheet" href="/static/site.css">
${(options.feeds ?? []).map((f) => html`<link rel="alternate" type="${f.type}" title="${f.title}" href="${f.href}">
`)}<script src="/static/site.js" defer></script>
</head>
<body data-csrf="${ctx.csrf}">
<a class="skip" href="#main">Skip to main content</a>
<header class="site">
  <a class="brand" href="/">${ctx.instanceName}</a>
  <nav aria-label="Your account"><ul>${account}</ul></nav>
</header>
<main id="main" tabindex="-1">
${body}
</main>
<footer class="site"><p>${ctx.instanceName} is a neighbourhood forum at ${ctx.domain}. Anyone on the fediverse can follow its neighbourhoods.</p></footer>
</body>
</html>`,
  };
}

export function errorPage(ctx: PageContext, status: number, message: string) {
  const title = status === 404 ? 'Not found' : status === 403 ? 'Not allowed' : status >= 500 ? 'Something went wrong' : 'That did not work';
  const signIn = status === 401 ? html`<p><a href="/login?next=${encodeURIComponent(ctx.path)}">Log in</a> and try again.</p>` : null;
  return page(ctx, title, html`<h1>${title}</h1><p>${message}</p>${signIn}<p><a href="/">Back to the neighbourhoods</a></p>`, { status });
}
