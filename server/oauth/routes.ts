// HTTP routes of the OAuth 2 server: the consent page, the token and revocation endpoints, and the
// server metadata (RFC 8414). Errors here take OAuth's shape: `{ error, error_description }`.
import { timingSafeEqual } from 'node:crypto';
import forms from '../forms.ts';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { sessionCookie } from '../accounts/authentication.ts';
import * as accounts from '../accounts/domain.ts';
import { AppError, handleErrors } from '../errors.ts';
import * as oauth from './domain.ts';
import { codePage, consentPage, errorPage, pageSecurityHeaders } from './page.ts';

const csrfCookie = 'sm_oauth_csrf';

interface AuthorizeParams {
  response_type?: string;
  client_id?: string;
  redirect_uri?: string;
  scope?: string;
  state?: string;
  code_challenge?: string;
  code_challenge_method?: string;
}

interface ConsentForm extends AuthorizeParams {
  csrf?: string;
  decision?: string;
  username?: string;
  password?: string;
}

interface TokenBody {
  grant_type: string;
  client_id?: string;
  client_secret?: string;
  code?: string;
  redirect_uri?: string;
  code_verifier?: string;
  username?: string;
  password?: string;
  scope?: string;
}

const text = (maxLength: number) => ({ type: 'string', maxLength }) as const;
const authorizeProperties = {
  response_type: text(50),
  client_id: text(200),
  redirect_uri: text(2000),
  scope: text(2000),
  state: text(2000),
  code_challenge: text(200),
  code_challenge_method: text(20),
} as const;

const oauthError = {
  type: 'object',
  required: ['error'],
  properties: { error: { type: 'string' }, error_description: { type: 'string' }, message: { type: 'string' } },
} as const;
const tokenResponse = {
  type: 'object',
  properties: { access_token: { type: 'string' }, token_type: { type: 'string' }, scope: { type: 'string' }, created_at: { type: 'integer' } },
} as const;
const errors = { 400: oauthError, 401: oauthError, 403: oauthError, 429: oauthError };

/** Client credentials from HTTP Basic (preferred by RFC 6749) or from the body (what Mastodon apps send). */
function clientCredentials(request: FastifyRequest, body: { client_id?: string; client_secret?: string }) {
  const basic = /^Basic\s+(\S+)$/i.exec(request.headers.authorization ?? '')?.[1];
  if (basic) {
    try {
      const [id, secret] = Buffer.from(basic, 'base64').toString('utf8').split(':').map(decodeURIComponent);
      return { clientId: id, clientSecret: secret ?? '' };
    } catch {
      throw new AppError(401, 'invalid_client', 'The Basic credentials are not readable.');
    }
  }
  return { clientId: body.client_id, clientSecret: body.client_secret };
}

function redirectWith(reply: FastifyReply, redirectUri: string, params: Record<string, string | undefined>) {
  const url = new URL(redirectUri);
  for (const [name, value] of Object.entries(params)) if (value !== undefined) url.searchParams.set(name, value);
  return reply.redirect(url.href, 302);
}

const sameText = (a: string, b: string) => a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));

