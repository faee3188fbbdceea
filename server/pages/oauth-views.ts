// The pages OAuth needs: sign in (unless already signed in) and allow or deny an app; the code to copy for
// apps without a web callback; and why an app cannot be authorized.
import { errorSummary, field } from './forms.ts';
import { html } from './html.ts';
import { csrfField, page, type PageContext } from './layout.ts';

const scopeWords: Record<string, string> = {
  read: 'read everything your account can see',
  write: 'post, reply, like and change things as you',
  follow: 'join and leave neighbourhoods, follow and unfollow',
  push: 'send you push notifications',
  profile: 'see your account name and profile',
};
const describeScope = (scope: string) => scopeWords[scope] ?? scope.replace(':', ': ');

export interface ConsentData {
  appName: string;
  appWebsite: string | null;
  scopes: string[];
  /** The member signed in to our pages, or null when the page must ask for a username and password. */
  signedInAs: string | null;
  /** Hidden fields that carry the authorization request through the form. */
  hidden: Record<string, string | undefined>;
  error?: string;
  username?: string;
  status?: number;
}

export function consentPage(ctx: PageContext, d: ConsentData) {
  // Only a web address becomes a link: a website of `javascript:…` must not run on our page.
  const app = d.appWebsite && /^https?:\/\//i.test(d.appWebsite) ? html`<a href="${d.appWebsite}" rel="nofollow noopener noreferrer">${d.appName}</a>` : d.appName;
  const hidden = Object.entries(d.hidden).filter((entry): entry is [string, string] => entry[1] !== undefined);
  return page(ctx, `Allow ${d.appName}?`, html`
<h1>Allow ${app} to use your ${ctx.instanceName} account?</h1>
${errorSummary(d.error)}
<p>It will be able to:</p>
<ul>${d.scopes.map((s) => html`<li>${describeScope(s)}</li>`)}</ul>
<form method="post" action="/oauth/authorize" class="narrow">
  ${csrfField(ctx)}${hidden.map(([name, value]) => html`<input type="hidden" name="${name}" value="${value}">`)}
  ${d.signedInAs
    ? html`<p>You are signed in as <strong>@${d.signedInAs}</strong>.</p>`
    : html`${field('username', 'Username', { value: d.username, required: true, maxLength: 64, autocomplete: 'username' })}
  ${field('password', 'Password', { type: 'password', required: true, maxLength: 1024, autocomplete: 'current-password' })}`}
  <p><button type="submit" name="decision" value="allow">Allow</button> <button type="submit" name="decision" value="deny" class="secondary">Deny</button></p>
</form>`, { status: d.status ?? 200 });
}

export function codePage(ctx: PageContext, code: string) {
  return page(ctx, 'Authorization code', html`<h1>Copy this code into the app</h1>
<p><code>${code}</code></p>`);
}

export function cannotAuthorizePage(ctx: PageContext, status: number, message: string) {
  return page(ctx, 'Cannot authorize', html`<h1>This app cannot be authorized</h1>
<div class="error" role="alert"><p>${message}</p></div>`, { status });
}
