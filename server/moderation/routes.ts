// HTTP routes for moderation: actions on threads, replies and members, moderator roles, and the logs.
import type { FastifyPluginAsync } from 'fastify';
import type { ReportCategory } from '../database.ts';
import { errorSchema } from '../errors.ts';
import { dateTime, nullable, requireViewer } from '../http.ts';
import * as moderation from './domain.ts';

const idParams = { type: 'object', required: ['id'], properties: { id: { type: 'integer', minimum: 1, maximum: 2_147_483_647 } } } as const;
const handleParams = { type: 'object', required: ['handle'], properties: { handle: { type: 'string', minLength: 1, maxLength: 64 } } } as const;
const memberParams = {
  type: 'object',
  required: ['handle', 'username'],
  properties: { handle: { type: 'string', minLength: 1, maxLength: 64 }, username: { type: 'string', minLength: 1, maxLength: 64 } },
} as const;
const usernameParams = { type: 'object', required: ['username'], properties: { username: { type: 'string', minLength: 1, maxLength: 64 } } } as const;
const reasonBody = { type: 'object', additionalProperties: false, properties: { reason: { type: 'string', maxLength: 1000 } } } as const;
const errors = { 400: errorSchema, 401: errorSchema, 403: errorSchema, 404: errorSchema, 409: errorSchema };
const done = { 204: { type: 'null' }, ...errors };
const logQuery = {
  type: 'object',
  additionalProperties: false,
  properties: { limit: { type: 'integer', minimum: 1, maximum: 100, default: 50 }, before: { type: 'integer', minimum: 1, maximum: 2_147_483_647 } },
} as const;

const logEntrySchema = {
  type: 'object',
  properties: {
    id: { type: 'integer' },
    action: { type: 'string' },
    moderator: nullable({ type: 'string' }),
    neighbourhood: nullable({ type: 'string' }),
    threadId: nullable({ type: 'integer' }),
    replyId: nullable({ type: 'integer' }),
    member: nullable({ type: 'string' }),
    reason: { type: 'string' },
    createdAt: dateTime,
  },
} as const;
const logResponse = { 200: { type: 'object', properties: { entries: { type: 'array', items: logEntrySchema } } }, ...errors };

export const presentLogEntry = (e: moderation.LogEntry) => ({
  id: e.id,
  action: e.action,
  moderator: e.moderator,
  neighbourhood: e.neighbourhood,
  threadId: e.thread_id,
  replyId: e.reply_id,
  member: e.member,
  reason: e.reason,
  createdAt: e.created_at,
});

type Reason = { reason?: string };

const reportSchema = {
  type: 'object',
  properties: {
    id: { type: 'integer' },
    neighbourhood: nullable({ type: 'string' }),
    threadId: nullable({ type: 'integer' }),
    replyId: nullable({ type: 'integer' }),
    member: nullable({ type: 'string' }),
    reporter: nullable({ type: 'string' }),
    category: { type: 'string' },
    reason: { type: 'string' },
    forward: { type: 'boolean' },
    status: { type: 'string', enum: ['open', 'resolved', 'dismissed'] },
    resolvedAt: nullable(dateTime),
    createdAt: dateTime,
  },
} as const;

export const presentReport = (r: moderation.Report) => ({
  id: r.id,
  neighbourhood: r.neighbourhood,
  threadId: r.thread_id,
  replyId: r.reply_id,
  member: r.member,
  reporter: r.reporter,
  category: r.category,
  reason: r.reason,
  forward: r.forward,
  status: r.status,
  resolvedAt: r.resolved_at,
  createdAt: r.created_at,
});