const oauthRoutes: FastifyPluginAsync = async (app) => {
  await app.register(forms);
  handleErrors(app, (e) => ({
    status: e.status,
    body: { error: e.status === 400 && e.code === 'malformed_json' ? 'invalid_request' : e.code, error_description: e.message, message: e.message },
  }));
  const { instanceName } = app.config;
  const html = (reply: FastifyReply, status: number, page: string) => reply.status(status).headers(pageSecurityHeaders).send(page);

  /** The member signed in to our pages, if any; read directly because a form post never authenticates by cookie. */
  const sessionViewer = async (request: FastifyRequest) => {
    const token = request.cookies[sessionCookie];
    return token ? accounts.viewerFromToken(app.db, token) : null;
  };

  /** Validates the request; renders the faults that must not be redirected, redirects the others. */
  async function authorizationRequest(params: AuthorizeParams, reply: FastifyReply) {
    let base;
    try {
      base = await oauth.checkClientAndRedirect(app.db, params.client_id, params.redirect_uri);
    } catch (error) {
      if (!(error instanceof AppError)) throw error;
      await html(reply, 400, errorPage(instanceName, error.message));
      return undefined;
    }
    try {
      return oauth.checkAuthorizationRequest(base, {
        responseType: params.response_type,
        scope: params.scope,
        state: params.state,
        codeChallenge: params.code_challenge,
        codeChallengeMethod: params.code_challenge_method,
      });
    } catch (error) {
      if (!(error instanceof AppError) || base.redirectUri === oauth.outOfBand) throw error;
      await redirectWith(reply, base.redirectUri, { error: error.code, error_description: error.message, state: params.state });
      return undefined;
    }
  }

  const consent = (request: oauth.AuthorizationRequest, params: AuthorizeParams, csrf: string, extra: { signedInAs: string | null; error?: string; username?: string }) =>
    consentPage({
      instanceName,
      appName: request.app.name,
      appWebsite: request.app.website,
      scopes: request.scopes,
      hidden: {
        csrf,
        response_type: 'code',
        client_id: request.app.client_id,
        redirect_uri: request.redirectUri,
        scope: request.scopes.join(' '),
        state: params.state,
        code_challenge: params.code_challenge,
        code_challenge_method: params.code_challenge ? 'S256' : undefined,
      },
      ...extra,
    });

  app.get<{ Querystring: AuthorizeParams }>('/oauth/authorize', {
    schema: { hide: true, querystring: { type: 'object', properties: authorizeProperties } },
  }, async (request, reply) => {
    const authz = await authorizationRequest(request.query, reply);
    if (!authz) return reply;
    // Double-submit token: a page on another site can post the form but cannot read or set this cookie.
    const csrf = request.cookies[csrfCookie] ?? accounts.newSecret();
    reply.setCookie(csrfCookie, csrf, {
      path: '/oauth',
      httpOnly: true,
      sameSite: 'strict',
      secure: app.config.publicUrl.protocol === 'https:',
    });
    const viewer = await sessionViewer(request);
    return html(reply, 200, consent(authz, request.query, csrf, { signedInAs: viewer?.username ?? null }));
  });

  app.post<{ Body: ConsentForm }>('/oauth/authorize', {
    schema: {
      hide: true,
      body: {
        type: 'object',
        properties: { ...authorizeProperties, csrf: text(200), decision: text(10), username: text(64), password: text(1024) },
      },
    },
  }, async (request, reply) => {
    const form = request.body;
    const cookie = request.cookies[csrfCookie];
    if (!cookie || !form.csrf || !sameText(cookie, form.csrf)) {
      request.log.info('consent form without a matching CSRF token');
      return html(reply, 403, errorPage(instanceName, 'This form has expired or was not sent from this site. Go back to the app and start again.'));
    }
    const authz = await authorizationRequest(form, reply);
    if (!authz) return reply;
    if (form.decision !== 'allow') {
      if (authz.redirectUri === oauth.outOfBand) return html(reply, 200, errorPage(instanceName, 'You denied the app access.'));
      return redirectWith(reply, authz.redirectUri, { error: 'access_denied', error_description: 'The member denied access.', state: form.state });
    }
    let memberId: number;
    const signedIn = await sessionViewer(request);
    if (signedIn) memberId = signedIn.id;
    else {
      try {
        const member = await accounts.checkCredentials(app.db, app.signInLimits, {
          username: form.username ?? '',
          password: form.password ?? '',
          address: request.ip,
        });
        memberId = member.id;
      } catch (error) {
        if (!(error instanceof AppError)) throw error;
        reply.headers(error.headers);
        return html(reply, error.status, consent(authz, form, cookie, { signedInAs: null, error: error.message, username: form.username }));
      }
    }
    const code = await oauth.issueCode(app.db, authz, memberId);
    request.log.info({ app: authz.app.id, member: memberId }, 'app authorized');
    if (authz.redirectUri === oauth.outOfBand) return html(reply, 200, codePage(instanceName, code));
    return redirectWith(reply, authz.redirectUri, { code, state: form.state });
  });

  app.post<{ Body: TokenBody }>('/oauth/token', {
    schema: {
      summary: 'Exchange an authorization code, a password or client credentials for a token',
      tags: ['oauth'],
      body: {
        type: 'object',
        required: ['grant_type'],
        properties: {
          grant_type: text(100),
          client_id: text(200),
          client_secret: text(200),
          code: text(200),
          redirect_uri: text(2000),
          code_verifier: { type: 'string', minLength: 43, maxLength: 128, pattern: '^[A-Za-z0-9._~-]+$' },
          username: text(64),
          password: text(1024),
          scope: text(2000),
        },
      },
      response: { 200: tokenResponse, ...errors },
    },
  }, async (request, reply) => {
    const body = request.body;
    const credentials = clientCredentials(request, body);
    reply.header('cache-control', 'no-store');
    switch (body.grant_type) {
      case 'authorization_code':
        if (!body.code) throw new AppError(400, 'invalid_request', 'Send the code.');
        return oauth.exchangeCode(app.db, credentials, { code: body.code, redirectUri: body.redirect_uri, codeVerifier: body.code_verifier });
      case 'password':
        if (!body.username || !body.password) throw new AppError(400, 'invalid_request', 'Send the username and password.');
        return oauth.passwordGrant(app.db, app.signInLimits, credentials, {
          username: body.username,
          password: body.password,
          scope: body.scope,
          address: request.ip,
        });
      case 'client_credentials':
        return oauth.clientCredentialsGrant(app.db, credentials, body.scope);
      default:
        throw new AppError(400, 'unsupported_grant_type', `The grant type "${body.grant_type}" is not supported.`);
    }
  });

  app.post<{ Body: { token: string; client_id?: string; client_secret?: string } }>('/oauth/revoke', {
    schema: {
      summary: 'Revoke a token this app was given',
      tags: ['oauth'],
      body: {
        type: 'object',
        required: ['token'],
        properties: { token: text(200), client_id: text(200), client_secret: text(200), token_type_hint: text(50) },
      },
      response: { 200: { type: 'object' }, ...errors },
    },
  }, async (request) => {
    await oauth.revoke(app.db, clientCredentials(request, request.body), request.body.token);
    return {};
  });

  app.get('/.well-known/oauth-authorization-server', {
    schema: { summary: 'OAuth 2 server metadata (RFC 8414)', tags: ['oauth'], response: { 200: { type: 'object', additionalProperties: true } } },
  }, async () => {
    const base = app.config.publicUrl.origin;
    return {
      issuer: `${base}/`,
      authorization_endpoint: `${base}/oauth/authorize`,
      token_endpoint: `${base}/oauth/token`,
      revocation_endpoint: `${base}/oauth/revoke`,
      app_registration_endpoint: `${base}/api/v1/apps`,
      scopes_supported: oauth.supportedScopes,
      response_types_supported: ['code'],
      response_modes_supported: ['query'],
      grant_types_supported: ['authorization_code', 'password', 'client_credentials'],
      code_challenge_methods_supported: ['S256'],
      token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'none'],
      service_documentation: `${base}/api/openapi.json`,
    };
  });
};

export default oauthRoutes;
