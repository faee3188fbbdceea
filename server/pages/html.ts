// A tagged template that escapes every interpolated value unless it is already known-safe markup.
// The only ways to pass markup through are other `html` fragments and `trusted()`, which is for the
// sanitizer's output (server/markdown.ts) and nothing else.

export class Html {
  readonly text: string;
  constructor(text: string) {
    this.text = text;
  }
  toString(): string {
    return this.text;
  }
}

const entities: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;', '`': '&#96;' };

const special = /[&<>"'`]/;
// Most values (ids, times, names) have nothing to escape: a test is cheaper than a replace that finds nothing.
export const escape = (text: string): string => (special.test(text) ? text.replace(/[&<>"'`]/g, (c) => entities[c]!) : text);

export type Fragment = Html | string | number | boolean | null | undefined | readonly Fragment[];

function render(value: Fragment): string {
  if (value === null || value === undefined || value === false) return '';
  if (value instanceof Html) return value.text;
  if (Array.isArray(value)) return value.map(render).join('');
  return escape(String(value));
}

export function html(strings: TemplateStringsArray, ...values: Fragment[]): Html {
  let out = strings[0]!;
  for (let i = 0; i < values.length; i++) out += render(values[i]!) + strings[i + 1]!;
  return new Html(out);
}

/** Marks HTML that has been through `sanitizeHtml` or `renderMarkdown` as safe to insert. */
export const trusted = (sanitized: string): Html => new Html(sanitized);
