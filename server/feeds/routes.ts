// HTTP routes for feeds: the JSON home and public feeds under /api, and RSS, Atom and iCalendar under /feeds.
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import type { ThreadKind } from '../database.ts';
import { errorSchema } from '../errors.ts';
import { dateTime, decodeCursor, encodeCursor, nullable, pageQuerySchema, pointQuerySchema, requireViewer } from '../http.ts';
import { plainText } from '../markdown.ts';
import { presentReply, presentThread, replySchema, threadSchema } from '../threads/routes.ts';
import { threadKinds } from '../threads/domain.ts';
import * as feeds from './domain.ts';
import { type FeedDocument, type FeedEntry, toAtom, toICalendar, toRss } from './formats.ts';

const errors = { 400: errorSchema, 401: errorSchema, 403: errorSchema, 404: errorSchema };

const itemSchema = {
  type: 'object',
  properties: {
    type: { type: 'string', enum: ['thread', 'reply'] },
    at: dateTime,
    thread: threadSchema,
    reply: replySchema,
  },
} as const;
const feedResponse = { type: 'object', properties: { items: { type: 'array', items: itemSchema }, next: nullable({ type: 'string' }) } } as const;

const kindQuery = { kind: { type: 'string', enum: threadKinds } } as const;
const localityQuery = {
  ...pointQuerySchema,
  place: { type: 'string', minLength: 1, maxLength: 200 },
} as const;
const localityDependencies = { latitude: ['longitude', 'withinMetres'], longitude: ['latitude'], withinMetres: ['latitude'] } as const;

interface FeedQuery {
  kind?: ThreadKind;
  set?: number;
  latitude?: number;
  longitude?: number;
  withinMetres?: number;
  place?: string;
  limit: number;
  cursor?: string;
}

const toFilter = (query: FeedQuery): feeds.FeedFilter => ({
  kind: query.kind,
  setId: query.set,
  near: query.latitude !== undefined && query.longitude !== undefined && query.withinMetres !== undefined
    ? { latitude: query.latitude, longitude: query.longitude, withinMetres: query.withinMetres }
    : undefined,
  placeName: query.place?.trim(),
  limit: query.limit,
  after: decodeCursor(query.cursor),
});

export const presentItem = (item: feeds.FeedItem) => ({
  type: item.type,
  at: item.at,
  thread: presentThread(item.thread),
  ...(item.type === 'reply' && { reply: presentReply(item.reply) }),
});

const presentPage = ({ items, next }: { items: feeds.FeedItem[]; next?: { sort: string | number; id: number } }) => ({
  items: items.map(presentItem),
  next: next ? encodeCursor(next) : null,
});

const tokenSchema = {
  type: 'object',
  properties: {
    id: { type: 'integer' },
    label: { type: 'string' },
    createdAt: dateTime,
    token: { type: 'string' },
    urls: { type: 'object', additionalProperties: { type: 'string' } },
  },
} as const;

