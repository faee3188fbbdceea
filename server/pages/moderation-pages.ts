// Moderation from the web: the buttons on thread pages, a neighbourhood's log with its bans, and the
// instance log. Each form calls the same domain function as the API, which checks who is acting.
import type { FastifyPluginAsync } from 'fastify';
import type { Viewer } from '../accounts/domain.ts';
import { requireViewer } from '../http.ts';
import * as moderation from '../moderation/domain.ts';
import { given } from './forms.ts';
import { instanceModerationPage, myReportsPage, neighbourhoodModerationPage, reportFormPage } from './moderation-views.ts';
import type { ReportCategory } from '../database.ts';
import * as threads from '../threads/domain.ts';
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
    const reports = canModerate ? await moderation.reportQueue(app.db, request.viewer!, neighbourhood.handle) : [];
    return send(reply, neighbourhoodModerationPage(context(request, reply), {
      neighbourhood, entries, canModerate, bans, joinRequests, reports, error: error?.message, status: error?.status,
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

  // The report form, for a thread, a reply or an account; posting it files the report.
  app.get<{ Params: { id: number } }>('/threads/:id/report', { schema: { params: idParams } }, async (request, reply) => {
    requireViewer(request.viewer);
    const thread = await threads.readableThread(app.db, request.viewer, request.params.id);
    return send(reply, reportFormPage(context(request, reply), { target: { threadId: String(thread.id) }, what: `\u201c${thread.title}\u201d`, back: `/threads/${thread.id}` }));
  });
  app.get<{ Params: { id: number } }>('/replies/:id/report', { schema: { params: idParams } }, async (request, reply) => {
    requireViewer(request.viewer);
    const found = await threads.replyById(app.db, request.params.id);
    await threads.readableThread(app.db, request.viewer, found.thread_id);
    return send(reply, reportFormPage(context(request, reply), { target: { replyId: String(found.id) }, what: 'a reply', back: `/threads/${found.thread_id}#reply-${found.id}` }));
  });
  app.get<{ Params: { username: string } }>('/members/:username/report', {
    schema: { params: { type: 'object', required: ['username'], properties: { username: text(64) } } },
  }, async (request, reply) => {
    requireViewer(request.viewer);
    return send(reply, reportFormPage(context(request, reply), { target: { username: request.params.username }, what: `@${request.params.username}`, back: `/members/${request.params.username}` }));
  });

  const idField = { type: 'string', pattern: '^[0-9]{1,10}$' } as const;
  app.post<{ Body: { threadId?: string; replyId?: string; username?: string; category: ReportCategory; reason?: string; forward?: string } }>('/reports', {
    schema: {
      body: formBody({
        threadId: idField, replyId: idField, username: text(64), category: { type: 'string', enum: moderation.reportCategories }, reason: text(1000), forward: text(1),
      }, ['category']),
    },
  }, async (request, reply) => {
    const { threadId, replyId, username, category, reason, forward } = request.body;
    const target = threadId ? { threadId: Number(threadId) } : replyId ? { replyId: Number(replyId) } : { username: username ?? '' };
    const report = await moderation.fileReport(app.db, requireViewer(request.viewer), target, { category, reason, forward: forward === '1' });
    await app.federation.reportFiled(report);
    return seeOther(reply, '/reports/mine');
  });

  app.get('/reports/mine', async (request, reply) =>
    send(reply, myReportsPage(context(request, reply), await moderation.reportsBy(app.db, requireViewer(request.viewer)))));

  for (const [outcome, status] of [['resolve', 'resolved'], ['dismiss', 'dismissed']] as const) {
    app.post<{ Params: { id: number } }>(`/reports/:id/${outcome}`, { schema: { params: idParams, body: formBody({}) } }, async (request, reply) => {
      const handle = await moderation.closeReport(app.db, requireViewer(request.viewer), request.params.id, status);
      await app.federation.reportClosed(request.params.id);
      return seeOther(reply, handle ? log(handle) : '/moderation');
    });
  }

  app.get('/moderation', async (request, reply) => {
    const entries = await moderation.instanceLog(app.db, requireViewer(request.viewer), { limit: 100 });
    const reports = await moderation.reportQueue(app.db, request.viewer!);
    return send(reply, instanceModerationPage(context(request, reply), entries, reports));
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
