// CSRF tokens for the web forms. A token is an HMAC keyed by a secret the browser holds in an HttpOnly
// cookie: the session token once signed in, otherwise a random visitor cookie. A page on another site
// can make the browser send the cookie but can neither read it nor compute the token from it.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { sessionCookie } from '../accounts/authentication.ts';
import { forbidden } from '../errors.ts';

export const visitorCookie = 'sm_visitor';

const tokenFor = (secret: string) => createHmac('sha256', secret).update('square-mile form').digest('base64url');

export function cookieOptions(request: FastifyRequest, maxAge: number) {
  return {
    path: '/',
    httpOnly: true,
    sameSite: 'lax' as const,
    secure: request.server.config.publicUrl.protocol === 'https:',
    maxAge,
  };
}

/** The token to put in this visitor's forms, giving them a visitor cookie first if they have no secret yet. */
export function csrfToken(request: FastifyRequest, reply: FastifyReply): string {
  const secret = request.cookies[sessionCookie] ?? request.cookies[visitorCookie];
  if (secret) return tokenFor(secret);
  const fresh = randomBytes(32).toString('base64url');
  request.cookies[visitorCookie] = fresh;
  reply.setCookie(visitorCookie, fresh, cookieOptions(request, 60 * 60 * 24 * 365));
  return tokenFor(fresh);
}

/** Throws 403 unless the posted token matches one of the secrets the browser sent. */
export function checkCsrf(request: FastifyRequest, posted: string | undefined): void {
  const given = Buffer.from(posted ?? '');
  const secrets = [request.cookies[sessionCookie], request.cookies[visitorCookie]].filter((s): s is string => !!s);
  const ok = secrets.some((secret) => {
    const expected = Buffer.from(tokenFor(secret));
    return expected.length === given.length && timingSafeEqual(expected, given);
  });
  if (!ok) throw forbidden('This form has expired or came from another site. Reload the page and try again.', 'csrf_failed');
}
