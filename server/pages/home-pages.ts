// Routes for the network-weaver's pages: the home feed, following and sets, private feed URLs, shared sets,
// the digest, and the HTML fragments the page script fetches to show live updates.
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import type { ThreadKind } from '../database.ts';
import { type DigestPeriod, digestFor, digestPeriods } from '../digests/domain.ts';
import * as feeds from '../feeds/domain.ts';
import * as follows from '../follows/domain.ts';
import { decodeCursor, encodeCursor, requireViewer } from '../http.ts';
import * as threads from '../threads/domain.ts';
import { given } from './forms.ts';
import type { Html } from './html.ts';
import { feedReply, followingPage, type FollowingPageData, homePage, type HomeQuery, digestPage, sharedSetPage } from './home-views.ts';
import { nearPoint } from './neighbourhood-pages.ts';
import { threadSummary } from './neighbourhood-views.ts';
import { attempt, context, formBody, idParams, seeOther, send, text } from './respond.ts';
import { replyItem } from './thread-views.ts';

type Id = { Params: { id: number } };
const neighbourhoodIdField = { neighbourhoodId: { type: 'string', pattern: '^[0-9]{1,10}$' } } as const;

const homePages: FastifyPluginAsync = async (app) => {
  const shareUrl = (key: string) => new URL(`/shared-sets/${key}`, app.config.publicUrl).href;
  const feedUrls = (token: string) => {
    const at = (file: string) => new URL(`/feeds/private/${token}/${file}`, app.config.publicUrl).href;
    return { homeAtom: at('home.atom'), homeRss: at('home.rss'), digestAtom: at('digest.atom'), digestRss: at('digest.rss') };
  };

  app.get<{ Querystring: HomeQuery & { cursor?: string } }>('/home', {
    schema: {
      querystring: {
        type: 'object',
        properties: {
          set: { type: 'string', pattern: '^([0-9]{1,10})?$' },
          kind: { anyOf: [{ type: 'string', enum: threads.threadKinds }, { type: 'string', maxLength: 0 }] },
          place: text(200), lat: text(30), lng: text(30), within: text(30), cursor: text(200),
        },
      },
    },
  }, async (request, reply) => {
    const viewer = requireViewer(request.viewer);
    const { cursor, ...query } = request.query;
    const kind = (query.kind || undefined) as ThreadKind | undefined;
    const setId = query.set ? Number(query.set) : undefined;
    const point = nearPoint(query);
    const error = point.error ?? (point.near && point.near.withinMetres === undefined ? 'Say within how many kilometres of the point.' : undefined);
    const [sets, followed] = await Promise.all([follows.setsOf(app.db, viewer.id), follows.followedIds(app.db, viewer.id)]);
    const feed = error
      ? { items: [], next: undefined }
      : await feeds.homeFeed(app.db, viewer, {
        kind,
        setId,
        placeName: given(query.place),
        near: point.near && { ...point.near, withinMetres: point.near.withinMetres! },
        limit: 20,
        after: decodeCursor(cursor),
      });
    return send(reply, homePage(context(request, reply), {
      query, sets, followCount: followed.length, items: feed.items, next: feed.next ? encodeCursor(feed.next) : null, error,
    }));
  });

  async function following(viewerId: number, extra: Partial<FollowingPageData> = {}): Promise<FollowingPageData> {
    const [list, sets, feedTokens] = await Promise.all([
      follows.following(app.db, viewerId),
      follows.setsOf(app.db, viewerId).then((s) => follows.setsWithNeighbourhoods(app.db, s)),
      feeds.feedTokensOf(app.db, viewerId),
    ]);
    return { following: list, sets, feedTokens, shareUrl, ...extra };
  }

  app.get('/following', async (request, reply) => {
    const viewer = requireViewer(request.viewer);
    return send(reply, followingPage(context(request, reply), await following(viewer.id)));
  });

  app.post<{ Body: { name?: string; shared?: string } }>('/following/sets', {
    schema: { body: formBody({ name: text(100), shared: { type: 'string', enum: ['1'] } }) },
  }, async (request, reply) => {
    const viewer = requireViewer(request.viewer);
    const made = await attempt(() => follows.createSet(app.db, viewer, { name: request.body.name ?? '', shared: request.body.shared === '1', neighbourhoodIds: [] }));
    if (made.error) {
      return send(reply, followingPage(context(request, reply), await following(viewer.id, { error: made.error.message, status: made.error.status })));
    }
    return seeOther(reply, `/following#set-${made.value.id}`);
  });

  /** Adds or removes one neighbourhood: the set's list is replaced as a whole, as the domain expects. */
  for (const action of ['add', 'remove'] as const) {
    app.post<Id & { Body: { neighbourhoodId: string } }>(`/following/sets/:id/${action}`, {
      schema: { params: idParams, body: formBody(neighbourhoodIdField, ['neighbourhoodId']) },
    }, async (request, reply) => {
      const viewer = requireViewer(request.viewer);
      const [entry] = await follows.setsWithNeighbourhoods(app.db, [await follows.ownSet(app.db, viewer, request.params.id)]);
      const id = Number(request.body.neighbourhoodId);
      const ids = entry!.neighbourhoods.map((n) => n.id).filter((n) => n !== id);
      await follows.changeSet(app.db, viewer, request.params.id, { neighbourhoodIds: action === 'add' ? [...ids, id] : ids });
      return seeOther(reply, `/following#set-${request.params.id}`);
    });
  }

  app.post<Id & { Body: { shared: '0' | '1' } }>('/following/sets/:id/share', {
    schema: { params: idParams, body: formBody({ shared: { type: 'string', enum: ['0', '1'] } }, ['shared']) },
  }, async (request, reply) => {
    await follows.changeSet(app.db, requireViewer(request.viewer), request.params.id, { shared: request.body.shared === '1' });
    return seeOther(reply, `/following#set-${request.params.id}`);
  });

  app.post<Id>('/following/sets/:id/delete', { schema: { params: idParams, body: formBody({}) } }, async (request, reply) => {
    await follows.deleteSet(app.db, requireViewer(request.viewer), request.params.id);
    return seeOther(reply, '/following');
  });

  // The token exists in clear only in this answer, so the page is rendered here rather than after a redirect.
  app.post<{ Body: { label?: string } }>('/following/feed-tokens', { schema: { body: formBody({ label: text(100) }) } }, async (request, reply) => {
    const viewer = requireViewer(request.viewer);
    const { row, token } = await feeds.createFeedToken(app.db, viewer, request.body.label ?? '');
    reply.header('referrer-policy', 'no-referrer');
    return send(reply, followingPage(context(request, reply), await following(viewer.id, { newToken: { label: row.label, urls: feedUrls(token) } })));
  });

  app.post<Id>('/following/feed-tokens/:id/revoke', { schema: { params: idParams, body: formBody({}) } }, async (request, reply) => {
    await feeds.revokeFeedToken(app.db, requireViewer(request.viewer), request.params.id);
    return seeOther(reply, '/following');
  });

  app.get<{ Params: { key: string } }>('/shared-sets/:key', {
    schema: { params: { type: 'object', required: ['key'], properties: { key: text(100) } } },
  }, async (request, reply) => {
    const set = await follows.sharedSet(app.db, request.params.key);
    const [entry] = await follows.setsWithNeighbourhoods(app.db, [set]);
    return send(reply, sharedSetPage(context(request, reply), set, entry!.neighbourhoods));
  });

  app.get<{ Querystring: { period: DigestPeriod } }>('/digest', {
    schema: { querystring: { type: 'object', properties: { period: { type: 'string', enum: digestPeriods, default: 'daily' } } } },
  }, async (request, reply) => {
    const digest = await digestFor(app.db, requireViewer(request.viewer).id, request.query.period);
    return send(reply, digestPage(context(request, reply), digest));
  });

  // Fragments for live updates: the very markup the pages use, so escaping happens here and nowhere in the script.
  const fragment = (reply: FastifyReply, markup: Html) =>
    reply.type('text/html; charset=utf-8').header('cache-control', 'private, no-store').send(markup.text);

  app.get<Id & { Querystring: { view: 'list' | 'feed' } }>('/fragments/threads/:id', {
    schema: { params: idParams, querystring: { type: 'object', properties: { view: { type: 'string', enum: ['list', 'feed'], default: 'list' } } } },
  }, async (request, reply) => {
    const thread = await threads.readableThread(app.db, request.viewer, request.params.id);
    return fragment(reply, threadSummary(context(request, reply), thread, request.query.view === 'feed'));
  });

  app.get<Id & { Querystring: { view: 'tree' | 'feed' } }>('/fragments/replies/:id', {
    schema: { params: idParams, querystring: { type: 'object', properties: { view: { type: 'string', enum: ['tree', 'feed'], default: 'tree' } } } },
  }, async (request, reply) => {
    const found = await threads.replyById(app.db, request.params.id);
    const thread = await threads.readableThread(app.db, request.viewer, found.thread_id);
    const ctx = context(request, reply);
    if (request.query.view === 'feed') return fragment(reply, feedReply(ctx, thread, found));
    const { role, likes } = await threads.standingInThread(app.db, request.viewer, thread);
    return fragment(reply, replyItem(ctx, found, { threadId: thread.id, liked: likes.replies.has(found.id), isMember: !!role }));
  });
};

export default homePages;
