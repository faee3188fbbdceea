// Writing feeds for feed readers and calendars: RSS 2.0, Atom 1.0 and iCalendar (RFC 5545).
// Content is the already sanitised HTML we store; everything is escaped for its format here.

export interface FeedEntry {
  id: string;
  url: string;
  title: string;
  html: string;
  author: string | null;
  published: Date;
  updated: Date;
  categories: string[];
}

export interface FeedDocument {
  title: string;
  description: string;
  /** The page the feed is about, and the feed's own URL. */
  url: string;
  selfUrl: string;
  updated: Date;
  entries: FeedEntry[];
}

const escapeXml = (text: string) =>
  text
    // Characters XML 1.0 forbids outright would make the whole document unreadable.
    .replace(/[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu, '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;');

export function toRss(feed: FeedDocument): string {
  const items = feed.entries.map((e) => `    <item>
      <title>${escapeXml(e.title)}</title>
      <link>${escapeXml(e.url)}</link>
      <guid isPermaLink="true">${escapeXml(e.id)}</guid>
      <pubDate>${e.published.toUTCString()}</pubDate>
${e.author ? `      <dc:creator>${escapeXml(e.author)}</dc:creator>\n` : ''}${e.categories.map((c) => `      <category>${escapeXml(c)}</category>\n`).join('')}      <description>${escapeXml(e.html)}</description>
    </item>
`).join('');
  return `<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom" xmlns:dc="http://purl.org/dc/elements/1.1/">
  <channel>
    <title>${escapeXml(feed.title)}</title>
    <link>${escapeXml(feed.url)}</link>
    <description>${escapeXml(feed.description)}</description>
    <atom:link href="${escapeXml(feed.selfUrl)}" rel="self" type="application/rss+xml"/>
    <lastBuildDate>${feed.updated.toUTCString()}</lastBuildDate>
${items}  </channel>
</rss>
`;
}

export function toAtom(feed: FeedDocument): string {
  const entries = feed.entries.map((e) => `  <entry>
    <id>${escapeXml(e.id)}</id>
    <title>${escapeXml(e.title)}</title>
    <link rel="alternate" type="text/html" href="${escapeXml(e.url)}"/>
    <published>${e.published.toISOString()}</published>
    <updated>${e.updated.toISOString()}</updated>
${e.author ? `    <author><name>${escapeXml(e.author)}</name></author>\n` : ''}${e.categories.map((c) => `    <category term="${escapeXml(c)}"/>\n`).join('')}    <content type="html">${escapeXml(e.html)}</content>
  </entry>
`).join('');
  return `<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <id>${escapeXml(feed.selfUrl)}</id>
  <title>${escapeXml(feed.title)}</title>
  <subtitle>${escapeXml(feed.description)}</subtitle>
  <link rel="alternate" type="text/html" href="${escapeXml(feed.url)}"/>
  <link rel="self" type="application/atom+xml" href="${escapeXml(feed.selfUrl)}"/>
  <updated>${feed.updated.toISOString()}</updated>
${entries}</feed>
`;
}

export interface CalendarEvent {
  uid: string;
  url: string;
  title: string;
  description: string;
  startsAt: Date;
  endsAt: Date | null;
  place: string | null;
  created: Date;
  updated: Date;
}

const icsText = (text: string) => text.replace(/\\/g, '\\\\').replace(/;/g, '\\;').replace(/,/g, '\\,').replace(/\r?\n/g, '\\n');
const icsTime = (date: Date) => date.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');

/** Lines longer than 75 octets are folded onto continuation lines, never inside a UTF-8 character. */
function fold(line: string): string {
  const parts: string[] = [];
  let current = '';
  let octets = 0;
  for (const char of line) {
    const size = Buffer.byteLength(char);
    if (octets + size > (parts.length ? 74 : 75)) {
      parts.push(current);
      current = '';
      octets = 0;
    }
    current += char;
    octets += size;
  }
  parts.push(current);
  return parts.join('\r\n ');
}

export function toICalendar(calendar: { name: string; productId: string; events: CalendarEvent[] }): string {
  const lines = ['BEGIN:VCALENDAR', 'VERSION:2.0', `PRODID:${icsText(calendar.productId)}`, 'CALSCALE:GREGORIAN', `X-WR-CALNAME:${icsText(calendar.name)}`];
  for (const e of calendar.events) {
    lines.push(
      'BEGIN:VEVENT',
      `UID:${icsText(e.uid)}`,
      `DTSTAMP:${icsTime(e.updated)}`,
      `CREATED:${icsTime(e.created)}`,
      `LAST-MODIFIED:${icsTime(e.updated)}`,
      `DTSTART:${icsTime(e.startsAt)}`,
      ...(e.endsAt ? [`DTEND:${icsTime(e.endsAt)}`] : []),
      `SUMMARY:${icsText(e.title)}`,
      `DESCRIPTION:${icsText(e.description)}`,
      ...(e.place ? [`LOCATION:${icsText(e.place)}`] : []),
      `URL:${e.url}`,
      'END:VEVENT',
    );
  }
  lines.push('END:VCALENDAR');
  return `${lines.map(fold).join('\r\n')}\r\n`;
}
