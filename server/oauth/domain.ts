// OAuth 2 (RFC 6749) as Mastodon apps expect it: registered apps, authorization codes with PKCE (RFC 7636),
// the password and client-credentials grants, revocation (RFC 7009), and Mastodon's scopes.
import { createHash, timingSafeEqual } from 'node:crypto';
import * as accounts from '../accounts/domain.ts';
import type { Viewer } from '../accounts/domain.ts';
import type { Database } from '../database.ts';
import { AppError, badRequest, forbidden } from '../errors.ts';
import * as q from './queries.ts';

export type App = q.AppRow;

/** Mastodon's scopes: the four top-level ones and their granular parts. */
const granularScopes = {
  read: ['accounts', 'blocks', 'bookmarks', 'favourites', 'filters', 'follows', 'lists', 'mutes', 'notifications', 'search', 'statuses'],
  write: [
    'accounts', 'blocks', 'bookmarks', 'conversations', 'favourites', 'filters', 'follows', 'lists', 'media', 'mutes',
    'notifications', 'reports', 'statuses',
  ],
} as const;
export const supportedScopes: readonly string[] = [
  'read', 'write', 'follow', 'push', 'profile',
  ...granularScopes.read.map((s) => `read:${s}`),
  ...granularScopes.write.map((s) => `write:${s}`),
];
/** The legacy `follow` scope stands for these. */
const followCovers = ['read:follows', 'write:follows', 'read:blocks', 'write:blocks', 'read:mutes', 'write:mutes'];

/** Parses a space-separated scope list (`+` too, as some clients send it); unknown scopes are refused. */
export function parseScopes(text: string | undefined, fallback: string): string[] {
  const scopes = [...new Set((text?.trim() || fallback).split(/[\s+]+/).filter(Boolean))];
  const unknown = scopes.find((s) => !supportedScopes.includes(s));
  if (unknown) throw badRequest(`The scope "${unknown}" is not one this server grants.`, 'invalid_scope');
  return scopes;
}

/** Whether a token with `granted` scopes (null: a first-party token, which may do anything) allows `needed`. */
export function allows(granted: readonly string[] | null, needed: string): boolean {
  if (granted === null) return true;
  if (granted.includes(needed)) return true;
  const [top] = needed.split(':');
  if (granted.includes(top!)) return true;
  if (granted.includes('follow') && followCovers.includes(needed)) return true;
  // Mastodon lets `profile` read the signed-in account and nothing else.
  return needed === 'profile' && (granted.includes('read') || granted.includes('read:accounts'));
}

function checkSubset(requested: string[], app: App): void {
  const appScopes = app.scopes.split(' ');
  const extra = requested.find((s) => !appScopes.includes(s) && !allows(appScopes, s));
  if (extra) throw badRequest(`This app was not registered for the scope "${extra}".`, 'invalid_scope');
}

/** Out-of-band: the code is shown to the person to copy, for apps without a web callback. */
export const outOfBand = 'urn:ietf:wg:oauth:2.0:oob';

function checkRedirectUri(uri: string): string {
  if (uri === outOfBand) return uri;
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    throw badRequest(`"${uri}" is not an absolute URI.`, 'invalid_redirect_uri');
  }
  // Native apps use their own schemes (`com.example.app://oauth`); schemes that run code in a page are refused.
  if (/^(javascript|data|vbscript|file|blob):$/i.test(url.protocol) || url.hash) {
    throw badRequest(`"${uri}" cannot be a redirect URI.`, 'invalid_redirect_uri');
  }
  return uri;
}

export async function registerApp(
  db: Database,
  input: { name: string; redirectUris: string[]; scopes?: string; website?: string | null },
): Promise<{ app: App; clientSecret: string }> {
  const name = input.name.trim();
  if (!name) throw badRequest('An app needs a name.', 'invalid_client_name');
  const redirectUris = input.redirectUris.map((u) => u.trim()).filter(Boolean).map(checkRedirectUri);
  if (!redirectUris.length) throw badRequest('Give at least one redirect URI.', 'invalid_redirect_uri');
  const scopes = parseScopes(input.scopes, 'read');
  const clientSecret = accounts.newSecret();
  const app = await q.insertApp(db, {
    client_id: accounts.newSecret(),
    client_secret_hash: accounts.hashToken(clientSecret),
    name,
    website: input.website?.trim() || null,
    redirect_uris: redirectUris.join('\n'),
    scopes: scopes.join(' '),
  });
  return { app, clientSecret };
}

const sameHash = (a: string, b: string) => a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));

/**
 * The app a request speaks for. A confidential client proves itself with its secret; a public client
 * (no secret) is accepted only where PKCE proves the code's origin instead.
 */
