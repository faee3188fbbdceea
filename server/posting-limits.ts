// How often one local account may post and follow: a limit per hour on each, on every path that posts
// (API, pages, Mastodon API) or follows (follows, joins, remote follows). Counted in memory per process,
// like the sign-in limits; past the limit the request is answered 429 with Retry-After in each path's
// own error shape (JSON, Mastodon's, or an HTML page).
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { tooManyRequests } from './errors.ts';
import { WindowLimiter } from './rate-limit.ts';

type Limited = 'post' | 'follow';

/** The routes each limit covers, by method and path as registered. */
const limitedRoutes: Record<string, Limited> = {
  'POST /api/neighbourhoods/:handle/threads': 'post',
  'POST /api/threads/:id/replies': 'post',
  'POST /neighbourhoods/:handle/threads': 'post',
  'POST /threads/:id/replies': 'post',
  'POST /api/v1/statuses': 'post',
  'POST /api/follows': 'follow',
  'POST /api/following': 'follow',
  'POST /api/neighbourhoods/:handle/members': 'follow',
  'POST /neighbourhoods/:handle/follow': 'follow',
  'POST /neighbourhoods/:handle/join': 'follow',
  'POST /api/v1/accounts/:id/follow': 'follow',
};

export default fp(async function postingLimits(app: FastifyInstance) {
  const limiters: Record<Limited, WindowLimiter> = {
    post: new WindowLimiter(app.config.postsPerHour, 3_600_000),
    follow: new WindowLimiter(app.config.followsPerHour, 3_600_000),
  };
  const memberOf = (request: FastifyRequest) => request.viewer?.id ?? request.access?.viewer?.id;

  // Added to the route itself, so it runs after every plugin's own hooks have found who is asking.
  app.addHook('onRoute', (route) => {
    const methods = [route.method].flat();
    const limited = methods.includes('POST') ? limitedRoutes[`POST ${route.url}`] : undefined;
    if (!limited) return;
    const check = async (request: FastifyRequest) => {
      const member = memberOf(request);
      // Signing in is checked later by the route; a page preview posts nothing.
      if (member === undefined || (request.body as { preview?: string } | undefined)?.preview) return;
      const key = String(member);
      const wait = limiters[limited].retryAfter(key);
      if (wait) {
        request.log.info({ member, limit: limited }, 'refused: over the hourly limit');
        throw tooManyRequests(`You have made as many ${limited === 'post' ? 'posts' : 'follows'} as you may in an hour; try again later.`, wait);
      }
      limiters[limited].hit(key);
    };
    route.preHandler = [...[route.preHandler ?? []].flat(), check];
  });
});
