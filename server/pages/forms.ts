// Form pieces shared by every page: labelled fields, the Markdown editor with its preview, error summaries.
import { type Fragment, html, type Html } from './html.ts';

let counter = 0;
const describedBy = (...ids: (string | null)[]) => {
  const list = ids.filter(Boolean).join(' ');
  return list ? html` aria-describedby="${list}"` : null;
};

export interface FieldOptions {
  type?: string;
  value?: string | null;
  hint?: string;
  required?: boolean;
  /** Leaves out the "(optional)" mark, for forms where every field is optional, like a search. */
  unmarked?: boolean;
  maxLength?: number;
  autocomplete?: string;
  attributes?: Html;
}

export function field(name: string, label: string, options: FieldOptions = {}): Html {
  const id = `f-${name}`;
  const hintId = options.hint ? `${id}-hint` : null;
  return html`<p class="field"><label for="${id}">${label}${options.required || options.unmarked ? null : html` <span class="optional">(optional)</span>`}</label>
${options.hint ? html`<span class="hint" id="${hintId}">${options.hint}</span>` : null}
<input id="${id}" name="${name}" type="${options.type ?? 'text'}" value="${options.value ?? ''}"${options.required ? html` required` : null}${
    options.maxLength ? html` maxlength="${options.maxLength}"` : null
  }${options.autocomplete ? html` autocomplete="${options.autocomplete}"` : null}${describedBy(hintId)}${options.attributes ?? null}></p>`;
}

export function select(name: string, label: string, choices: readonly (readonly [string, string])[], selected: string, hint?: string): Html {
  const id = `f-${name}`;
  return html`<p class="field"><label for="${id}">${label}</label>${hint ? html`<span class="hint" id="${id}-hint">${hint}</span>` : null}
<select id="${id}" name="${name}"${describedBy(hint ? `${id}-hint` : null)}>${choices.map(
    ([value, text]) => html`<option value="${value}"${value === selected ? html` selected` : null}>${text}</option>`,
  )}</select></p>`;
}

/**
 * A Markdown text area with a Preview button. Without JavaScript the button posts the form back and the
 * server renders the preview; with it, the page script fills the same preview box as the author types.
 */
export function markdownEditor(name: string, label: string, source: string, previewHtml: Html | null, options: { required?: boolean; rows?: number } = {}): Html {
  const id = `f-${name}-${++counter}`;
  return html`<div class="editor" data-markdown-editor>
<p class="field"><label for="${id}">${label}</label>
<span class="hint" id="${id}-hint">Markdown works: **bold**, _italic_, [a link](https://example.org), lists starting with “- ”.</span>
<textarea id="${id}" name="${name}" rows="${options.rows ?? 6}" maxlength="20000"${options.required === false ? null : html` required`} aria-describedby="${id}-hint">${source}</textarea></p>
<p><button type="submit" name="preview" value="1" formnovalidate class="secondary">Preview</button></p>
<section class="preview" aria-live="polite" aria-label="Preview"${previewHtml ? null : html` hidden`}>${previewHtml ? html`<h3 class="preview-label">Preview</h3>${previewHtml}` : null}</section>
</div>`;
}

export const errorSummary = (message: string | null | undefined): Fragment =>
  message ? html`<div class="error" role="alert"><p><strong>That did not work:</strong> ${message}</p></div>` : null;

/** Form values arrive as strings; an empty field means "not given". */
export const given = (value: string | undefined): string | undefined => (value?.trim() ? value.trim() : undefined);

/**
 * The "near a point" part of a search form: latitude, longitude and a distance, folded away unless in
 * use, with a button the page script reveals to fill in the browser's location.
 */
export function nearPointFields(values: { lat?: string; lng?: string; within?: string }, text: { id: string; summary: string; hint: string }, open: boolean): Html {
  return html`<details class="near"${open ? html` open` : null}>
    <summary>${text.summary}</summary>
    <p class="hint" id="${text.id}">${text.hint}</p>
    <div class="pair">
      ${field('lat', 'Latitude', { value: values.lat, unmarked: true, attributes: html` inputmode="decimal" aria-describedby="${text.id}"` })}
      ${field('lng', 'Longitude', { value: values.lng, unmarked: true, attributes: html` inputmode="decimal" aria-describedby="${text.id}"` })}
    </div>
    ${field('within', 'Within (km)', { value: values.within, unmarked: true, attributes: html` inputmode="decimal"` })}
    <p><button type="button" class="secondary" data-locate hidden>Use my location</button></p>
  </details>`;
}
