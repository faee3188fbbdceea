// HTTP routes for neighbourhoods: create, describe, join, leave, find.
import type { FastifyPluginAsync } from 'fastify';
import type { Viewer } from '../accounts/domain.ts';
import { errorSchema } from '../errors.ts';
import { dateTime, decodeCursor, encodeCursor, nullable, pageQuerySchema, pointQuerySchema, requireViewer } from '../http.ts';
import { renderMarkdown } from '../markdown.ts';
import * as neighbourhoods from './domain.ts';

const localitySchema = {
  type: 'object',
  required: ['placeName'],
  additionalProperties: false,
  properties: {
    placeName: { type: 'string', minLength: 1, maxLength: 200 },
    latitude: nullable({ type: 'number', minimum: -90, maximum: 90 }),
    longitude: nullable({ type: 'number', minimum: -180, maximum: 180 }),
    radiusMetres: nullable({ type: 'integer', minimum: 1, maximum: 100_000 }),
  },
} as const;

const fieldProperties = {
  name: { type: 'string', minLength: 1, maxLength: 100 },
  description: { type: 'string', maxLength: 5000 },
  rules: { type: 'string', maxLength: 10000 },
  locality: localitySchema,
} as const;

export const localityOutput = {
  type: 'object',
  properties: {
    placeName: { type: 'string' },
    latitude: nullable({ type: 'number' }),
    longitude: nullable({ type: 'number' }),
    radiusMetres: nullable({ type: 'integer' }),
  },
} as const;

export const neighbourhoodSchema = {
  type: 'object',
  properties: {
    id: { type: 'integer' },
    handle: { type: 'string' },
    name: { type: 'string' },
    description: { type: 'string' },
    descriptionHtml: { type: 'string' },
    rules: { type: 'string' },
    rulesHtml: { type: 'string' },
    locality: localityOutput,
    memberCount: { type: 'integer' },
    membersOnly: { type: 'boolean' },
    createdAt: dateTime,
    lastActivityAt: dateTime,
    distanceMetres: nullable({ type: 'number' }),
  },
} as const;

const detailSchema = {
  type: 'object',
  properties: {
    neighbourhood: neighbourhoodSchema,
    moderators: {
      type: 'array',
      items: { type: 'object', properties: { id: { type: 'integer' }, username: { type: 'string' }, displayName: { type: 'string' } } },
    },
    viewerRole: nullable({ type: 'string', enum: ['member', 'moderator'] }),
  },
} as const;

export function presentNeighbourhood(n: neighbourhoods.Neighbourhood & { distance?: number | null }) {
  return {
    id: n.id,
    handle: n.handle,
    name: n.name,
    description: n.description,
    descriptionHtml: renderMarkdown(n.description),
    rules: n.rules,
    rulesHtml: renderMarkdown(n.rules),
    locality: { placeName: n.place_name, latitude: n.latitude, longitude: n.longitude, radiusMetres: n.radius_metres },
    memberCount: n.member_count,
    membersOnly: n.visibility === 'members',
    createdAt: n.created_at,
    lastActivityAt: n.last_activity_at,
    distanceMetres: n.distance === undefined || n.distance === null ? null : Math.round(n.distance),
  };
}

interface Fields {
  name: string;
  description?: string;
  rules?: string;
  locality: { placeName: string; latitude?: number | null; longitude?: number | null; radiusMetres?: number | null };
}

const toFields = (body: Partial<Fields>): Partial<neighbourhoods.NeighbourhoodFields> => ({
  name: body.name,
  description: body.description,
  rules: body.rules,
  locality: body.locality && {
    placeName: body.locality.placeName,
    latitude: body.locality.latitude ?? null,
    longitude: body.locality.longitude ?? null,
    radiusMetres: body.locality.radiusMetres ?? null,
  },
});

const handleParams = {
  type: 'object',
  required: ['handle'],
  properties: { handle: { type: 'string', minLength: 1, maxLength: 64 } },
} as const;

const errors = { 400: errorSchema, 401: errorSchema, 403: errorSchema, 404: errorSchema, 409: errorSchema };

