// Routes for the directory of neighbourhoods, one neighbourhood's page, starting one, joining and leaving.
import type { FastifyPluginAsync } from 'fastify';
import type { ThreadKind } from '../database.ts';
import * as follows from '../follows/domain.ts';
import { decodeCursor, encodeCursor, requireViewer } from '../http.ts';
import { renderMarkdown } from '../markdown.ts';
import * as neighbourhoods from '../neighbourhoods/domain.ts';
import { mayRead } from '../feeds/visibility.ts';
import * as threads from '../threads/domain.ts';
import { trusted } from './html.ts';
import { type DirectoryQuery, directoryPage, type NeighbourhoodDraft, neighbourhoodPage, newNeighbourhoodPage } from './neighbourhood-views.ts';
import { attempt, context, formBody, localPath, seeOther, send, text } from './respond.ts';

const handleParams = { type: 'object', required: ['handle'], properties: { handle: text(64) } } as const;

/** A number typed into a form: undefined when left empty, NaN when it is not a number. */
const decimal = (value: string | undefined) => (value?.trim() ? Number(value.trim().replace(',', '.')) : undefined);

export function nearPoint(query: DirectoryQuery): { near?: { latitude: number; longitude: number; withinMetres?: number }; error?: string } {
  const latitude = decimal(query.lat);
  const longitude = decimal(query.lng);
  const within = decimal(query.within);
  if (latitude === undefined && longitude === undefined) return {};
  if (latitude === undefined || longitude === undefined || !(Math.abs(latitude) <= 90) || !(Math.abs(longitude) <= 180)) {
    return { error: 'A point needs a latitude between -90 and 90 and a longitude between -180 and 180.' };
  }
  if (within !== undefined && !(within > 0 && within <= 20_000)) return { error: 'Give a distance in kilometres, more than 0.' };
  return { near: { latitude, longitude, ...(within !== undefined && { withinMetres: within * 1000 }) } };
}

function neighbourhoodFields(draft: NeighbourhoodDraft): neighbourhoods.NeighbourhoodFields | string {
  const latitude = decimal(draft.latitude) ?? null;
  const longitude = decimal(draft.longitude) ?? null;
  const radius = decimal(draft.radius) ?? null;
  if (latitude !== null && !(Math.abs(latitude) <= 90)) return 'Latitude is a number between -90 and 90.';
  if (longitude !== null && !(Math.abs(longitude) <= 180)) return 'Longitude is a number between -180 and 180.';
  if (radius !== null && !(Number.isInteger(radius) && radius >= 1 && radius <= 100_000)) return 'The radius is a whole number of metres, up to 100000.';
  return {
    name: draft.name ?? '',
    description: draft.description ?? '',
    rules: draft.rules ?? '',
    locality: { placeName: draft.placeName ?? '', latitude, longitude, radiusMetres: radius },
  };
}