export async function authenticateClient(
  db: Database,
  credentials: { clientId?: string; clientSecret?: string },
  options: { secretRequired: boolean } = { secretRequired: true },
): Promise<App> {
  const app = credentials.clientId ? await q.findAppByClientId(db, credentials.clientId) : undefined;
  const secretOk = credentials.clientSecret !== undefined && !!app && sameHash(accounts.hashToken(credentials.clientSecret), app.client_secret_hash);
  if (!app || (credentials.clientSecret !== undefined && !secretOk) || (options.secretRequired && !secretOk)) {
    throw new AppError(401, 'invalid_client', 'The client id or secret is wrong.');
  }
  return app;
}

export interface AuthorizationRequest {
  app: App;
  redirectUri: string;
  scopes: string[];
  state: string | undefined;
  codeChallenge: string | null;
}

/** Checks what an app asks for at the authorization endpoint. Client and redirect faults are never redirected. */
export async function checkClientAndRedirect(db: Database, clientId: string | undefined, redirectUri: string | undefined) {
  const app = clientId ? await q.findAppByClientId(db, clientId) : undefined;
  if (!app) throw badRequest('No app is registered with that client id.', 'invalid_client');
  const registered = app.redirect_uris.split('\n');
  const uri = redirectUri ?? (registered.length === 1 ? registered[0]! : '');
  if (!registered.includes(uri)) throw badRequest('That redirect URI is not one the app registered.', 'invalid_redirect_uri');
  return { app, redirectUri: uri };
}

/** The rest of an authorization request; errors here go back to the app through its redirect URI. */
export function checkAuthorizationRequest(
  base: { app: App; redirectUri: string },
  params: { responseType?: string; scope?: string; state?: string; codeChallenge?: string; codeChallengeMethod?: string },
): AuthorizationRequest {
  if (params.responseType !== 'code') throw badRequest('Only response_type=code is supported.', 'unsupported_response_type');
  const scopes = parseScopes(params.scope, 'read');
  checkSubset(scopes, base.app);
  let codeChallenge: string | null = null;
  if (params.codeChallenge !== undefined) {
    if ((params.codeChallengeMethod ?? 'plain') !== 'S256') throw badRequest('Use code_challenge_method=S256.', 'invalid_request');
    if (!/^[A-Za-z0-9_-]{43}$/.test(params.codeChallenge)) throw badRequest('The code challenge is not a SHA-256 in base64url.', 'invalid_request');
    codeChallenge = params.codeChallenge;
  }
  return { ...base, scopes, state: params.state, codeChallenge };
}

const codeLifetimeMs = 10 * 60_000;

export async function issueCode(db: Database, request: AuthorizationRequest, memberId: number): Promise<string> {
  await q.deleteExpiredCodes(db, new Date());
  const code = accounts.newSecret();
  await q.insertCode(db, {
    code_hash: accounts.hashToken(code),
    app_id: request.app.id,
    member_id: memberId,
    redirect_uri: request.redirectUri,
    scopes: request.scopes.join(' '),
    code_challenge: request.codeChallenge,
    expires_at: new Date(Date.now() + codeLifetimeMs),
  });
  return code;
}

export interface IssuedToken {
  access_token: string;
  token_type: 'Bearer';
  scope: string;
  created_at: number;
}

/** A member token carrying the app's grant; both rows are written together or not at all. */
export async function issueMemberToken(db: Database, app: App, memberId: number, scopes: string[]): Promise<IssuedToken> {
  const token = await db.transaction().execute(async (trx) => {
    const issued = await accounts.issueTokenWithId(trx, memberId, 'api');
    await q.insertGrant(trx, issued.id, app.id, scopes.join(' '));
    return issued.token;
  });
  return { access_token: token, token_type: 'Bearer', scope: scopes.join(' '), created_at: Math.floor(Date.now() / 1000) };
}

const invalidGrant = (message: string) => badRequest(message, 'invalid_grant');

export async function exchangeCode(
  db: Database,
  credentials: { clientId?: string; clientSecret?: string },
  input: { code: string; redirectUri?: string; codeVerifier?: string },
): Promise<IssuedToken> {
  const app = await authenticateClient(db, credentials, { secretRequired: input.codeVerifier === undefined });
  const row = await q.takeCode(db, accounts.hashToken(input.code));
  if (!row || row.app_id !== app.id || row.expires_at < new Date()) throw invalidGrant('That authorization code is not valid.');
  if (input.redirectUri !== undefined && input.redirectUri !== row.redirect_uri) {
    throw invalidGrant('The redirect URI differs from the one the code was issued for.');
  }
  if (row.code_challenge !== null) {
    if (input.codeVerifier === undefined) throw invalidGrant('This code was issued with PKCE: send the code_verifier.');
    const computed = createHash('sha256').update(input.codeVerifier).digest('base64url');
    if (!sameHash(computed, row.code_challenge)) throw invalidGrant('The code verifier does not match the challenge.');
  } else if (input.codeVerifier !== undefined) {
    throw invalidGrant('This code was issued without PKCE.');
  }
  return issueMemberToken(db, app, row.member_id, row.scopes.split(' '));
}