/** JSON feeds and private feed tokens, under /api. */
export const feedApiRoutes: FastifyPluginAsync = async (app) => {
  app.get<{ Querystring: FeedQuery }>('/home', {
    schema: {
      summary: 'Your home feed: new threads and replies in what you follow, newest first',
      querystring: {
        type: 'object',
        additionalProperties: false,
        properties: { ...kindQuery, set: { type: 'integer', minimum: 1, maximum: 2_147_483_647 }, ...localityQuery, ...pageQuerySchema },
        dependencies: localityDependencies,
      },
      response: { 200: feedResponse, ...errors },
    },
  }, async (request) => presentPage(await feeds.homeFeed(app.db, requireViewer(request.viewer), toFilter(request.query))));

  app.get<{ Querystring: FeedQuery }>('/public', {
    schema: {
      summary: 'Everything new on this instance, newest first',
      querystring: { type: 'object', additionalProperties: false, properties: { ...kindQuery, ...localityQuery, ...pageQuerySchema }, dependencies: localityDependencies },
      response: { 200: feedResponse, ...errors },
    },
  }, async (request) => presentPage(await feeds.instanceFeed(app.db, toFilter(request.query))));

  app.get<{ Params: { handle: string }; Querystring: FeedQuery }>('/neighbourhoods/:handle/feed', {
    schema: {
      summary: 'A neighbourhood\u2019s public feed: new threads and replies, newest first',
      params: { type: 'object', required: ['handle'], properties: { handle: { type: 'string', minLength: 1, maxLength: 64 } } },
      querystring: { type: 'object', additionalProperties: false, properties: { ...kindQuery, ...pageQuerySchema } },
      response: { 200: feedResponse, ...errors },
    },
  }, async (request) => presentPage(await feeds.neighbourhoodFeed(app.db, request.params.handle, toFilter(request.query))));

  const urlsFor = (token: string) => {
    const base = `/feeds/private/${token}`;
    const at = (path: string) => new URL(`${base}/${path}`, app.config.publicUrl).href;
    return { homeAtom: at('home.atom'), homeRss: at('home.rss'), digestAtom: at('digest.atom'), digestRss: at('digest.rss') };
  };

  app.post<{ Body: { label?: string } }>('/feed-tokens', {
    schema: {
      summary: 'Make a private feed URL for your home feed and digest; the token is shown only now',
      body: { type: 'object', additionalProperties: false, properties: { label: { type: 'string', maxLength: 100 } } },
      response: { 201: { type: 'object', properties: { feedToken: tokenSchema } }, ...errors },
    },
  }, async (request, reply) => {
    const { row, token } = await feeds.createFeedToken(app.db, requireViewer(request.viewer), request.body?.label ?? '');
    return reply.status(201).send({ feedToken: { id: row.id, label: row.label, createdAt: row.created_at, token, urls: urlsFor(token) } });
  });

  app.get('/feed-tokens', {
    schema: {
      summary: 'Your private feed tokens that still work (the tokens themselves are not kept)',
      response: { 200: { type: 'object', properties: { feedTokens: { type: 'array', items: tokenSchema } } }, ...errors },
    },
  }, async (request) => ({
    feedTokens: (await feeds.feedTokensOf(app.db, requireViewer(request.viewer).id)).map((t) => ({ id: t.id, label: t.label, createdAt: t.created_at })),
  }));

  app.delete<{ Params: { id: number } }>('/feed-tokens/:id', {
    schema: {
      summary: 'Revoke a private feed token: its URLs stop working at once',
      params: { type: 'object', required: ['id'], properties: { id: { type: 'integer', minimum: 1, maximum: 2_147_483_647 } } },
      response: { 204: { type: 'null' }, ...errors },
    },
  }, async (request, reply) => {
    await feeds.revokeFeedToken(app.db, requireViewer(request.viewer), request.params.id);
    return reply.status(204).send();
  });
};

/** Plural names of thread kinds as they appear in feed file names: `events.atom`, `offers.rss`. */
const kindFiles: Record<string, ThreadKind | undefined> = {
  threads: undefined,
  discussions: 'discussion',
  events: 'event',
  offers: 'offer',
  wants: 'want',
  stories: 'story',
};
const fileParams = (extensions: string) => ({
  type: 'object',
  required: ['handle', 'file'],
  properties: {
    handle: { type: 'string', minLength: 1, maxLength: 64 },
    file: { type: 'string', pattern: `^(${Object.keys(kindFiles).join('|')})\\.(${extensions})$` },
  },
}) as const;

export type FeedFormat = 'rss' | 'atom';

export function sendFeed(reply: FastifyReply, format: FeedFormat, feed: FeedDocument) {
  return reply
    .header('cache-control', 'max-age=60')
    .type(format === 'rss' ? 'application/rss+xml; charset=utf-8' : 'application/atom+xml; charset=utf-8')
    .send(format === 'rss' ? toRss(feed) : toAtom(feed));
}

