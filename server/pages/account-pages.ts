// Routes for joining, logging in and out, and member profiles.
import type { FastifyPluginAsync } from 'fastify';
import { sessionCookie } from '../accounts/authentication.ts';
import * as accounts from '../accounts/domain.ts';
import { notFound } from '../errors.ts';
import * as profilePosts from '../profile-posts/domain.ts';
import * as threads from '../threads/domain.ts';
import { loginPage, memberPage, pendingPage, registerPage } from './account-views.ts';
import { cookieOptions } from './csrf.ts';
import { attempt, context, formBody, localPath, seeOther, send, text } from './respond.ts';

interface Credentials {
  username: string;
  password: string;
  next?: string;
}

const credentials = formBody({ username: text(64), password: text(1024), next: text(2000) }, ['username', 'password']);

const accountPages: FastifyPluginAsync = async (app) => {

  app.get<{ Querystring: { next?: string } }>('/login', {
    schema: { querystring: { type: 'object', properties: { next: text(2000) } } },
  }, async (request, reply) => send(reply, loginPage(context(request, reply), localPath(request.query.next))));

  app.post<{ Body: Credentials }>('/login', { schema: { body: credentials } }, async (request, reply) => {
    const { username, password } = request.body;
    const next = localPath(request.body.next);
    const signedIn = await attempt(() => accounts.checkCredentials(app.db, app.signInLimits, { username, password, address: request.ip }));
    if (signedIn.error) {
      reply.headers(signedIn.error.headers);
      return send(reply, loginPage(context(request, reply), next, username, signedIn.error.message, signedIn.error.status));
    }
    const token = await accounts.issueToken(app.db, signedIn.value.id, 'session');
    reply.setCookie(sessionCookie, token, cookieOptions(request, 60 * 60 * 24 * 30));
    return seeOther(reply, next);
  });

  app.post('/logout', { schema: { body: formBody({}) } }, async (request, reply) => {
    if (request.viewer) await accounts.revokeToken(app.db, request.viewer);
    reply.clearCookie(sessionCookie, { path: '/' });
    return seeOther(reply, '/');
  });

  app.get('/register', async (request, reply) => send(reply, registerPage(context(request, reply))));

  app.post<{ Body: Credentials }>('/register', { schema: { body: credentials } }, async (request, reply) => {
    const { username, password } = request.body;
    const registered = await attempt(() => accounts.register(app.db, { username, password }, { registration: app.config.registration }));
    if (registered.error) {
      return send(reply, registerPage(context(request, reply), username, registered.error.message, registered.error.status));
    }
    request.log.info({ member: registered.value.id }, 'member registered from the web');
    if (registered.value.status !== 'active') return send(reply, pendingPage(context(request, reply)));
    const token = await accounts.issueToken(app.db, registered.value.id, 'session');
    reply.setCookie(sessionCookie, token, cookieOptions(request, 60 * 60 * 24 * 30));
    return seeOther(reply, '/');
  });

  app.get<{ Params: { username: string } }>('/members/:username', {
    schema: { params: { type: 'object', required: ['username'], properties: { username: text(64) } } },
  }, async (request, reply) => {
    const member = await accounts.memberByUsername(app.db, request.params.username);
    if (!member || member.status !== 'active') throw notFound('That member');
    const [recent, posts] = [await threads.threadsByAuthor(app.db, member.id, 20, request.viewer), await profilePosts.postsBy(app.db, member.id, 20)];
    return send(reply, memberPage(context(request, reply), member, recent, posts));
  });
};

export default accountPages;
