// Works out who is asking: a bearer token (API clients) or the session cookie (web pages).
import fp from 'fastify-plugin';
import { SignInLimits, viewerFromToken } from './domain.ts';

export const sessionCookie = 'sm_session';

export default fp(async function authentication(app) {
  app.decorateRequest('viewer', null);
  // One set of counters for every way to sign in (API, pages, OAuth), so a guesser gains nothing by switching.
  app.decorate('signInLimits', new SignInLimits());
  app.addHook('onRequest', async (request) => {
    const header = request.headers.authorization;
    let token: string | undefined;
    if (header?.startsWith('Bearer ')) token = header.slice(7).trim();
    else if (request.cookies[sessionCookie] && cookieMayAuthenticate(request.method, request.headers['content-type'])) {
      token = request.cookies[sessionCookie];
    }
    if (token) request.viewer = await viewerFromToken(app.db, token);
  });
});

/**
 * A cookie rides along on cross-site form posts; a JSON body cannot be sent cross-site without a CORS
 * preflight we never grant. So the cookie counts for reads and JSON writes only, and pages add CSRF tokens.
 */
function cookieMayAuthenticate(method: string, contentType: string | undefined): boolean {
  if (method === 'GET' || method === 'HEAD') return true;
  return !!contentType && /^application\/json\b/i.test(contentType);
}