const moderationRoutes: FastifyPluginAsync = async (app) => {
  // Each action on one thread or reply: POST with an optional reason, 204 when done.
  const actions = [
    ['/threads/:id/remove', 'Remove a thread (moderators)', (v, id, r) => moderation.removeThread(app.db, v, id, r)],
    ['/threads/:id/restore', 'Restore a removed thread (moderators)', (v, id, r) => moderation.restoreThread(app.db, v, id, r)],
    ['/threads/:id/lock', 'Lock a thread against new replies (moderators)', (v, id, r) => moderation.lockThread(app.db, v, id, true, r)],
    ['/threads/:id/unlock', 'Unlock a thread (moderators)', (v, id, r) => moderation.lockThread(app.db, v, id, false, r)],
    ['/threads/:id/pin', 'Pin a thread first in its neighbourhood (moderators)', (v, id, r) => moderation.pinThread(app.db, v, id, true, r)],
    ['/threads/:id/unpin', 'Unpin a thread (moderators)', (v, id, r) => moderation.pinThread(app.db, v, id, false, r)],
    ['/replies/:id/remove', 'Remove a reply (moderators)', (v, id, r) => moderation.removeReply(app.db, v, id, r)],
    ['/replies/:id/restore', 'Restore a removed reply (moderators)', (v, id, r) => moderation.restoreReply(app.db, v, id, r)],
  ] as const satisfies readonly (readonly [string, string, (viewer: import('../accounts/domain.ts').Viewer, id: number, reason?: string) => Promise<unknown>])[];
  for (const [url, summary, act] of actions) {
    app.post<{ Params: { id: number }; Body: Reason }>(url, { schema: { summary, params: idParams, body: reasonBody, response: done } }, async (request, reply) => {
      await act(requireViewer(request.viewer), request.params.id, request.body?.reason);
      request.log.info({ action: url, id: request.params.id }, 'moderation action');
      return reply.status(204).send();
    });
  }

  app.post<{ Params: { handle: string }; Body: { username: string; reason?: string; expiresAt?: string | null; removeContent?: boolean } }>(
    '/neighbourhoods/:handle/bans',
    {
      schema: {
        summary: 'Ban a member from a neighbourhood, until a time or until lifted, optionally removing their posts (moderators)',
        params: handleParams,
        body: {
          type: 'object',
          required: ['username'],
          additionalProperties: false,
          properties: {
            username: { type: 'string', minLength: 1, maxLength: 64 },
            reason: { type: 'string', maxLength: 1000 },
            expiresAt: nullable(dateTime),
            removeContent: { type: 'boolean' },
          },
        },
        response: done,
      },
    },
    async (request, reply) => {
      const { username, reason, expiresAt, removeContent } = request.body;
      await moderation.banFromNeighbourhood(app.db, requireViewer(request.viewer), request.params.handle, username, {
        reason,
        expiresAt: expiresAt ? new Date(expiresAt) : null,
        removeContent,
      });
      return reply.status(204).send();
    },
  );

  app.get<{ Params: { handle: string } }>('/neighbourhoods/:handle/bans', {
    schema: {
      summary: 'The bans in force in a neighbourhood (moderators)',
      params: handleParams,
      response: {
        200: {
          type: 'object',
          properties: {
            bans: {
              type: 'array',
              items: {
                type: 'object',
                properties: {
                  username: { type: 'string' },
                  bannedBy: nullable({ type: 'string' }),
                  reason: { type: 'string' },
                  expiresAt: nullable(dateTime),
                  createdAt: dateTime,
                },
              },
            },
          },
        },
        ...errors,
      },
    },
  }, async (request) => ({
    bans: (await moderation.bansIn(app.db, requireViewer(request.viewer), request.params.handle)).map((b) => ({
      username: b.username,
      bannedBy: b.banned_by,
      reason: b.reason,
      expiresAt: b.expires_at,
      createdAt: b.created_at,
    })),
  }));

  app.delete<{ Params: { handle: string; username: string } }>('/neighbourhoods/:handle/bans/:username', {
    schema: { summary: 'Lift a ban (moderators)', params: memberParams, response: done },
  }, async (request, reply) => {
    await moderation.liftBan(app.db, requireViewer(request.viewer), request.params.handle, request.params.username);
    return reply.status(204).send();
  });

  for (const [method, appointed] of [['PUT', true], ['DELETE', false]] as const) {
    app.route<{ Params: { handle: string; username: string } }>({
      method,
      url: '/neighbourhoods/:handle/moderators/:username',
      schema: { summary: appointed ? 'Make a member a moderator (moderators)' : 'Take the moderator role back (moderators)', params: memberParams, response: done },
      handler: async (request, reply) => {
        await moderation.setNeighbourhoodModerator(app.db, requireViewer(request.viewer), request.params.handle, request.params.username, appointed);
        return reply.status(204).send();
      },
    });
  }

  app.put<{ Params: { handle: string }; Body: { membersOnly: boolean } }>('/neighbourhoods/:handle/privacy', {
    schema: {
      summary: 'Make a neighbourhood members-only (its threads read by members alone, joining by approval) or public (moderators)',
      params: handleParams,
      body: { type: 'object', required: ['membersOnly'], additionalProperties: false, properties: { membersOnly: { type: 'boolean' } } },
      response: done,
    },
  }, async (request, reply) => {
    await moderation.setMembersOnly(app.db, requireViewer(request.viewer), request.params.handle, request.body.membersOnly);
    return reply.status(204).send();
  });

  app.get<{ Params: { handle: string } }>('/neighbourhoods/:handle/join-requests', {
    schema: {
      summary: 'Who is waiting to join a members-only neighbourhood (moderators)',
      params: handleParams,
      response: {
        200: {
          type: 'object',
          properties: {
            requests: { type: 'array', items: { type: 'object', properties: { username: { type: 'string' }, displayName: { type: 'string' }, createdAt: dateTime } } },
          },
        },
        ...errors,
      },
    },
  }, async (request) => ({
    requests: (await moderation.joinRequestsFor(app.db, requireViewer(request.viewer), request.params.handle)).map((r) => ({
      username: r.username,
      displayName: r.display_name,
      createdAt: r.created_at,
    })),
  }));

  for (const [decision, approved] of [['approve', true], ['reject', false]] as const) {
    app.post<{ Params: { handle: string; username: string } }>(`/neighbourhoods/:handle/join-requests/:username/${decision}`, {
      schema: { summary: approved ? 'Admit someone who asked to join (moderators)' : 'Turn down a join request (moderators)', params: memberParams, response: done },
    }, async (request, reply) => {
      await moderation.decideJoinRequest(app.db, requireViewer(request.viewer), request.params.handle, request.params.username, approved);
      return reply.status(204).send();
    });
  }

  app.post<{ Body: { threadId?: number; replyId?: number; username?: string; category: ReportCategory; reason?: string; forward?: boolean } }>('/reports', {
    schema: {
      summary: 'Report a thread, a reply or an account to the people who moderate it',
      body: {
        type: 'object',
        required: ['category'],
        additionalProperties: false,
        oneOf: [{ required: ['threadId'] }, { required: ['replyId'] }, { required: ['username'] }],
        properties: {
          threadId: { type: 'integer', minimum: 1, maximum: 2_147_483_647 },
          replyId: { type: 'integer', minimum: 1, maximum: 2_147_483_647 },
          username: { type: 'string', minLength: 1, maxLength: 64 },
          category: { type: 'string', enum: moderation.reportCategories },
          reason: { type: 'string', maxLength: 1000 },
          forward: { type: 'boolean' },
        },
      },
      response: { 201: { type: 'object', properties: { report: reportSchema } }, ...errors },
    },
  }, async (request, reply) => {
    const { threadId, replyId, username, ...input } = request.body;
    const target = threadId !== undefined ? { threadId } : replyId !== undefined ? { replyId } : { username: username! };
    const report = await moderation.fileReport(app.db, requireViewer(request.viewer), target, input);
    request.log.info({ report: report.id }, 'report filed');
    await app.federation.reportFiled(report);
    return reply.status(201).send({ report: presentReport(report) });
  });

  app.get<{ Querystring: { neighbourhood?: string } }>('/reports', {
    schema: {
      summary: 'Open reports you may handle (moderators), optionally in one neighbourhood',
      querystring: { type: 'object', additionalProperties: false, properties: { neighbourhood: { type: 'string', minLength: 1, maxLength: 64 } } },
      response: { 200: { type: 'object', properties: { reports: { type: 'array', items: reportSchema } } }, ...errors },
    },
  }, async (request) => ({
    reports: (await moderation.reportQueue(app.db, requireViewer(request.viewer), request.query.neighbourhood)).map(presentReport),
  }));

  app.get('/reports/mine', {
    schema: { summary: 'Your reports and what came of them', response: { 200: { type: 'object', properties: { reports: { type: 'array', items: reportSchema } } }, ...errors } },
  }, async (request) => ({ reports: (await moderation.reportsBy(app.db, requireViewer(request.viewer))).map(presentReport) }));

  for (const [outcome, status] of [['resolve', 'resolved'], ['dismiss', 'dismissed']] as const) {
    app.post<{ Params: { id: number }; Body: Reason }>(`/reports/:id/${outcome}`, {
      schema: { summary: outcome === 'resolve' ? 'Close a report as acted on (moderators)' : 'Close a report without action (moderators)', params: idParams, body: reasonBody, response: done },
    }, async (request, reply) => {
      await moderation.closeReport(app.db, requireViewer(request.viewer), request.params.id, status, request.body?.reason);
      await app.federation.reportClosed(request.params.id);
      return reply.status(204).send();
    });
  }

  for (const [url, suspended] of [['/members/:username/suspend', true], ['/members/:username/unsuspend', false]] as const) {
    app.post<{ Params: { username: string }; Body: Reason }>(url, {
      schema: { summary: suspended ? 'Suspend an account (instance staff)' : 'Lift a suspension (instance staff)', params: usernameParams, body: reasonBody, response: done },
    }, async (request, reply) => {
      await moderation.suspendAccount(app.db, requireViewer(request.viewer), request.params.username, suspended, request.body?.reason);
      return reply.status(204).send();
    });
  }

  app.get<{ Params: { handle: string }; Querystring: { limit: number; before?: number } }>('/neighbourhoods/:handle/moderation-log', {
    schema: { summary: 'A neighbourhood\u2019s public moderation log, newest first', params: handleParams, querystring: logQuery, response: logResponse },
  }, async (request) => {
    const { entries } = await moderation.neighbourhoodLog(app.db, request.params.handle, { limit: request.query.limit, beforeId: request.query.before });
    return { entries: entries.map(presentLogEntry) };
  });

  app.get<{ Querystring: { limit: number; before?: number } }>('/moderation/log', {
    schema: { summary: 'Every moderation action on the instance (instance staff)', querystring: logQuery, response: logResponse },
  }, async (request) => {
    const entries = await moderation.instanceLog(app.db, requireViewer(request.viewer), { limit: request.query.limit, beforeId: request.query.before });
    return { entries: entries.map(presentLogEntry) };
  });
};

export default moderationRoutes;
