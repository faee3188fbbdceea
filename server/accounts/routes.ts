// HTTP routes for accounts: register, sign in and out, who am I.
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { errorSchema, notFound } from '../errors.ts';
import { dateTime, requireViewer } from '../http.ts';
import { sessionCookie } from './authentication.ts';
import * as accounts from './domain.ts';

export const memberSchema = {
  type: 'object',
  required: ['id', 'username', 'displayName', 'bio', 'role', 'createdAt'],
  properties: {
    id: { type: 'integer' },
    username: { type: 'string' },
    displayName: { type: 'string' },
    bio: { type: 'string' },
    role: { type: 'string', enum: ['member', 'moderator', 'admin'] },
    status: { type: 'string', enum: ['active', 'pending', 'suspended'] },
    createdAt: dateTime,
  },
} as const;

export const presentMember = (m: accounts.Member) => ({
  id: m.id,
  username: m.username,
  displayName: m.display_name,
  bio: m.bio,
  role: m.role,
  status: m.status,
  createdAt: m.created_at,
});

const credentialsSchema = {
  type: 'object',
  required: ['username', 'password'],
  additionalProperties: false,
  properties: {
    username: { type: 'string', minLength: 1, maxLength: 64 },
    password: { type: 'string', minLength: 1, maxLength: 1024 },
  },
} as const;

interface Credentials {
  username: string;
  password: string;
}

const errors = { 400: errorSchema, 401: errorSchema, 403: errorSchema, 404: errorSchema, 409: errorSchema, 429: errorSchema };

const accountRoutes: FastifyPluginAsync = async (app) => {
  const checkCredentials = (request: FastifyRequest<{ Body: Credentials }>) =>
    accounts.checkCredentials(app.db, app.signInLimits, { ...request.body, address: request.ip });

  app.post<{ Body: Credentials }>('/accounts', {
    schema: {
      summary: 'Register a new member',
      body: credentialsSchema,
      response: { 201: { type: 'object', properties: { member: memberSchema } }, ...errors },
    },
  }, async (request, reply) => {
    const member = await accounts.register(app.db, request.body, { registration: app.config.registration });
    request.log.info({ member: member.id }, 'member registered');
    return reply.status(201).send({ member: presentMember(member) });
  });

  app.post<{ Body: Credentials }>('/tokens', {
    schema: {
      summary: 'Sign in and receive a bearer token for the API',
      body: credentialsSchema,
      response: {
        201: { type: 'object', required: ['token', 'member'], properties: { token: { type: 'string' }, member: memberSchema } },
        ...errors,
      },
    },
  }, async (request, reply) => {
    const member = await checkCredentials(request);
    const token = await accounts.issueToken(app.db, member.id, 'api');
    return reply.status(201).send({ token, member: presentMember(member) });
  });

  app.delete('/tokens/current', {
    schema: { summary: 'Revoke the token this request was made with', response: { 204: { type: 'null' }, ...errors } },
  }, async (request, reply) => {
    await accounts.revokeToken(app.db, requireViewer(request.viewer));
    return reply.status(204).send();
  });

  app.post<{ Body: Credentials }>('/session', {
    schema: {
      summary: 'Sign in with a session cookie (web pages)',
      body: credentialsSchema,
      response: { 201: { type: 'object', properties: { member: memberSchema } }, ...errors },
    },
  }, async (request, reply) => {
    const member = await checkCredentials(request);
    const token = await accounts.issueToken(app.db, member.id, 'session');
    reply.setCookie(sessionCookie, token, {
      path: '/',
      httpOnly: true,
      sameSite: 'lax',
      secure: app.config.publicUrl.protocol === 'https:',
      maxAge: 60 * 60 * 24 * 30,
    });
    return reply.status(201).send({ member: presentMember(member) });
  });

  app.delete('/session', {
    schema: { summary: 'Sign out of the session cookie', response: { 204: { type: 'null' }, ...errors } },
  }, async (request, reply) => {
    await accounts.revokeToken(app.db, requireViewer(request.viewer));
    reply.clearCookie(sessionCookie, { path: '/' });
    return reply.status(204).send();
  });

  app.get('/me', {
    schema: { summary: 'The signed-in member', response: { 200: { type: 'object', properties: { member: memberSchema } }, ...errors } },
  }, async (request) => {
    const viewer = requireViewer(request.viewer);
    const member = await accounts.memberByUsername(app.db, viewer.username);
    return { member: presentMember(member!) };
  });

  app.get<{ Params: { username: string } }>('/members/:username', {
    schema: {
      summary: 'A member by username',
      params: { type: 'object', properties: { username: { type: 'string', maxLength: 64 } } },
      response: { 200: { type: 'object', properties: { member: memberSchema } }, ...errors },
    },
  }, async (request) => {
    const member = await accounts.memberByUsername(app.db, request.params.username);
    if (!member || member.status !== 'active') throw notFound('That member');
    return { member: presentMember(member) };
  });
};

export default accountRoutes;
