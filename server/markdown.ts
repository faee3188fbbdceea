// Authors write Markdown; everything that reaches a page or another server is sanitized HTML.
import { Marked } from 'marked';
import sanitize from 'sanitize-html';

const marked = new Marked({ gfm: true, breaks: true, async: false });

const options: sanitize.IOptions = {
  allowedTags: [
    'p', 'br', 'hr', 'strong', 'b', 'em', 'i', 'u', 's', 'del', 'sup', 'sub', 'blockquote', 'code', 'pre',
    'ul', 'ol', 'li', 'a', 'span', 'img', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'table', 'thead', 'tbody', 'tr', 'th', 'td',
  ],
  allowedAttributes: {
    a: ['href', 'title', 'rel'],
    img: ['src', 'alt', 'title'],
    span: ['class'],
    ol: ['start'],
    th: ['align'],
    td: ['align'],
  },
  // Mentions and hashtags from other fediverse software keep the classes their clients style.
  allowedClasses: { a: ['mention', 'hashtag', 'u-url', 'h-card'], span: ['h-card', 'invisible', 'ellipsis'] },
  allowedSchemes: ['http', 'https', 'mailto'],
  allowedSchemesByTag: { img: ['http', 'https'] },
  allowProtocolRelative: false,
  disallowedTagsMode: 'discard',
  transformTags: {
    // Links written by strangers must not pass on ranking or give the target a handle on our window.
    a: sanitize.simpleTransform('a', { rel: 'nofollow noopener noreferrer ugc' }),
  },
};

export function sanitizeHtml(html: string): string {
  return sanitize(html, options);
}

export function renderMarkdown(source: string): string {
  return sanitizeHtml(marked.parse(source) as string);
}

/** Plain text of a piece of HTML, for titles and summaries. */
export function plainText(html: string): string {
  return sanitize(html, { allowedTags: [], allowedAttributes: {} }).trim();
}

const entities: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Plain text made safe to put in HTML, in element content and in quoted attribute values alike. */
export const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => entities[c]!);