const neighbourhoodPages: FastifyPluginAsync = async (app) => {
  app.get<{ Querystring: DirectoryQuery & { cursor?: string } }>('/', {
    schema: { querystring: { type: 'object', properties: { q: text(100), lat: text(30), lng: text(30), within: text(30), cursor: text(200) } } },
  }, async (request, reply) => {
    const { cursor, ...query } = request.query;
    const { near, error } = nearPoint(query);
    const found = await neighbourhoods.findNeighbourhoods(app.db, { search: query.q?.trim() || undefined, near, limit: 20, after: decodeCursor(cursor) });
    const rows = found.rows.map((row) => ({ ...row, distance: row.distance ?? null }));
    return send(reply, directoryPage(context(request, reply), query, rows, found.next ? encodeCursor(found.next) : null, error));
  });

  app.get('/neighbourhoods/new', async (request, reply) => {
    requireViewer(request.viewer);
    return send(reply, newNeighbourhoodPage(context(request, reply), {}, { description: null, rules: null }));
  });

  app.post<{ Body: NeighbourhoodDraft & { preview?: string } }>('/neighbourhoods', {
    schema: {
      body: formBody({
        handle: text(64), name: text(100), description: text(5000), rules: text(10000), placeName: text(200), latitude: text(30), longitude: text(30), radius: text(30),
      }),
    },
  }, async (request, reply) => {
    const viewer = requireViewer(request.viewer);
    const draft = request.body;
    const previews = (status: number, error?: string) => send(reply, newNeighbourhoodPage(context(request, reply), draft, {
      description: draft.description?.trim() ? trusted(renderMarkdown(draft.description)) : null,
      rules: draft.rules?.trim() ? trusted(renderMarkdown(draft.rules)) : null,
    }, error, status));
    if (draft.preview) return previews(200);
    const fields = neighbourhoodFields(draft);
    if (typeof fields === 'string') return previews(400, fields);
    const created = await attempt(() => neighbourhoods.createNeighbourhood(app.db, viewer, draft.handle?.trim() ?? '', fields));
    if (created.error) return previews(created.error.status, created.error.message);
    request.log.info({ neighbourhood: created.value.id }, 'neighbourhood created from the web');
    return seeOther(reply, `/neighbourhoods/${created.value.handle}`);
  });

  app.get<{ Params: { handle: string }; Querystring: { kind?: ThreadKind; cursor?: string } }>('/neighbourhoods/:handle', {
    schema: {
      params: handleParams,
      querystring: { type: 'object', properties: { kind: { type: 'string', enum: threads.threadKinds }, cursor: text(200) } },
    },
  }, async (request, reply) => {
    const neighbourhood = await neighbourhoods.neighbourhoodByHandle(app.db, request.params.handle);
    const { kind, cursor } = request.query;
    const [moderators, role, followed, list] = await Promise.all([
      neighbourhoods.moderatorsOf(app.db, neighbourhood.id),
      neighbourhoods.roleIn(app.db, neighbourhood, request.viewer),
      request.viewer ? follows.followedIds(app.db, request.viewer.id) : ([] as number[]),
      mayRead(app.db, neighbourhood, request.viewer?.id ?? null).then((readable) =>
        readable ? threads.listThreads(app.db, request.viewer, neighbourhood.handle, { kind, limit: 20, after: decodeCursor(cursor) }) : { rows: [], next: undefined }),
    ]);
    return send(reply, neighbourhoodPage(context(request, reply), {
      neighbourhood, moderators, role, following: followed.includes(neighbourhood.id), threads: list.rows, kind, next: list.next ? encodeCursor(list.next) : null,
    }));
  });

  for (const action of ['join', 'leave'] as const) {
    app.post<{ Params: { handle: string } }>(`/neighbourhoods/:handle/${action}`, {
      schema: { params: handleParams, body: formBody({}) },
    }, async (request, reply) => {
      const neighbourhood = await neighbourhoods[action](app.db, requireViewer(request.viewer), request.params.handle);
      return seeOther(reply, `/neighbourhoods/${neighbourhood.handle}`);
    });
  }

  // Following is reading only (server/follows): it brings the posts into the home feed without joining.
  app.post<{ Params: { handle: string } }>('/neighbourhoods/:handle/follow', {
    schema: { params: handleParams, body: formBody({}) },
  }, async (request, reply) => {
    const neighbourhood = await neighbourhoods.neighbourhoodByHandle(app.db, request.params.handle);
    await follows.follow(app.db, requireViewer(request.viewer), neighbourhood.id);
    return seeOther(reply, `/neighbourhoods/${neighbourhood.handle}`);
  });

  app.post<{ Params: { handle: string }; Body: { back?: string } }>('/neighbourhoods/:handle/unfollow', {
    schema: { params: handleParams, body: formBody({ back: text(200) }) },
  }, async (request, reply) => {
    const neighbourhood = await neighbourhoods.neighbourhoodByHandle(app.db, request.params.handle);
    await follows.unfollow(app.db, requireViewer(request.viewer), neighbourhood.id);
    return seeOther(reply, request.body.back ? localPath(request.body.back) : `/neighbourhoods/${neighbourhood.handle}`);
  });
};

export default neighbourhoodPages;
