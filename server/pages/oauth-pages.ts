// OAuth's authorization endpoint as a page like the others: CSRF token, security headers, HTML error pages.
// Apps send people here; they sign in (unless already signed in), allow or deny, and go back to the app.
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { sessionCookie } from '../accounts/authentication.ts';
import * as accounts from '../accounts/domain.ts';
import { AppError } from '../errors.ts';
import * as oauth from '../oauth/domain.ts';
import { cannotAuthorizePage, codePage, consentPage } from './oauth-views.ts';
import { contentSecurityPolicy, context, formBody, send, text } from './respond.ts';

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
  decision?: string;
  username?: string;
  password?: string;
}

const authorizeProperties = {
  response_type: text(50),
  client_id: text(200),
  redirect_uri: text(2000),
  scope: text(2000),
  state: text(2000),
  code_challenge: text(200),
  code_challenge_method: text(20),
} as const;

function redirectWith(reply: FastifyReply, redirectUri: string, params: Record<string, string | undefined>) {
  const url = new URL(redirectUri);
  for (const [name, value] of Object.entries(params)) if (value !== undefined) url.searchParams.set(name, value);
  return reply.redirect(url.href, 302);
}

/**
 * The consent form's post ends in a redirect to the app, which a browser checks against the page's
 * form-action: the app's origin (or its own scheme, for native apps) is added to this page's policy.
 */
function allowFormToReach(reply: FastifyReply, redirectUri: string) {
  if (redirectUri === oauth.outOfBand) return;
  const url = new URL(redirectUri);
  reply.header('content-security-policy', contentSecurityPolicy([/^https?:$/.test(url.protocol) ? url.origin : url.protocol]));
}

const oauthPages: FastifyPluginAsync = async (app) => {
  /** Only the session cookie counts here: an app holding a bearer token must not grant itself more. */
  const signedInMember = async (request: FastifyRequest) => {
    const token = request.cookies[sessionCookie];
    return token ? accounts.viewerFromToken(app.db, token) : null;
  };

  /** Validates the request; shows the faults that must not be redirected, redirects the others. */
  async function authorizationRequest(params: AuthorizeParams, request: FastifyRequest, reply: FastifyReply) {
    let base;
    try {
      base = await oauth.checkClientAndRedirect(app.db, params.client_id, params.redirect_uri);
    } catch (error) {
      if (!(error instanceof AppError)) throw error;
      request.log.info({ reason: error.message }, 'authorization request refused');
      await send(reply, cannotAuthorizePage(context(request, reply), 400, error.message));
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

  const consent = (request: FastifyRequest, reply: FastifyReply, authz: oauth.AuthorizationRequest, params: AuthorizeParams, extra: { signedInAs: string | null; error?: string; username?: string; status?: number }) => {
    allowFormToReach(reply, authz.redirectUri);
    return send(reply, consentPage(context(request, reply), {
      appName: authz.app.name,
      appWebsite: authz.app.website,
      scopes: authz.scopes,
      hidden: {
        response_type: 'code',
        client_id: authz.app.client_id,
        redirect_uri: authz.redirectUri,
        scope: authz.scopes.join(' '),
        state: params.state,
        code_challenge: params.code_challenge,
        code_challenge_method: params.code_challenge ? 'S256' : undefined,
      },
      ...extra,
    }));
  };

  app.get<{ Querystring: AuthorizeParams }>('/oauth/authorize', {
    schema: { querystring: { type: 'object', properties: authorizeProperties } },
  }, async (request, reply) => {
    const authz = await authorizationRequest(request.query, request, reply);
    if (!authz) return reply;
    const member = await signedInMember(request);
    return consent(request, reply, authz, request.query, { signedInAs: member?.username ?? null });
  });

  app.post<{ Body: ConsentForm }>('/oauth/authorize', {
    schema: { body: formBody({ ...authorizeProperties, decision: text(10), username: text(64), password: text(1024) }) },
  }, async (request, reply) => {
    const form = request.body;
    const authz = await authorizationRequest(form, request, reply);
    if (!authz) return reply;
    if (form.decision !== 'allow') {
      if (authz.redirectUri === oauth.outOfBand) return send(reply, cannotAuthorizePage(context(request, reply), 200, 'You denied the app access.'));
      return redirectWith(reply, authz.redirectUri, { error: 'access_denied', error_description: 'The member denied access.', state: form.state });
    }
    let memberId: number;
    const signedIn = await signedInMember(request);
    if (signedIn) memberId = signedIn.id;
    else {
      try {
        const member = await accounts.checkCredentials(app.db, app.signInLimits, { username: form.username ?? '', password: form.password ?? '', address: request.ip });
        memberId = member.id;
      } catch (error) {
        if (!(error instanceof AppError)) throw error;
        reply.headers(error.headers);
        return consent(request, reply, authz, form, { signedInAs: null, error: error.message, username: form.username, status: error.status });
      }
    }
    const code = await oauth.issueCode(app.db, authz, memberId);
    request.log.info({ app: authz.app.id, member: memberId }, 'app authorized');
    if (authz.redirectUri === oauth.outOfBand) return send(reply, codePage(context(request, reply), code));
    return redirectWith(reply, authz.redirectUri, { code, state: form.state });
  });
};

export default oauthPages;