const neighbourhoodRoutes: FastifyPluginAsync = async (app) => {
  const detail = async (n: neighbourhoods.Neighbourhood, viewer: Viewer | null) => ({
    neighbourhood: presentNeighbourhood(n),
    moderators: (await neighbourhoods.moderatorsOf(app.db, n.id)).map((m) => ({ id: m.id, username: m.username, displayName: m.display_name })),
    viewerRole: await neighbourhoods.roleIn(app.db, n, viewer),
  });

  app.post<{ Body: Fields & { handle: string } }>('/neighbourhoods', {
    schema: {
      summary: 'Create a neighbourhood; its creator becomes its moderator',
      body: {
        type: 'object',
        required: ['handle', 'name', 'locality'],
        additionalProperties: false,
        properties: { handle: { type: 'string', minLength: 1, maxLength: 64 }, ...fieldProperties },
      },
      response: { 201: detailSchema, ...errors },
    },
  }, async (request, reply) => {
    const viewer = requireViewer(request.viewer);
    const fields = toFields(request.body) as neighbourhoods.NeighbourhoodFields;
    const created = await neighbourhoods.createNeighbourhood(app.db, viewer, request.body.handle, {
      ...fields,
      description: fields.description ?? '',
      rules: fields.rules ?? '',
    });
    request.log.info({ neighbourhood: created.id }, 'neighbourhood created');
    return reply.status(201).send(await detail(created, viewer));
  });

  app.get<{ Querystring: { q?: string; latitude?: number; longitude?: number; withinMetres?: number; limit: number; cursor?: string } }>(
    '/neighbourhoods',
    {
      schema: {
        summary: 'Find neighbourhoods by name, or by distance from a point',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            q: { type: 'string', maxLength: 100 },
            ...pointQuerySchema,
            ...pageQuerySchema,
          },
          dependencies: { latitude: ['longitude'], longitude: ['latitude'], withinMetres: ['latitude'] },
        },
        response: {
          200: {
            type: 'object',
            properties: { neighbourhoods: { type: 'array', items: neighbourhoodSchema }, next: nullable({ type: 'string' }) },
          },
          ...errors,
        },
      },
    },
    async (request) => {
      const { q, latitude, longitude, withinMetres, limit, cursor } = request.query;
      const { rows, next } = await neighbourhoods.findNeighbourhoods(app.db, {
        search: q?.trim() || undefined,
        near: latitude !== undefined && longitude !== undefined ? { latitude, longitude, withinMetres } : undefined,
        limit,
        after: decodeCursor(cursor),
      });
      return { neighbourhoods: rows.map(presentNeighbourhood), next: next ? encodeCursor(next) : null };
    },
  );

  app.get<{ Params: { handle: string } }>('/neighbourhoods/:handle', {
    schema: { summary: 'A neighbourhood with its moderators', params: handleParams, response: { 200: detailSchema, ...errors } },
  }, async (request) => detail(await neighbourhoods.neighbourhoodByHandle(app.db, request.params.handle), request.viewer));

  app.patch<{ Params: { handle: string }; Body: Partial<Fields> }>('/neighbourhoods/:handle', {
    schema: {
      summary: 'Change a neighbourhood\u2019s description, rules or locality (moderators)',
      params: handleParams,
      body: { type: 'object', additionalProperties: false, minProperties: 1, properties: fieldProperties },
      response: { 200: detailSchema, ...errors },
    },
  }, async (request) => {
    const viewer = requireViewer(request.viewer);
    const updated = await neighbourhoods.updateNeighbourhood(app.db, viewer, request.params.handle, toFields(request.body));
    return detail(updated, viewer);
  });

  app.post<{ Params: { handle: string } }>('/neighbourhoods/:handle/members', {
    schema: { summary: 'Join a neighbourhood', params: handleParams, response: { 200: detailSchema, ...errors } },
  }, async (request) => {
    const viewer = requireViewer(request.viewer);
    return detail(await neighbourhoods.join(app.db, viewer, request.params.handle), viewer);
  });

  app.delete<{ Params: { handle: string } }>('/neighbourhoods/:handle/members/me', {
    schema: { summary: 'Leave a neighbourhood', params: handleParams, response: { 200: detailSchema, ...errors } },
  }, async (request) => {
    const viewer = requireViewer(request.viewer);
    return detail(await neighbourhoods.leave(app.db, viewer, request.params.handle), viewer);
  });
};

export default neighbourhoodRoutes;
