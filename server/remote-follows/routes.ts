// HTTP routes for follows across servers: a member follows people and neighbourhoods elsewhere;
// moderators answer requests to follow a neighbourhood that admits by approval.
import type { FastifyPluginAsync } from 'fastify';
import { errorSchema } from '../errors.ts';
import { dateTime, nullable, requireViewer } from '../http.ts';
import * as follows from './domain.ts';

const remoteFollowSchema = {
  type: 'object',
  properties: {
    id: { type: 'integer' },
    state: { type: 'string', enum: ['pending', 'accepted'] },
    account: {
      type: 'object',
      properties: { uri: { type: 'string' }, handle: nullable({ type: 'string' }), name: { type: 'string' }, type: { type: 'string' } },
    },
    createdAt: dateTime,
  },
} as const;

const present = (row: { id: number; state: string; created_at: Date; uri: string; handle: string | null; name: string; type: string }) => ({
  id: row.id,
  state: row.state,
  account: { uri: row.uri, handle: row.handle, name: row.name, type: row.type },
  createdAt: row.created_at,
});

const errors = { 400: errorSchema, 401: errorSchema, 403: errorSchema, 404: errorSchema, 502: errorSchema, 504: errorSchema } as const;
const idParams = { type: 'object', required: ['id'], properties: { id: { type: 'integer', minimum: 1 } } } as const;
const handleParams = { type: 'object', required: ['handle'], properties: { handle: { type: 'string', maxLength: 40 } } } as const;

const followRoutes: FastifyPluginAsync = async (app) => {
  app.get('/following', {
    schema: { summary: 'Accounts on other servers the viewer follows or asked to follow', response: { 200: { type: 'object', properties: { following: { type: 'array', items: remoteFollowSchema } } }, ...errors } },
  }, async (request) => ({ following: (await follows.following(app.db, requireViewer(request.viewer).id)).map(present) }));

  app.post<{ Body: { account: string } }>('/following', {
    schema: {
      summary: 'Follow a person or neighbourhood on another server',
      body: { type: 'object', required: ['account'], additionalProperties: false, properties: { account: { type: 'string', minLength: 3, maxLength: 500 } } },
      response: { 202: { type: 'object', properties: { follow: remoteFollowSchema } }, ...errors },
    },
  }, async (request, reply) => {
    const viewer = requireViewer(request.viewer);
    const { follow, remote } = await app.federation.follow(viewer, request.body.account);
    return reply.status(202).send({ follow: present({ ...remote, ...follow }) });
  });

  app.delete<{ Params: { id: number } }>('/following/:id', {
    schema: { summary: 'Stop following', params: idParams, response: { 204: { type: 'null' }, ...errors } },
  }, async (request, reply) => {
    await app.federation.unfollow(requireViewer(request.viewer), request.params.id);
    return reply.status(204).send();
  });

  app.put<{ Params: { handle: string }; Body: { admission: 'open' | 'approval' } }>('/neighbourhoods/:handle/admission', {
    schema: {
      summary: 'Whether remote followers are accepted at once or wait for a moderator',
      params: handleParams,
      body: { type: 'object', required: ['admission'], additionalProperties: false, properties: { admission: { type: 'string', enum: ['open', 'approval'] } } },
      response: { 200: { type: 'object', properties: { admission: { type: 'string' } } }, ...errors },
    },
  }, async (request) => {
    const updated = await follows.setAdmission(app.db, requireViewer(request.viewer), request.params.handle, request.body.admission);
    return { admission: updated.admission };
  });

  app.get<{ Params: { handle: string } }>('/neighbourhoods/:handle/follow-requests', {
    schema: {
      summary: 'Requests from other servers to follow this neighbourhood, waiting for a moderator',
      params: handleParams,
      response: { 200: { type: 'object', properties: { requests: { type: 'array', items: remoteFollowSchema } } }, ...errors },
    },
  }, async (request) => ({ requests: (await follows.followRequests(app.db, requireViewer(request.viewer), request.params.handle)).map(present) }));

  app.post<{ Params: { handle: string; id: number }; Body: { decision: 'accept' | 'reject' } }>('/neighbourhoods/:handle/follow-requests/:id', {
    schema: {
      summary: 'Accept or reject a follow request',
      params: { type: 'object', required: ['handle', 'id'], properties: { ...handleParams.properties, ...idParams.properties } },
      body: { type: 'object', required: ['decision'], additionalProperties: false, properties: { decision: { type: 'string', enum: ['accept', 'reject'] } } },
      response: { 200: { type: 'object', properties: { state: nullable({ type: 'string' }) } }, ...errors },
    },
  }, async (request) => {
    const accept = request.body.decision === 'accept';
    await app.federation.decide(requireViewer(request.viewer), request.params.handle, request.params.id, accept);
    return { state: accept ? 'accepted' : null };
  });
};

export default followRoutes;
