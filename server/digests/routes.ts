// Digests as JSON (/api/digest) and as an entry in a private feed; the page (/digest) is in server/pages.
import type { FastifyPluginAsync } from 'fastify';
import { errorSchema } from '../errors.ts';
import { dateTime, requireViewer } from '../http.ts';
import { memberByFeedToken } from '../feeds/domain.ts';
import { escapeHtml } from '../markdown.ts';
import type { FeedDocument } from '../feeds/formats.ts';
import { sendFeed } from '../feeds/routes.ts';
import { presentThread } from '../threads/routes.ts';
import { type Digest, type DigestPeriod, digestFor, digestHour, digestPeriods } from './domain.ts';

const periodQuery = {
  type: 'object',
  additionalProperties: false,
  properties: { period: { type: 'string', enum: digestPeriods, default: 'daily' } },
} as const;

const digestSchema = {
  type: 'object',
  properties: {
    period: { type: 'string', enum: digestPeriods },
    from: dateTime,
    until: dateTime,
    threads: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          thread: { type: 'object', additionalProperties: true },
          newReplies: { type: 'integer' },
          newLikes: { type: 'integer' },
          isNew: { type: 'boolean' },
        },
      },
    },
  },
} as const;

const presentDigest = (digest: Digest) => ({ ...digest, threads: digest.threads.map((t) => ({ ...t, thread: presentThread(t.thread) })) });

const counts = (t: Digest['threads'][number]) =>
  [t.isNew && 'new', t.newReplies && `${t.newReplies} new ${t.newReplies === 1 ? 'reply' : 'replies'}`, t.newLikes && `${t.newLikes} ${t.newLikes === 1 ? 'like' : 'likes'}`]
    .filter(Boolean)
    .join(', ');

/** The digest as the HTML content of its feed entry. */
function digestHtml(digest: Digest, threadUrl: (id: number) => string): string {
  if (!digest.threads.length) return '<p>Nothing new in the neighbourhoods you follow.</p>';
  const items = digest.threads.map(
    (t) => `<li><a href="${escapeHtml(threadUrl(t.thread.id))}">${escapeHtml(t.thread.title)}</a> in ${escapeHtml(t.thread.neighbourhood_name)} (${escapeHtml(counts(t))})</li>`,
  );
  return `<ol>\n${items.join('\n')}\n</ol>`;
}

const title = (digest: Digest) => `Your ${digest.period} digest, ${digest.until.toISOString().slice(0, 10)}`;

const digestRoutes: FastifyPluginAsync = async (app) => {
  const threadUrl = (id: number) => new URL(`/threads/${id}`, app.config.publicUrl).href;

  app.get<{ Querystring: { period: DigestPeriod } }>('/api/digest', {
    schema: {
      summary: 'The liveliest threads in what you follow over the last day or week',
      querystring: periodQuery,
      response: { 200: { type: 'object', properties: { digest: digestSchema } }, 400: errorSchema, 401: errorSchema },
    },
  }, async (request) => ({ digest: presentDigest(await digestFor(app.db, requireViewer(request.viewer).id, request.query.period)) }));

  for (const format of ['rss', 'atom'] as const) {
    app.get<{ Params: { token: string }; Querystring: { period: DigestPeriod } }>(`/feeds/private/:token/digest.${format}`, {
      schema: {
        summary: `Your digest as ${format === 'rss' ? 'RSS' : 'Atom'}: one entry per period, at a private URL`,
        params: { type: 'object', required: ['token'], properties: { token: { type: 'string', minLength: 1, maxLength: 100 } } },
        querystring: periodQuery,
        response: { 400: errorSchema, 404: errorSchema },
      },
    }, async (request, reply) => {
      const member = await memberByFeedToken(app.db, request.params.token);
      const digest = await digestFor(app.db, member.id, request.query.period);
      const hour = digestHour(digest);
      const pageUrl = new URL(`/digest?period=${digest.period}`, app.config.publicUrl).href;
      const feed: FeedDocument = {
        title: `${member.display_name || member.username}\u2019s ${digest.period} digest`,
        description: 'The liveliest threads in the neighbourhoods you follow',
        url: pageUrl,
        selfUrl: new URL(request.url, app.config.publicUrl).href,
        updated: hour,
        entries: [{
          id: `${pageUrl}&member=${encodeURIComponent(member.username)}&hour=${hour.toISOString()}`,
          url: pageUrl,
          title: title(digest),
          html: digestHtml(digest, threadUrl),
          author: null,
          published: hour,
          updated: hour,
          categories: ['digest'],
        }],
      };
      reply.header('referrer-policy', 'no-referrer');
      return sendFeed(reply, format, feed);
    });
  }
};

export default digestRoutes;
