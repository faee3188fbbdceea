// The one page OAuth needs: sign in (unless already signed in) and allow or deny an app.
// Plain server-rendered HTML with no script; every value written into it is escaped.
import { escapeHtml } from '../markdown.ts';

/** No script, no framing (a consent button must not be clickjacked), forms post only to us. */
export const pageSecurityHeaders = {
  'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'",
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
  'content-type': 'text/html; charset=utf-8',
};

const scopeWords: Record<string, string> = {
  read: 'read everything your account can see',
  write: 'post, reply, like and change things as you',
  follow: 'join and leave neighbourhoods, follow and unfollow',
  push: 'send you push notifications',
  profile: 'see your account name and profile',
};
const describeScope = (scope: string) => scopeWords[scope] ?? scope.replace(':', ': ');

function layout(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>
body { font: 1.1rem/1.5 system-ui, sans-serif; max-width: 32rem; margin: 2rem auto; padding: 0 1rem; color: #1a1a1a; background: #fff; }
label { display: block; margin-top: 1rem; font-weight: 600; }
input[type=text], input[type=password] { width: 100%; padding: .5rem; font: inherit; border: 2px solid #555; border-radius: 4px; box-sizing: border-box; }
button { margin: 1.5rem 1rem 0 0; padding: .6rem 1.2rem; font: inherit; border-radius: 4px; border: 2px solid #1a4d8f; }
button[value=allow] { background: #1a4d8f; color: #fff; }
button[value=deny] { background: #fff; color: #1a4d8f; }
:focus-visible { outline: 3px solid #c60; outline-offset: 2px; }
.error { border-left: 4px solid #b00020; padding-left: .75rem; color: #b00020; }
code { font-size: 1.2rem; word-break: break-all; }
</style>
</head>
<body>
<main>
${body}
</main>
</body>
</html>
`;
}

export interface ConsentPage {
  instanceName: string;
  appName: string;
  appWebsite: string | null;
  scopes: string[];
  /** The signed-in member, or null when the page must ask for a username and password. */
  signedInAs: string | null;
  /** Hidden fields that carry the authorization request through the form. */
  hidden: Record<string, string | undefined>;
  error?: string;
  username?: string;
}

export function consentPage(page: ConsentPage): string {
  const hidden = Object.entries(page.hidden)
    .filter((entry): entry is [string, string] => entry[1] !== undefined)
    .map(([name, value]) => `<input type="hidden" name="${escapeHtml(name)}" value="${escapeHtml(value)}">`)
    .join('\n');
  // Only a web address becomes a link: a website of `javascript:…` must not run on our page.
  const app = page.appWebsite && /^https?:\/\//i.test(page.appWebsite)
    ? `<a href="${escapeHtml(page.appWebsite)}" rel="nofollow noopener noreferrer">${escapeHtml(page.appName)}</a>`
    : escapeHtml(page.appName);
  const signIn = page.signedInAs
    ? `<p>You are signed in as <strong>@${escapeHtml(page.signedInAs)}</strong>.</p>`
    : `<label for="username">Username</label>
<input type="text" id="username" name="username" autocomplete="username" required value="${escapeHtml(page.username ?? '')}"${page.error ? ' aria-describedby="error"' : ''}>
<label for="password">Password</label>
<input type="password" id="password" name="password" autocomplete="current-password" required>`;
  return layout(`Allow ${page.appName}? — ${page.instanceName}`, `<h1>Allow ${app} to use your ${escapeHtml(page.instanceName)} account?</h1>
${page.error ? `<p class="error" id="error" role="alert">${escapeHtml(page.error)}</p>` : ''}
<p>It will be able to:</p>
<ul>
${page.scopes.map((s) => `<li>${escapeHtml(describeScope(s))}</li>`).join('\n')}
</ul>
<form method="post" action="/oauth/authorize">
${hidden}
${signIn}
<button type="submit" name="decision" value="allow">Allow</button>
<button type="submit" name="decision" value="deny">Deny</button>
</form>`);
}

export function codePage(instanceName: string, code: string): string {
  return layout(`Authorization code — ${instanceName}`, `<h1>Copy this code into the app</h1>
<p><code>${escapeHtml(code)}</code></p>`);
}

export function errorPage(instanceName: string, message: string): string {
  return layout(`Cannot authorize — ${instanceName}`, `<h1>This app cannot be authorized</h1>
<p class="error" role="alert">${escapeHtml(message)}</p>`);
}
