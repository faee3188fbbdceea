// HTTP routes for following neighbourhoods and for named sets of them.
import type { FastifyPluginAsync } from 'fastify';
import { errorSchema } from '../errors.ts';
import { dateTime, requireViewer } from '../http.ts';
import { presentNeighbourhood, neighbourhoodSchema } from '../neighbourhoods/routes.ts';
import * as follows from './domain.ts';

export interface FollowRoutesOptions {
  /** Federation's lookup of neighbourhoods on other instances; without it, following them is refused clearly. */
  remote?: follows.RemoteNeighbourhoods;
}

const errors = { 400: errorSchema, 401: errorSchema, 403: errorSchema, 404: errorSchema, 409: errorSchema, 422: errorSchema, 502: errorSchema, 504: errorSchema };
const idParams = { type: 'object', required: ['id'], properties: { id: { type: 'integer', minimum: 1, maximum: 2_147_483_647 } } } as const;
const neighbourhoodIds = { type: 'array', maxItems: 500, items: { type: 'integer', minimum: 1, maximum: 2_147_483_647 } } as const;

const setSchema = {
  type: 'object',
  properties: {
    id: { type: 'integer' },
    name: { type: 'string' },
    shared: { type: 'boolean' },
    shareUrl: { anyOf: [{ type: 'string' }, { type: 'null' }] },
    owner: { type: 'string' },
    neighbourhoods: { type: 'array', items: neighbourhoodSchema },
    createdAt: dateTime,
  },
} as const;