/** RSS, Atom and iCalendar documents for feed readers and calendars, at /feeds/… */
export const feedFileRoutes: FastifyPluginAsync = async (app) => {
  const url = (path: string) => new URL(path, app.config.publicUrl).href;
  const entryFor = (item: feeds.FeedItem): FeedEntry => {
    const author = item.type === 'thread' ? item.thread.author_username : item.reply.author_username;
    const base = { published: item.at, author, categories: [item.thread.kind, item.thread.neighbourhood_handle] };
    if (item.type === 'thread') {
      const t = item.thread;
      return { ...base, id: url(`/threads/${t.id}`), url: url(`/threads/${t.id}`), title: `${t.title} \u00b7 ${t.neighbourhood_name}`, html: t.body_html, updated: t.edited_at ?? t.created_at };
    }
    const r = item.reply;
    return { ...base, id: url(`/replies/${r.id}`), url: url(`/replies/${r.id}`), title: `Re: ${item.thread.title} \u00b7 ${item.thread.neighbourhood_name}`, html: r.body_html, updated: r.edited_at ?? r.created_at };
  };
  const document = (title: string, description: string, pageUrl: string, selfPath: string, items: feeds.FeedItem[]): FeedDocument => ({
    title,
    description,
    url: pageUrl,
    selfUrl: url(selfPath),
    updated: items.reduce((latest, i) => (i.at > latest ? i.at : latest), new Date(0)),
    entries: items.map(entryFor),
  });
  const formatOf = (file: string) => (file.endsWith('.rss') ? 'rss' : 'atom') as FeedFormat;
  const feedErrors = { 400: errorSchema, 404: errorSchema };

  app.get<{ Params: { file: string } }>('/feeds/public/:file', {
    schema: {
      summary: 'Everything new on this instance as RSS or Atom',
      params: { type: 'object', required: ['file'], properties: { file: { type: 'string', enum: ['feed.rss', 'feed.atom'] } } },
      response: feedErrors,
    },
  }, async (request, reply) => {
    const { items } = await feeds.instanceFeed(app.db, { limit: 50 });
    const name = app.config.instanceName;
    return sendFeed(reply, formatOf(request.params.file), document(name, `New threads and replies on ${name}`, url('/'), request.url, items));
  });

  app.get<{ Params: { handle: string; file: string } }>('/feeds/neighbourhoods/:handle/:file', {
    schema: { summary: 'A neighbourhood\u2019s threads, or one kind of them, as RSS or Atom', params: fileParams('rss|atom'), response: feedErrors },
  }, async (request, reply) => {
    const [name] = request.params.file.split('.') as [string];
    const { neighbourhood, items } = await feeds.neighbourhoodFeed(app.db, request.params.handle, { kind: kindFiles[name], threadsOnly: true, limit: 50 });
    const what = name === 'threads' ? 'threads' : name;
    return sendFeed(reply, formatOf(request.params.file), document(
      `${neighbourhood.name}: ${what}`,
      `New ${what} in ${neighbourhood.name}, ${neighbourhood.place_name}`,
      url(`/neighbourhoods/${neighbourhood.handle}`),
      request.url,
      items,
    ));
  });

  app.get<{ Params: { handle: string } }>('/feeds/neighbourhoods/:handle/events.ics', {
    schema: {
      summary: 'A neighbourhood\u2019s events as an iCalendar feed',
      params: { type: 'object', required: ['handle'], properties: { handle: { type: 'string', minLength: 1, maxLength: 64 } } },
      response: feedErrors,
    },
  }, async (request, reply) => {
    const { neighbourhood, events } = await feeds.eventsOf(app.db, request.params.handle);
    const body = toICalendar({
      name: `${neighbourhood.name} events`,
      productId: `-//${app.config.domain}//Square Mile//EN`,
      events: events.map((t) => ({
        uid: url(`/threads/${t.id}`),
        url: url(`/threads/${t.id}`),
        title: t.title,
        // plainText drops <br>; a calendar description keeps the author's line breaks.
        description: plainText(t.body_html.replace(/<br\s*\/?>/gi, '\n')),
        startsAt: t.event_starts_at!,
        endsAt: t.event_ends_at,
        place: t.event_place,
        created: t.created_at,
        updated: t.edited_at ?? t.created_at,
      })),
    });
    return reply.header('cache-control', 'max-age=60').type('text/calendar; charset=utf-8').send(body);
  });

  app.get<{ Params: { token: string; file: string } }>('/feeds/private/:token/:file', {
    schema: {
      summary: 'Your home feed as RSS or Atom, at a private URL that its token can revoke',
      params: {
        type: 'object',
        required: ['token', 'file'],
        properties: { token: { type: 'string', minLength: 1, maxLength: 100 }, file: { type: 'string', enum: ['home.rss', 'home.atom'] } },
      },
      response: feedErrors,
    },
  }, async (request, reply) => {
    const member = await feeds.memberByFeedToken(app.db, request.params.token);
    const { items } = await feeds.homeFeed(app.db, member, { limit: 50 });
    // The URL holds a secret: links followed from the feed must not carry it away in a Referer header.
    reply.header('referrer-policy', 'no-referrer');
    return sendFeed(reply, formatOf(request.params.file), document(
      `${member.display_name || member.username}\u2019s neighbourhoods`,
      'New threads and replies in the neighbourhoods you follow',
      url('/'),
      request.url,
      items,
    ));
  });
};
