// HTTP routes of the OAuth 2 server: the token and revocation endpoints and the server metadata (RFC 8414).
// Errors here take OAuth's shape: `{ error, error_description }`. The consent page is one of the web pages
// (server/pages/oauth-pages.ts).
import forms from '../forms.ts';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { AppError, handleErrors } from '../errors.ts';
import * as oauth from './domain.ts';

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

const oauthRoutes: FastifyPluginAsync = async (app) => {
  await app.register(forms);
  handleErrors(app, (e) => ({
    status: e.status,
    body: { error: e.status === 400 && e.code === 'malformed_json' ? 'invalid_request' : e.code, error_description: e.message, message: e.message },
  }));
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
