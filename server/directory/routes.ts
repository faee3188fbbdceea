// HTTP routes for the directory of neighbourhoods.
import type { FastifyPluginAsync } from 'fastify';
import { errorSchema } from '../errors.ts';
import * as follows from '../follows/domain.ts';
import type { FollowRoutesOptions } from '../follows/routes.ts';
import { dateTime, decodeCursor, encodeCursor, nullable, pageQuerySchema, pointQuerySchema } from '../http.ts';
import { localityOutput } from '../neighbourhoods/routes.ts';
import * as directory from './domain.ts';

const entrySchema = {
  type: 'object',
  properties: {
    id: { type: 'integer' },
    handle: { type: 'string' },
    fullHandle: { type: 'string' },
    name: { type: 'string' },
    url: { type: 'string' },
    instance: { type: 'object', properties: { domain: { type: 'string' }, local: { type: 'boolean' } } },
    locality: localityOutput,
    memberCount: { type: 'integer' },
    recentActivity: { type: 'object', properties: { lastActivityAt: dateTime, threadsLast30Days: { type: 'integer' } } },
    distanceMetres: nullable({ type: 'number' }),
  },
} as const;

const isHandle = (text: string) => /^@?[^@\s]+@[^@\s]+$/.test(text.trim());

const errors = { 400: errorSchema, 404: errorSchema, 422: errorSchema, 502: errorSchema, 504: errorSchema };

interface DirectoryQuery {
  q?: string;
  latitude?: number;
  longitude?: number;
  place?: string;
  withinMetres?: number;
  limit: number;
  cursor?: string;
}

const directoryRoutes: FastifyPluginAsync<FollowRoutesOptions> = async (app, options) => {
  const present = ({ neighbourhood: n, threadsLast30Days }: directory.DirectoryEntry & { neighbourhood: { distance?: number | null } }) => {
    const instance = directory.instanceOf(n, app.config);
    return {
      id: n.id,
      handle: n.handle,
      // A remote neighbourhood's handle is already `name@host`; its URL is its own server's.
      fullHandle: instance.local ? `@${n.handle}@${instance.domain}` : `@${n.handle}`,
      name: n.name,
      url: n.ap_id ?? new URL(`/neighbourhoods/${n.handle}`, app.config.publicUrl).href,
      instance,
      locality: { placeName: n.place_name, latitude: n.latitude, longitude: n.longitude, radiusMetres: n.radius_metres },
      memberCount: n.member_count,
      recentActivity: { lastActivityAt: n.last_activity_at, threadsLast30Days },
      distanceMetres: n.distance === undefined || n.distance === null ? null : Math.round(n.distance),
    };
  };

  app.get<{ Querystring: DirectoryQuery }>('/directory', {
    schema: {
      summary: 'Neighbourhoods this instance knows, here and elsewhere: by name (a full @name@host is looked up), or nearest first to a point or a place name in use',
      querystring: {
        type: 'object',
        additionalProperties: false,
        properties: {
          q: { type: 'string', maxLength: 100 },
          ...pointQuerySchema,
          place: { type: 'string', minLength: 1, maxLength: 200 },
          ...pageQuerySchema,
        },
        dependencies: {
          latitude: ['longitude'],
          longitude: ['latitude'],
          withinMetres: { anyOf: [{ required: ['latitude'] }, { required: ['place'] }] },
        },
        not: { required: ['place', 'latitude'] },
      },
      response: {
        200: { type: 'object', properties: { neighbourhoods: { type: 'array', items: entrySchema }, next: nullable({ type: 'string' }) } },
        ...errors,
      },
    },
  }, async (request) => {
    const { q, latitude, longitude, place, withinMetres, limit, cursor } = request.query;
    // A full handle is a look-up: one we have not seen yet is fetched from its server and remembered.
    if (q && isHandle(q) && !cursor) {
      const found = await follows.resolveNeighbourhood(app.db, follows.parseReference(q, app.config), options.remote);
      return { neighbourhoods: [present(await directory.entryFor(app.db, found))], next: null };
    }
    const { entries, next } = await directory.findInDirectory(app.db, {
      search: q?.trim() || undefined,
      near: place !== undefined ? { place } : latitude !== undefined && longitude !== undefined ? { latitude, longitude } : undefined,
      withinMetres,
      limit,
      after: decodeCursor(cursor),
    });
    return { neighbourhoods: entries.map(present), next: next ? encodeCursor(next) : null };
  });

  app.get<{ Querystring: { handle: string } }>('/directory/lookup', {
    schema: {
      summary: 'Look up one neighbourhood by handle (@name@host) or URL',
      querystring: { type: 'object', required: ['handle'], additionalProperties: false, properties: { handle: { type: 'string', minLength: 1, maxLength: 2000 } } },
      response: { 200: { type: 'object', properties: { neighbourhood: entrySchema } }, ...errors },
    },
  }, async (request) => {
    const found = await follows.resolveNeighbourhood(app.db, follows.parseReference(request.query.handle, app.config), options.remote);
    return { neighbourhood: present(await directory.entryFor(app.db, found)) };
  });
};

export default directoryRoutes;
