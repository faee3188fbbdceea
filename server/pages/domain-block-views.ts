// The instance staff's page of blocked and allowed servers, with the forms to change them.
import type { DomainBlock } from '../domain-blocks/domain.ts';
import { when } from './format.ts';
import { errorSummary, field, select } from './forms.ts';
import { html } from './html.ts';
import { buttonForm, csrfField, page, type PageContext } from './layout.ts';

const severityNames = {
  suspend: 'Suspend: refuse everything from it, send it nothing',
  silence: 'Silence: its posts and follows wait for a moderator\u2019s approval',
  noop: 'Note only: record it, change nothing',
} as const;

export interface DomainBlocksData {
  blocks: DomainBlock[];
  allows: { domain: string; created_at: Date }[];
  limitedFederation: boolean;
  error?: string;
  status?: number;
  imported?: number;
}

export function domainBlocksPage(ctx: PageContext, d: DomainBlocksData) {
  return page(ctx, 'Blocked servers', html`
<nav aria-label="Breadcrumb" class="crumbs"><a href="/moderation">Instance moderation</a></nav>
<h1>Blocked servers</h1>
${errorSummary(d.error)}
${d.imported !== undefined ? html`<p role="status">Imported ${d.imported} block${d.imported === 1 ? '' : 's'}.</p>` : null}
${d.blocks.length
    ? html`<table class="domain-blocks"><thead><tr><th scope="col">Server</th><th scope="col">Severity</th><th scope="col">Public reason</th><th scope="col">Since</th><th scope="col"><span class="visually-hidden">Remove</span></th></tr></thead>
<tbody>${d.blocks.map((b) => html`<tr id="block-${b.domain}"><td>${b.domain}</td><td>${b.severity}</td><td>${b.public_comment || '—'}</td><td>${when(b.created_at, ctx.locale)}</td>
  <td>${buttonForm(ctx, `/admin/domain-blocks/${encodeURIComponent(b.domain)}/remove`, html`Unblock <span class="visually-hidden">${b.domain}</span>`, {}, html` class="secondary"`)}</td></tr>`)}</tbody></table>`
    : html`<p>No server is blocked.</p>`}
<p><a href="/api/admin/domain-blocks.csv" download>Export as CSV</a> (Mastodon\u2019s format)</p>

<section aria-labelledby="block-heading"><h2 id="block-heading">Block a server</h2>
<form method="post" action="/admin/domain-blocks">${csrfField(ctx)}
  ${field('domain', 'Server', { required: true, maxLength: 253, hint: 'Its domain, such as spam.example; servers under it are blocked too.' })}
  ${select('severity', 'Severity', Object.entries(severityNames), 'suspend')}
  ${field('publicComment', 'Reason', { maxLength: 1000 })}
  <p><button type="submit" class="danger">Block</button></p>
</form></section>

<section aria-labelledby="import-heading"><h2 id="import-heading">Import blocks</h2>
<form method="post" action="/admin/domain-blocks/import" enctype="multipart/form-data">${csrfField(ctx)}
  <p class="field"><label for="f-file">A CSV file <span class="optional">(optional)</span></label>
  <input id="f-file" name="file" type="file" accept=".csv,text/csv"></p>
  <p class="field"><label for="f-csv">Or paste the CSV <span class="optional">(optional)</span></label>
  <span class="hint" id="f-csv-hint">Mastodon\u2019s export, starting with #domain,#severity, or one domain a line.</span>
  <textarea id="f-csv" name="csv" rows="5" maxlength="1000000" aria-describedby="f-csv-hint"></textarea></p>
  <p><button type="submit">Import</button></p>
</form></section>

<section aria-labelledby="allow-heading"><h2 id="allow-heading">Allowed servers</h2>
<p>${d.limitedFederation ? 'This instance federates only with the servers listed here.' : 'Used only in allowlist mode (LIMITED_FEDERATION_MODE), which is off.'}</p>
${d.allows.length ? html`<ul>${d.allows.map((a) => html`<li>${a.domain} ${buttonForm(ctx, `/admin/domain-allows/${encodeURIComponent(a.domain)}/remove`, html`Remove <span class="visually-hidden">${a.domain}</span>`, {}, html` class="secondary"`)}</li>`)}</ul>` : html`<p>No server is on the allowlist.</p>`}
<form method="post" action="/admin/domain-allows">${csrfField(ctx)}
  ${field('allow', 'Server to allow', { required: true, maxLength: 253 })}
  <p><button type="submit">Allow</button></p>
</form></section>`, { status: d.status ?? 200 });
}
