// Pre-moderation from the web: the queue and settings for a neighbourhood's moderators, and an author's own
// held posts. Each form calls the same domain function as the API, which checks who is acting.
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { requireViewer } from '../http.ts';
import * as neighbourhoods from '../neighbourhoods/domain.ts';
import * as premoderation from '../premoderation/domain.ts';
import { given } from './forms.ts';
import { heldQueuePage, myHeldPostsPage } from './premoderation-views.ts';
import { attempt, context, formBody, idParams, seeOther, send, text } from './respond.ts';

type Handle = { Params: { handle: string } };
const handleParams = { type: 'object', required: ['handle'], properties: { handle: text(64) } } as const;

const premoderationPages: FastifyPluginAsync = async (app) => {
  async function showQueue(request: FastifyRequest<Handle>, reply: FastifyReply, error?: { status: number; message: string }) {
    const viewer = requireViewer(request.viewer);
    const held = await premoderation.heldQueue(app.db, viewer, request.params.handle);
    const neighbourhood = await neighbourhoods.neighbourhoodByHandle(app.db, request.params.handle);
    const settings = await premoderation.premoderationSettings(app.db, viewer, neighbourhood.handle);
    return send(reply, heldQueuePage(context(request, reply), { neighbourhood, settings, held, error: error?.message, status: error?.status }));
  }

  app.get<Handle>('/neighbourhoods/:handle/held-posts', { schema: { params: handleParams } }, async (request, reply) => showQueue(request, reply));

  app.post<Handle & { Body: { holdFirstPosts: string; holdWords?: string } }>('/neighbourhoods/:handle/premoderation', {
    schema: { params: handleParams, body: formBody({ holdFirstPosts: { type: 'string', pattern: '^[0-9]{1,3}$' }, holdWords: text(20000) }, ['holdFirstPosts']) },
  }, async (request, reply) => {
    const viewer = requireViewer(request.viewer);
    const saved = await attempt(() => premoderation.setPremoderation(app.db, viewer, request.params.handle, {
      holdFirstPosts: Number(request.body.holdFirstPosts),
      holdWords: (request.body.holdWords ?? '').split(/\r?\n/),
    }));
    if (saved.error?.status === 403 || saved.error?.status === 401) throw saved.error;
    if (saved.error) return showQueue(request, reply, saved.error);
    return seeOther(reply, `/neighbourhoods/${request.params.handle}/held-posts`);
  });

  for (const decision of ['approve', 'reject'] as const) {
    app.post<{ Params: { id: number }; Body: { reason?: string } }>(`/held-posts/:id/${decision}`, {
      schema: { params: idParams, body: formBody({ reason: text(1000) }) },
    }, async (request, reply) => {
      const viewer = requireViewer(request.viewer);
      const held = await premoderation.heldPost(app.db, viewer, request.params.id);
      if (decision === 'approve') await premoderation.approve(app.db, viewer, held.id, given(request.body.reason));
      else await premoderation.reject(app.db, viewer, held.id, given(request.body.reason));
      request.log.info({ held: held.id, decision }, 'held post decided from the web');
      return seeOther(reply, `/neighbourhoods/${held.neighbourhood_handle}/held-posts`);
    });
  }

  app.get('/held-posts', async (request, reply) =>
    send(reply, myHeldPostsPage(context(request, reply), await premoderation.heldPostsBy(app.db, requireViewer(request.viewer)))));
};

export default premoderationPages;
