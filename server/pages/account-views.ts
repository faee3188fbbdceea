// Pages about people: joining, logging in, and a member's profile.
import type { Member } from '../accounts/domain.ts';
import type { ProfilePost } from '../profile-posts/domain.ts';
import type { Thread } from '../threads/domain.ts';
import { when } from './format.ts';
import { errorSummary, field } from './forms.ts';
import { html, trusted } from './html.ts';
import { csrfField, page, type PageContext } from './layout.ts';
import { threadSummary } from './neighbourhood-views.ts';

export function loginPage(ctx: PageContext, next: string, username = '', error?: string, status = 200) {
  return page(ctx, 'Log in', html`
<h1>Log in</h1>
${errorSummary(error)}
<form method="post" action="/login" class="narrow">
  ${csrfField(ctx)}<input type="hidden" name="next" value="${next}">
  ${field('username', 'Username', { value: username, required: true, maxLength: 64, autocomplete: 'username' })}
  ${field('password', 'Password', { type: 'password', required: true, maxLength: 1024, autocomplete: 'current-password' })}
  <p><button type="submit">Log in</button></p>
</form>
<p>New here? <a href="/register">Join ${ctx.instanceName}</a>.</p>`, { status });
}

export function registerPage(ctx: PageContext, username = '', error?: string, status = 200) {
  return page(ctx, 'Join', html`
<h1>Join ${ctx.instanceName}</h1>
${errorSummary(error)}
<form method="post" action="/register" class="narrow">
  ${csrfField(ctx)}
  ${field('username', 'Username', { value: username, required: true, maxLength: 30, autocomplete: 'username', hint: `Letters, digits and _. Others will find you as @name@${ctx.domain}.` })}
  ${field('password', 'Password', { type: 'password', required: true, maxLength: 256, autocomplete: 'new-password', hint: 'At least 8 characters.' })}
  <p><button type="submit">Join</button></p>
</form>
<p>Already a member? <a href="/login">Log in</a>.</p>`, { status });
}

export function pendingPage(ctx: PageContext) {
  return page(ctx, 'Almost there', html`<h1>Almost there</h1><p>Your account is waiting for an admin to approve it. You can log in once they have.</p>`);
}

export function memberPage(ctx: PageContext, member: Member, threads: Thread[], posts: ProfilePost[]) {
  const name = member.display_name || member.username;
  return page(ctx, name, html`
<header class="page-head">
  <h1>${name}</h1>
  <p class="meta"><code class="handle">@${member.username}@${ctx.domain}</code>${member.role !== 'member' ? html` · ${member.role === 'admin' ? 'Admin' : 'Moderator'}` : null}</p>
  <p class="meta">Neighbour since ${when(member.created_at, ctx.locale, 'date')}</p>
</header>
${member.bio ? html`<section aria-labelledby="bio-heading"><h2 id="bio-heading">About</h2><p class="bio">${member.bio}</p></section>` : null}
${posts.length ? html`<section aria-labelledby="own-posts-heading">
  <h2 id="own-posts-heading">Posts</h2>
  <ol class="thread-list">${posts.map((p) => html`<li id="post-${p.id}"><article>
    <div class="body">${trusted(p.body_html)}</div>
    <p class="meta"><a href="/posts/${p.id}">${when(p.created_at, ctx.locale, 'date')}</a>${p.edited_at ? ' · edited' : null}</p>
  </article></li>`)}</ol>
</section>` : null}
<section aria-labelledby="posts-heading">
  <h2 id="posts-heading">Recent threads</h2>
  ${threads.length ? html`<ol class="thread-list">${threads.map((t) => threadSummary(ctx, t, true))}</ol>` : html`<p>No threads yet.</p>`}
</section>`);
}