export async function passwordGrant(
  db: Database,
  limits: accounts.SignInLimits,
  credentials: { clientId?: string; clientSecret?: string },
  input: { username: string; password: string; scope?: string; address: string },
): Promise<IssuedToken> {
  const app = await authenticateClient(db, credentials);
  const scopes = parseScopes(input.scope, 'read');
  checkSubset(scopes, app);
  let member: accounts.Member;
  try {
    member = await accounts.checkCredentials(db, limits, input);
  } catch (error) {
    // OAuth reports a wrong password as a bad grant, not a missing authentication.
    if (error instanceof AppError && error.status === 401) throw invalidGrant(error.message);
    throw error;
  }
  return issueMemberToken(db, app, member.id, scopes);
}

/** A token for the app itself, standing for no member: enough to register an account. */
export async function clientCredentialsGrant(
  db: Database,
  credentials: { clientId?: string; clientSecret?: string },
  scope: string | undefined,
): Promise<IssuedToken> {
  const app = await authenticateClient(db, credentials);
  const scopes = parseScopes(scope, 'read');
  checkSubset(scopes, app);
  const token = accounts.newSecret();
  await q.insertAppToken(db, app.id, accounts.hashToken(token), scopes.join(' '));
  return { access_token: token, token_type: 'Bearer', scope: scopes.join(' '), created_at: Math.floor(Date.now() / 1000) };
}

/** Revokes a token the app was given; an unknown token is already as good as revoked (RFC 7009). */
export async function revoke(db: Database, credentials: { clientId?: string; clientSecret?: string }, token: string): Promise<void> {
  const app = await authenticateClient(db, credentials);
  const viewer = await accounts.viewerFromToken(db, token);
  if (viewer) {
    const grant = await q.findGrant(db, viewer.tokenId);
    if (grant?.id !== app.id) throw forbidden('This token was not issued to this app.', 'unauthorized_client');
    await accounts.revokeToken(db, viewer);
    return;
  }
  const appToken = await q.findAppToken(db, accounts.hashToken(token));
  if (appToken) {
    if (appToken.id !== app.id) throw forbidden('This token was not issued to this app.', 'unauthorized_client');
    await q.revokeAppToken(db, appToken.token_id);
  }
}

export interface Access {
  viewer: Viewer | null;
  app: { id: number; client_id: string; name: string; website: string | null } | null;
  /** null: a first-party token (our own sign-in), which carries every scope. */
  scopes: readonly string[] | null;
}

/** What a bearer token lets its holder do: a member's token, or an app's own. Undefined: no valid token. */
export async function accessFor(db: Database, token: string): Promise<Access | undefined> {
  const viewer = await accounts.viewerFromToken(db, token);
  if (viewer) {
    const grant = await q.findGrant(db, viewer.tokenId);
    if (!grant) return { viewer, app: null, scopes: null };
    const { scopes, ...app } = grant;
    return { viewer, app, scopes: scopes.split(' ') };
  }
  const appToken = await q.findAppToken(db, accounts.hashToken(token));
  if (!appToken) return undefined;
  const { scopes, token_id: _, ...app } = appToken;
  return { viewer: null, app, scopes: scopes.split(' ') };
}

/** Refuses a request whose token lacks `scope` (403), or that needs a member and has none (401), as RFC 6750 words it. */
export function requireAccess(access: Access | null, scope: string | undefined, needsMember: boolean): void {
  if ((needsMember && !access?.viewer) || (scope && !access)) {
    const message = needsMember ? 'This method requires an authenticated user.' : 'This method requires an access token.';
    throw new AppError(401, 'unauthorized', message, { 'www-authenticate': 'Bearer' });
  }
  if (scope && access && !allows(access.scopes, scope)) {
    throw new AppError(403, 'insufficient_scope', `This action is outside the authorized scopes (needs ${scope}).`, {
      'www-authenticate': `Bearer error="insufficient_scope", scope="${scope}"`,
    });
  }
}

/** A bearer token that names nothing: unknown, revoked, or its member no longer active. */
export const invalidToken = () =>
  new AppError(401, 'unauthorized', 'The access token is invalid', { 'www-authenticate': 'Bearer error="invalid_token"' });
