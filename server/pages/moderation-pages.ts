// Moderation from the web: the buttons on thread pages, a neighbourhood's log with its bans, and the
// instance log. Each form calls the same domain function as the API, which checks who is acting.
import type { FastifyPluginAsync } from 'fastify';
import type { Viewer } from '../accounts/domain.ts';
import { requireViewer } from '../http.ts';
import * as moderation from '../moderation/domain.ts';
import { given } from './forms.ts';
import { instanceModerationPage, neighbourhoodModerationPage } from './moderation-views.ts';
import { attempt, context, formBody, idParams, seeOther, send, text } from './respond.ts';

type Id = { Params: { id: number }; Body: { reason?: string } };
type Handle = { Params: { handle: string } };
const handleParams = { type: 'object', required: ['handle'], properties: { handle: text(64) } } as const;
const reasonForm = formBody({ reason: text(1000) });

const moderationPages: FastifyPluginAsync = async (app) => {
  const log = (handle: string) => `/neighbourhoods/${handle}/moderation`;
  const threadActions: [string, (v: Viewer, id: number, reason?: string) => Promise<moderation.Where>, (w: moderation.Where) => string][] = [
    ['/threads/:id/remove', (v, id, r) => moderation.removeThread(app.db, v, id, r), (w) => log(w.handle)],
    ['/threads/:id/restore', (v, id, r) => moderation.restoreThread(app.db, v, id, r), (w) => `/threads/${w.threadId}`],
    ['/threads/:id/lock', (v, id, r) => moderation.lockThread(app.db, v, id, true, r), (w) => `/threads/${w.threadId}`],
    ['/threads/:id/unlock', (v, id, r) => moderation.lockThread(app.db, v, id, false, r), (w) => `/threads/${w.threadId}`],
    ['/threads/:id/pin', (v, id, r) => moderation.pinThread(app.db, v, id, true, r), (w) => `/threads/${w.threadId}`],
    ['/threads/:id/unpin', (v, id, r) => moderation.pinThread(app.db, v, id, false, r), (w) => `/threads/${w.threadId}`],
    ['/replies/:id/remove', (v, id, r) => moderation.removeReply(app.db, v, id, r), (w) => `/threads/${w.threadId}`],
    ['/replies/:id/restore', (v, id, r) => moderation.restoreReply(app.db, v, id, r), (w) => `/threads/${w.threadId}`],
  ];
  for (const [url, act, next] of threadActions) {
    app.post<Id>(url, { schema: { params: idParams, body: reasonForm } }, async (request, reply) => {
      const where = await act(requireViewer(request.viewer), request.params.id, given(request.body.reason));
      request.log.info({ action: url, id: request.params.id }, 'moderation action from the web');
      return seeOther(reply, next(where));
    });
  }

  async function showLog(request: import('fastify').FastifyRequest<Handle>, reply: import('fastify').FastifyReply, error?: { status: number; message: string }) {
    const { neighbourhood, entries } = await moderation.neighbourhoodLog(app.db, request.params.handle, { limit: 100 });
    const canModerate = await moderation.canModerate(app.db, neighbourhood, request.viewer);
    const bans = canModerate ? await moderation.bansIn(app.db, request.viewer!, neighbourhood.handle) : [];
    const joinRequests = canModerate ? await moderation.joinRequestsFor(app.db, request.viewer!, neighbourhood.handle) : [];
    return send(reply, neighbourhoodModerationPage(context(request, reply), {
      neighbourhood, entries, canModerate, bans, joinRequests, error: error?.message, status: error?.status,
    }));
  }

  app.get<Handle>('/neighbourhoods/:handle/moderation', { schema: { params: handleParams } }, async (request, reply) => showLog(request, reply));

  app.post<Handle & { Body: { username?: string; reason?: string; days?: string; removeContent?: string } }>('/neighbourhoods/:handle/bans', {
    schema: {
      params: handleParams,
      body: formBody({ username: text(64), reason: text(1000), days: { type: 'string', pattern: '^[0-9]{0,4}$' }, removeContent: text(1) }),
    },
  }, async (request, reply) => {
    const viewer = requireViewer(request.viewer);
    const { username, reason, days, removeContent } = request.body;
    const banned = await attempt(() => moderation.banFromNeighbourhood(app.db, viewer, request.params.handle, given(username) ?? '', {
      reason,
      expiresAt: given(days) ? new Date(Date.now() + Number(days) * 86_400_000) : null,
      removeContent: removeContent === '1',
    }));
    // A refusal for not being a moderator is the page's error; a mistyped name is shown beside the form.
    if (banned.error?.status === 403 || banned.error?.status === 401) throw banned.error;
    if (banned.error) return showLog(request, reply, banned.error);
    return seeOther(reply, log(request.params.handle));
  });

  app.post<{ Params: { handle: string; username: string } }>('/neighbourhoods/:handle/bans/:username/lift', {
    schema: { params: { type: 'object', required: ['handle', 'username'], properties: { handle: text(64), username: text(64) } }, body: formBody({}) },
  }, async (request, reply) => {
    await moderation.liftBan(app.db, requireViewer(request.viewer), request.params.handle, request.params.username);
    return seeOther(reply, log(request.params.handle));
  });

  app.post<Handle & { Body: { membersOnly: '0' | '1' } }>('/neighbourhoods/:handle/privacy', {
    schema: { params: handleParams, body: formBody({ membersOnly: { type: 'string', enum: ['0', '1'] } }, ['membersOnly']) },
  }, async (request, reply) => {
    await moderation.setMembersOnly(app.db, requireViewer(request.viewer), request.params.handle, request.body.membersOnly === '1');
    return seeOther(reply, log(request.params.handle));
  });

  for (const [decision, approved] of [['approve', true], ['reject', false]] as const) {
    app.post<{ Params: { handle: string; username: string } }>(`/neighbourhoods/:handle/join-requests/:username/${decision}`, {
      schema: { params: { type: 'object', required: ['handle', 'username'], properties: { handle: text(64), username: text(64) } }, body: formBody({}) },
    }, async (request, reply) => {
      await moderation.decideJoinRequest(app.db, requireViewer(request.viewer), request.params.handle, request.params.username, approved);
      return seeOther(reply, log(request.params.handle));
    });
  }

  app.get('/moderation', async (request, reply) => {
    const entries = await moderation.instanceLog(app.db, requireViewer(request.viewer), { limit: 100 });
    return send(reply, instanceModerationPage(context(request, reply), entries));
  });

  for (const [action, suspended] of [['suspend', true], ['unsuspend', false]] as const) {
    app.post<{ Params: { username: string }; Body: { reason?: string } }>(`/members/:username/${action}`, {
      schema: { params: { type: 'object', required: ['username'], properties: { username: text(64) } }, body: reasonForm },
    }, async (request, reply) => {
      await moderation.suspendAccount(app.db, requireViewer(request.viewer), request.params.username, suspended, given(request.body.reason));
      return seeOther(reply, '/moderation');
    });
  }
};

export default moderationPages;
