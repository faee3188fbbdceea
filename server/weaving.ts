// Network-weaving: following many neighbourhoods, the merged and public feeds, live streams, the directory
// and digests, registered as one plugin so the rest of the app needs one line. The live bus is decorated on
// the root instance (`app.live`) for other streaming APIs to subscribe to.
import websocket from '@fastify/websocket';
import fp from 'fastify-plugin';
import digestRoutes from './digests/routes.ts';
import directoryRoutes from './directory/routes.ts';
import { feedApiRoutes, feedFileRoutes } from './feeds/routes.ts';
import followRoutes, { type FollowRoutesOptions } from './follows/routes.ts';
import { LiveBus } from './live/bus.ts';
import liveRoutes from './live/routes.ts';

declare module 'fastify' {
  interface FastifyInstance {
    live: LiveBus;
  }
}

export default fp<FollowRoutesOptions>(async function networkWeaving(app, options) {
  await app.register(websocket, { options: { maxPayload: 16 * 1024 } });
  const bus = new LiveBus(app.db, app.log);
  await bus.start();
  app.decorate('live', bus);
  app.addHook('onClose', () => bus.close());

  await app.register(async (api) => {
    await api.register(followRoutes, options);
    await api.register(directoryRoutes, options);
    await api.register(feedApiRoutes);
    await api.register(liveRoutes);
  }, { prefix: '/api' });
  await app.register(feedFileRoutes);
  await app.register(digestRoutes);
});