const followRoutes: FastifyPluginAsync<FollowRoutesOptions> = async (app, options) => {
  const shareUrl = (key: string) => new URL(`/api/shared-sets/${key}`, app.config.publicUrl).href;
  const presentSet = ({ set, neighbourhoods }: Awaited<ReturnType<typeof follows.setsWithNeighbourhoods>>[number], owner: string) => ({
    id: set.id,
    name: set.name,
    shared: set.shared,
    shareUrl: set.shared ? shareUrl(set.share_key) : null,
    owner,
    neighbourhoods: neighbourhoods.map(presentNeighbourhood),
    createdAt: set.created_at,
  });

  app.post<{ Body: { neighbourhood?: string; neighbourhoodId?: number } }>('/follows', {
    schema: {
      summary: 'Follow a neighbourhood by handle (@name@host), URL, or directory id',
      body: {
        type: 'object',
        additionalProperties: false,
        minProperties: 1,
        maxProperties: 1,
        properties: { neighbourhood: { type: 'string', minLength: 1, maxLength: 2000 }, neighbourhoodId: { type: 'integer', minimum: 1, maximum: 2_147_483_647 } },
      },
      response: { 201: { type: 'object', properties: { neighbourhood: neighbourhoodSchema } }, ...errors },
    },
  }, async (request, reply) => {
    const viewer = requireViewer(request.viewer);
    const { neighbourhood: reference, neighbourhoodId } = request.body;
    const id = neighbourhoodId ?? (await follows.resolveNeighbourhood(app.db, follows.parseReference(reference!, app.config), options.remote, viewer)).id;
    const followed = await follows.follow(app.db, viewer, id);
    request.log.info({ neighbourhood: followed.id }, 'neighbourhood followed');
    return reply.status(201).send({ neighbourhood: presentNeighbourhood(followed) });
  });

  app.get('/follows', {
    schema: {
      summary: 'The neighbourhoods you follow',
      response: { 200: { type: 'object', properties: { neighbourhoods: { type: 'array', items: neighbourhoodSchema } } }, ...errors },
    },
  }, async (request) => ({ neighbourhoods: (await follows.following(app.db, requireViewer(request.viewer).id)).map(presentNeighbourhood) }));

  app.delete<{ Params: { id: number } }>('/follows/:id', {
    schema: { summary: 'Stop following a neighbourhood (by its id)', params: idParams, response: { 204: { type: 'null' }, ...errors } },
  }, async (request, reply) => {
    await follows.unfollow(app.db, requireViewer(request.viewer), request.params.id);
    return reply.status(204).send();
  });

  const setBody = {
    name: { type: 'string', minLength: 1, maxLength: 100 },
    shared: { type: 'boolean' },
    neighbourhoodIds,
  } as const;

  app.post<{ Body: { name: string; shared?: boolean; neighbourhoodIds?: number[] } }>('/sets', {
    schema: {
      summary: 'Group neighbourhoods into a named set (following each); private unless shared',
      body: { type: 'object', required: ['name'], additionalProperties: false, properties: setBody },
      response: { 201: { type: 'object', properties: { set: setSchema } }, ...errors },
    },
  }, async (request, reply) => {
    const viewer = requireViewer(request.viewer);
    const { name, shared = false, neighbourhoodIds: ids = [] } = request.body;
    const set = await follows.createSet(app.db, viewer, { name, shared, neighbourhoodIds: ids });
    const [withEntries] = await follows.setsWithNeighbourhoods(app.db, [set]);
    return reply.status(201).send({ set: presentSet(withEntries!, viewer.username) });
  });

  app.get('/sets', {
    schema: { summary: 'Your sets', response: { 200: { type: 'object', properties: { sets: { type: 'array', items: setSchema } } }, ...errors } },
  }, async (request) => {
    const viewer = requireViewer(request.viewer);
    const sets = await follows.setsWithNeighbourhoods(app.db, await follows.setsOf(app.db, viewer.id));
    return { sets: sets.map((s) => presentSet(s, viewer.username)) };
  });

  app.get<{ Params: { id: number } }>('/sets/:id', {
    schema: { summary: 'One of your sets', params: idParams, response: { 200: { type: 'object', properties: { set: setSchema } }, ...errors } },
  }, async (request) => {
    const viewer = requireViewer(request.viewer);
    const [set] = await follows.setsWithNeighbourhoods(app.db, [await follows.ownSet(app.db, viewer, request.params.id)]);
    return { set: presentSet(set!, viewer.username) };
  });

  app.patch<{ Params: { id: number }; Body: { name?: string; shared?: boolean; neighbourhoodIds?: number[] } }>('/sets/:id', {
    schema: {
      summary: 'Rename a set, share or unshare it, or replace its neighbourhoods',
      params: idParams,
      body: { type: 'object', additionalProperties: false, minProperties: 1, properties: setBody },
      response: { 200: { type: 'object', properties: { set: setSchema } }, ...errors },
    },
  }, async (request) => {
    const viewer = requireViewer(request.viewer);
    const set = await follows.changeSet(app.db, viewer, request.params.id, request.body);
    const [withEntries] = await follows.setsWithNeighbourhoods(app.db, [set]);
    return { set: presentSet(withEntries!, viewer.username) };
  });

  app.delete<{ Params: { id: number } }>('/sets/:id', {
    schema: { summary: 'Delete a set (the follows stay)', params: idParams, response: { 204: { type: 'null' }, ...errors } },
  }, async (request, reply) => {
    await follows.deleteSet(app.db, requireViewer(request.viewer), request.params.id);
    return reply.status(204).send();
  });

  app.get<{ Params: { key: string } }>('/shared-sets/:key', {
    schema: {
      summary: 'A set its owner has shared: anyone with the link can see and follow its neighbourhoods',
      params: { type: 'object', required: ['key'], properties: { key: { type: 'string', minLength: 1, maxLength: 64 } } },
      response: { 200: { type: 'object', properties: { set: setSchema } }, ...errors },
    },
  }, async (request) => {
    const set = await follows.sharedSet(app.db, request.params.key);
    const [withEntries] = await follows.setsWithNeighbourhoods(app.db, [set]);
    return { set: presentSet(withEntries!, set.owner_username) };
  });
};

export default followRoutes;
