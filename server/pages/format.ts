// Dates, times and distances in the viewer's language and time zone.
import type { FastifyRequest } from 'fastify';
import { html, type Html } from './html.ts';

export const timeZoneCookie = 'sm_tz';

export interface Locale {
  /** BCP 47 tag for dates and numbers, from Accept-Language. */
  language: string;
  /** IANA time zone: the browser's, reported by the page script in a cookie, else UTC. */
  timeZone: string;
}

/**
 * Building an Intl formatter costs far more than using one (and ICU's allocations fragment the native heap),
 * so pages reuse them: one per language, style and time zone. Keys come from request headers and cookies,
 * so the cache is bounded and simply starts afresh when full.
 */
const formatters = new Map<string, Intl.DateTimeFormat>();
function dateFormat(language: string, options: Intl.DateTimeFormatOptions): Intl.DateTimeFormat {
  return kept(formatters, 500, `${language}|${JSON.stringify(options)}`, () => new Intl.DateTimeFormat(language, options));
}

/** What `map` holds for `key`, made and kept if absent; a map holding `atMost` starts afresh. */
function kept<V>(map: Map<string, V>, atMost: number, key: string, make: () => V): V {
  let value = map.get(key);
  if (value === undefined) {
    if (map.size >= atMost) map.clear();
    value = make();
    map.set(key, value);
  }
  return value;
}

export function isTimeZone(name: string | undefined): name is string {
  if (!name || name.length > 64) return false;
  try {
    dateFormat('en', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

export function localeOf(request: FastifyRequest): Locale {
  const tags = (request.headers['accept-language'] ?? '')
    .split(',')
    .map((part) => part.split(';')[0]!.trim())
    .filter((tag) => /^[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*$/.test(tag));
  let language = 'en-GB';
  try {
    language = Intl.DateTimeFormat.supportedLocalesOf(tags)[0] ?? language;
  } catch {
    // a malformed tag: keep the default
  }
  const zone = request.cookies[timeZoneCookie];
  return { language, timeZone: isTimeZone(zone) ? zone : 'UTC' };
}

/**
 * The `<time>` element `when` drew for each instant, language, time zone and style. Formatting a date is
 * most of the work of drawing a post, and a thread's page shows the same posts' times to reader after
 * reader; bounded like the formatters, for the same reason.
 */
const drawnTimes = new Map<string, Html>();

/** A `<time>` element: readable text on the server, the exact instant for the page script to refine. */
export function when(date: Date, locale: Locale, style: 'date' | 'full' = 'full'): Html {
  return kept(drawnTimes, 10_000, `${date.getTime()}|${style}|${locale.timeZone}|${locale.language}`, () => {
    const text = dateFormat(locale.language, {
      dateStyle: style === 'date' ? 'medium' : 'full',
      ...(style === 'full' && { timeStyle: 'short' }),
      timeZone: locale.timeZone,
    }).format(date) + (style === 'full' && locale.timeZone === 'UTC' ? ' UTC' : '');
    return html`<time datetime="${date.toISOString()}" data-style="${style}" lang="${locale.language}">${text}</time>`;
  });
}

export function distance(metres: number, locale: Locale): string {
  const km = metres >= 1000;
  return new Intl.NumberFormat(locale.language, {
    style: 'unit',
    unit: km ? 'kilometer' : 'meter',
    maximumFractionDigits: km && metres < 10_000 ? 1 : 0,
  }).format(km ? metres / 1000 : Math.round(metres / 10) * 10);
}

function wallClock(at: number, timeZone: string) {
  const parts = Object.fromEntries(
    dateFormat('en-US', {
      timeZone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit',
    })
      .formatToParts(new Date(at))
      .map((p) => [p.type, p.value]),
  );
  return { year: +parts.year!, month: +parts.month!, day: +parts.day!, hour: +parts.hour!, minute: +parts.minute!, second: +parts.second! };
}

/** The instant a `datetime-local` value names in a time zone; undefined when the text is not one. */
export function fromLocalInput(value: string, timeZone: string): Date | undefined {
  const match = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})$/.exec(value);
  if (!match) return undefined;
  const [, y, mo, d, h, mi] = match.map(Number) as number[];
  const guess = Date.UTC(y!, mo! - 1, d!, h!, mi!);
  if (Number.isNaN(guess)) return undefined;
  const offset = (at: number) => {
    const c = wallClock(at, timeZone);
    return Date.UTC(c.year, c.month - 1, c.day, c.hour, c.minute, c.second) - at;
  };
  // Twice, so a guess that lands across a daylight-saving change settles on the right offset.
  const first = guess - offset(guess);
  return new Date(guess - offset(first));
}

export function toLocalInput(date: Date | null, timeZone: string): string {
  if (!date) return '';
  const c = wallClock(date.getTime(), timeZone);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${c.year}-${pad(c.month)}-${pad(c.day)}T${pad(c.hour)}:${pad(c.minute)}`;
}
