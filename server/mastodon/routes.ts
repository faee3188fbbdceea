// The Mastodon client API (the part common apps use), so members can post from the apps they already have.
// Bearer tokens only: a session cookie never authenticates here. Errors take Mastodon's shape, whose
// `error` is the sentence apps show; `message` repeats it and `code` names it, as the rest of our API does.
import forms from '../forms.ts';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { version } from '../version.ts';
import { handleErrors, unauthorized } from '../errors.ts';
import * as oauth from '../oauth/domain.ts';
import * as mastodon from './domain.ts';
import mastodonStreaming from './streaming.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** What the bearer token lets this request do, on the Mastodon routes. */
    access: oauth.Access | null;
  }
  /** What a route needs from the token: an OAuth scope, and whether a member must be behind it. */
  interface FastifyContextConfig {
    oauthScope?: string;
    needsMember?: boolean;
  }
}

const mastodonError = {
  type: 'object',
  required: ['error'],
  properties: { error: { type: 'string' }, message: { type: 'string' }, code: { type: 'string' } },
} as const;
const errors = { 400: mastodonError, 401: mastodonError, 403: mastodonError, 404: mastodonError, 409: mastodonError, 422: mastodonError, 429: mastodonError };

// Entities list the fields apps rely on and let the rest through unchanged.
const open = (properties: Record<string, unknown>) => ({ type: 'object', additionalProperties: true, properties }) as const;
const str = { type: 'string' } as const;
const nullableStr = { type: ['string', 'null'] } as const;
const accountSchema = open({
  id: str, username: str, acct: str, display_name: str, group: { type: 'boolean' }, note: str, url: str, avatar: str,
  followers_count: { type: 'integer' }, following_count: { type: 'integer' }, statuses_count: { type: 'integer' },
});
const statusSchema = open({
  id: str, uri: str, url: str, created_at: str, content: str, visibility: str, in_reply_to_id: nullableStr,
  in_reply_to_account_id: nullableStr, favourites_count: { type: 'integer' }, replies_count: { type: 'integer' },
  favourited: { type: 'boolean' }, account: accountSchema, text: str,
});
const relationshipSchema = open({ id: str, following: { type: 'boolean' } });
const notificationSchema = open({ id: str, type: str, created_at: str, account: accountSchema, status: statusSchema });
const tokenSchema = open({ access_token: str, token_type: str, scope: str, created_at: { type: 'integer' } });

const idText = { type: 'string', pattern: '^[0-9]+$', maxLength: 40 } as const;
const pageQuery = {
  max_id: idText,
  since_id: idText,
  min_id: idText,
  // Mastodon caps pages rather than refusing large limits; so do we.
  limit: { type: 'integer', minimum: 1, maximum: 1000, default: 20 },
} as const;
const idParams = { type: 'object', required: ['id'], properties: { id: { type: 'string', maxLength: 40 } } } as const;
const flag = { type: ['boolean', 'string'] } as const;
const truthy = (value: boolean | string | undefined) => value === true || value === 'true' || value === '1';

type PageQuery = mastodon.Page;
const capped = (page: PageQuery, max = 40): PageQuery => ({ ...page, limit: Math.min(page.limit, max) });

const mastodonRoutes: FastifyPluginAsync = async (app) => {
  await app.register(forms);
  handleErrors(app, (e) => {
    // Mastodon reports a well-formed request that fails validation with 422; unreadable bodies stay 400.
    const status = e.status === 400 && !['malformed_json', 'invalid_content_length'].includes(e.code) ? 422 : e.status;
    return { status, body: { error: e.message, message: e.message, code: e.code } };
  });
  app.decorateRequest('access', null);
  app.addHook('onRequest', async (request) => {
    const header = request.headers.authorization;
    const bearer = header && /^Bearer\s/i.test(header) ? header.slice(7).trim() : undefined;
    if (bearer) {
      // Resolved from the token alone: whatever the shared hook made of a session cookie does not count here.
      request.access = (await oauth.accessFor(app.db, bearer)) ?? null;
      if (!request.access) throw oauth.invalidToken();
    }
    const { oauthScope, needsMember } = request.routeOptions.config;
    oauth.requireAccess(request.access, oauthScope, needsMember ?? false);
  });

  const ctx = (request: FastifyRequest): mastodon.Context => ({
    db: app.db,
    config: app.config,
    viewer: request.access?.viewer ?? null,
    profilePostChanged: (id, change) => app.federation.publishProfilePost(id, change),
    liked: (viewer, target, votedAt, liked) => app.federation.liked(viewer, target, votedAt, liked),
  });
  const viewerOf = (request: FastifyRequest) => request.access!.viewer!;
  const base = app.config.publicUrl;

  /** Link header for the next (older) and previous (newer) pages, which apps follow to page. */
  function paged<T extends { id: string }>(request: FastifyRequest, reply: FastifyReply, items: T[]): T[] {
    if (!items.length) return items;
    const link = (name: string, value: string) => {
      const url = new URL(request.url, base);
      for (const key of ['max_id', 'min_id', 'since_id']) url.searchParams.delete(key);
      url.searchParams.set(name, value);
      return url.href;
    };
    reply.header('link', `<${link('max_id', items[items.length - 1]!.id)}>; rel="next", <${link('min_id', items[0]!.id)}>; rel="prev"`);
    return items;
  }

  // ---- instance ----
  const streaming = `${base.protocol === 'https:' ? 'wss' : 'ws'}://${base.host}`;
  const statusLimits = { max_characters: 20_000, max_media_attachments: 0, characters_reserved_per_url: 23 };
  const compatibleVersion = `4.2.0 (compatible; Square Mile ${version})`;
  const instanceResponse = { 200: open({ uri: str, domain: str, title: str, version: str }) };

  app.get('/api/v1/instance', { schema: { summary: 'This instance (Mastodon v1)', tags: ['mastodon'], response: instanceResponse } }, async (request) => {
    const counts = await mastodon.instanceCounts(ctx(request));
    return {
      uri: app.config.domain,
      title: app.config.instanceName,
      short_description: `${app.config.instanceName}: neighbourhood forums`,
      description: `${app.config.instanceName}: neighbourhood forums`,
      email: '',
      version: compatibleVersion,
      // Mastodon names the streaming server's origin here; apps add /api/v1/streaming themselves.
      urls: { streaming_api: streaming },
      stats: { user_count: counts.members, status_count: counts.posts, domain_count: 0 },
      thumbnail: null,
      languages: ['en'],
      registrations: app.config.registration !== 'closed',
      approval_required: app.config.registration === 'approval',
      invites_enabled: false,
      configuration: { statuses: statusLimits, media_attachments: { supported_mime_types: [] }, polls: { max_options: 0 } },
      contact_account: null,
      rules: [],
    };
  });

  app.get('/api/v2/instance', { schema: { summary: 'This instance (Mastodon v2)', tags: ['mastodon'], response: instanceResponse } }, async (request) => {
    const counts = await mastodon.instanceCounts(ctx(request));
    return {
      domain: app.config.domain,
      title: app.config.instanceName,
      version: compatibleVersion,
      // No public repository address is configured yet; Mastodon's field is required, so it stays empty.
      source_url: '',
      description: `${app.config.instanceName}: neighbourhood forums`,
      // Members are not tracked by activity; every active member is counted.
      usage: { users: { active_month: counts.members } },
      thumbnail: { url: new URL('/avatars/missing.png', base).href },
      languages: ['en'],
      configuration: {
        urls: { streaming },
        accounts: { max_featured_tags: 0 },
        statuses: statusLimits,
        media_attachments: { supported_mime_types: [], image_size_limit: 0, video_size_limit: 0 },
        polls: { max_options: 0, max_characters_per_option: 0, min_expiration: 0, max_expiration: 0 },
        translation: { enabled: false },
      },
      registrations: { enabled: app.config.registration !== 'closed', approval_required: app.config.registration === 'approval', message: null },
      contact: { email: '', account: null },
      rules: [],
    };
  });

  app.get('/api/v1/custom_emojis', { schema: { summary: 'Custom emoji (none)', tags: ['mastodon'], response: { 200: { type: 'array' } } } }, async () => []);

  // ---- apps ----
  app.post<{ Body: { client_name: string; redirect_uris: string | string[]; scopes?: string; website?: string | null } }>('/api/v1/apps', {
    schema: {
      summary: 'Register an app (OAuth client)',
      tags: ['mastodon', 'oauth'],
      body: {
        type: 'object',
        required: ['client_name', 'redirect_uris'],
        properties: {
          client_name: { type: 'string', minLength: 1, maxLength: 200 },
          redirect_uris: { anyOf: [{ type: 'string', maxLength: 4000 }, { type: 'array', maxItems: 20, items: { type: 'string', maxLength: 2000 } }] },
          scopes: { type: 'string', maxLength: 2000 },
          website: { type: ['string', 'null'], maxLength: 2000 },
        },
      },
      response: { 200: open({ id: str, name: str, client_id: str, client_secret: str, redirect_uri: str }), ...errors },
    },
  }, async (request) => {
    const { client_name, redirect_uris, scopes, website } = request.body;
    const { app: registered, clientSecret } = await oauth.registerApp(app.db, {
      name: client_name,
      redirectUris: Array.isArray(redirect_uris) ? redirect_uris : redirect_uris.split(/\s+/),
      scopes,
      website,
    });
    request.log.info({ app: registered.id }, 'app registered');
    return {
      id: String(registered.id),
      name: registered.name,
      website: registered.website,
      scopes: registered.scopes.split(' '),
      redirect_uri: registered.redirect_uris.split('\n').join(' '),
      redirect_uris: registered.redirect_uris.split('\n'),
      client_id: registered.client_id,
      client_secret: clientSecret,
      vapid_key: '',
    };
  });

  app.get('/api/v1/apps/verify_credentials', {
    schema: { summary: 'The app a token belongs to', tags: ['mastodon', 'oauth'], response: { 200: open({ name: str }), ...errors } },
  }, async (request) => {
    const found = request.access?.app;
    if (!found) throw unauthorized('This method requires an app token.');
    return { name: found.name, website: found.website, scopes: request.access!.scopes ?? [], vapid_key: '' };
  });

  // ---- accounts ----
  app.post<{ Body: { username: string; password: string; email?: string; agreement?: boolean | string; locale?: string; reason?: string } }>('/api/v1/accounts', {
    config: { oauthScope: 'write:accounts' },
    schema: {
      summary: 'Register a member from an app (needs the app\u2019s own token)',
      tags: ['mastodon'],
      body: {
        type: 'object',
        required: ['username', 'password'],
        properties: {
          username: { type: 'string', minLength: 1, maxLength: 64 },
          password: { type: 'string', minLength: 1, maxLength: 1024 },
          // We keep no e-mail addresses; the field is accepted because every app sends it.
          email: { type: 'string', maxLength: 320 },
          agreement: flag,
          locale: { type: 'string', maxLength: 20 },
          reason: { type: 'string', maxLength: 2000 },
        },
      },
      response: { 200: tokenSchema, ...errors },
    },
  }, async (request) => {
    const access = request.access!;
    if (access.viewer || !access.app) throw unauthorized('Register with the app\u2019s own token (client_credentials), not a member\u2019s.');
    if (request.body.agreement !== undefined && !truthy(request.body.agreement)) {
      throw mastodon.unprocessable('Validation failed: Agreement must be accepted', 'agreement_required');
    }
    const registeringApp = await oauth.authenticateClient(app.db, { clientId: access.app.client_id }, { secretRequired: false });
    const { member, token } = await mastodon.registerAccount(ctx(request), registeringApp, request.body);
    request.log.info({ member: member.id, app: registeringApp.id }, 'member registered from an app');
    return token;
  });

  app.get('/api/v1/accounts/verify_credentials', {
    config: { oauthScope: 'profile', needsMember: true },
    schema: { summary: 'The signed-in member as a Mastodon account', tags: ['mastodon'], response: { 200: accountSchema, ...errors } },
  }, async (request) => mastodon.viewerAccount(ctx(request), viewerOf(request)));

  app.get<{ Querystring: { acct: string } }>('/api/v1/accounts/lookup', {
    schema: {
      summary: 'Find a member or neighbourhood by handle',
      tags: ['mastodon'],
      querystring: { type: 'object', required: ['acct'], properties: { acct: { type: 'string', minLength: 1, maxLength: 300 } } },
      response: { 200: accountSchema, ...errors },
    },
  }, async (request) => mastodon.lookupAccount(ctx(request), request.query.acct));

  app.get<{ Querystring: { id?: string[]; 'id[]'?: string[] } }>('/api/v1/accounts/relationships', {
    config: { oauthScope: 'read:follows', needsMember: true },
    schema: {
      summary: 'Whether the member follows (belongs to) these accounts',
      tags: ['mastodon'],
      querystring: {
        type: 'object',
        properties: {
          id: { type: 'array', maxItems: 100, items: { type: 'string', maxLength: 40 } },
          'id[]': { type: 'array', maxItems: 100, items: { type: 'string', maxLength: 40 } },
        },
      },
      response: { 200: { type: 'array', items: relationshipSchema }, ...errors },
    },
  }, async (request) => mastodon.relationships(ctx(request), viewerOf(request), [...(request.query['id[]'] ?? []), ...(request.query.id ?? [])]));

  app.get<{ Params: { id: string } }>('/api/v1/accounts/:id', {
    schema: { summary: 'A member or neighbourhood account', tags: ['mastodon'], params: idParams, response: { 200: accountSchema, ...errors } },
  }, async (request) => mastodon.accountById(ctx(request), request.params.id));

  app.get<{ Params: { id: string }; Querystring: PageQuery & { exclude_replies?: boolean; pinned?: boolean; only_media?: boolean } }>('/api/v1/accounts/:id/statuses', {
    schema: {
      summary: 'A member\u2019s posts, or a neighbourhood\u2019s threads and replies',
      tags: ['mastodon'],
      params: idParams,
      querystring: {
        type: 'object',
        properties: { ...pageQuery, exclude_replies: { type: 'boolean' }, pinned: { type: 'boolean' }, only_media: { type: 'boolean' } },
      },
      response: { 200: { type: 'array', items: statusSchema }, ...errors },
    },
  }, async (request, reply) =>
    paged(request, reply, (await mastodon.accountStatuses(ctx(request), request.params.id, capped(request.query))).map(mastodon.publicStatus)),
  );

  for (const [action, following] of [['follow', true], ['unfollow', false]] as const) {
    app.post<{ Params: { id: string } }>(`/api/v1/accounts/:id/${action}`, {
      config: { oauthScope: 'write:follows', needsMember: true },
      schema: {
        summary: following ? 'Follow a neighbourhood: join it' : 'Unfollow a neighbourhood: leave it',
        tags: ['mastodon'],
        params: idParams,
        response: { 200: relationshipSchema, ...errors },
      },
    }, async (request) => mastodon.follow(ctx(request), viewerOf(request), request.params.id, following));
  }

  // ---- statuses ----
  app.post<{ Body: { status?: string; in_reply_to_id?: string | number; visibility?: string; media_ids?: unknown; poll?: unknown } }>('/api/v1/statuses', {
    config: { oauthScope: 'write:statuses', needsMember: true },
    schema: {
      summary: 'Post: mention a neighbourhood to start a thread there, reply with in_reply_to_id, or else post on your profile',
      tags: ['mastodon'],
      body: {
        type: 'object',
        properties: {
          status: { type: 'string', maxLength: 20_000 },
          in_reply_to_id: { type: ['string', 'integer', 'null'], maxLength: 40 },
          visibility: { type: 'string', enum: ['public', 'unlisted', 'private', 'direct'] },
          spoiler_text: { type: 'string', maxLength: 500 },
          sensitive: flag,
          language: { type: ['string', 'null'], maxLength: 20 },
        },
      },
      response: { 200: statusSchema, ...errors },
    },
  }, async (request) => {
    const { in_reply_to_id, ...rest } = request.body;
    const created = await mastodon.createStatus(ctx(request), viewerOf(request), {
      ...rest,
      in_reply_to_id: in_reply_to_id === undefined || in_reply_to_id === null ? undefined : String(in_reply_to_id),
      media_ids: request.body.media_ids ?? (request.body as Record<string, unknown>)['media_ids[]'],
    });
    request.log.info({ status: created.id }, 'status posted from an app');
    return mastodon.publicStatus(created);
  });

  app.get<{ Params: { id: string } }>('/api/v1/statuses/:id', {
    schema: { summary: 'A thread or reply as a status', tags: ['mastodon'], params: idParams, response: { 200: statusSchema, ...errors } },
  }, async (request) => mastodon.publicStatus(await mastodon.statusById(ctx(request), request.params.id)));

  app.put<{ Params: { id: string }; Body: { status?: string; media_ids?: unknown; poll?: unknown } }>('/api/v1/statuses/:id', {
    config: { oauthScope: 'write:statuses', needsMember: true },
    schema: {
      summary: 'Edit your thread or reply (the thread\u2019s first line is its title)',
      tags: ['mastodon'],
      params: idParams,
      body: {
        type: 'object',
        properties: {
          status: { type: 'string', maxLength: 20_000 },
          spoiler_text: { type: 'string', maxLength: 500 },
          sensitive: flag,
          language: { type: ['string', 'null'], maxLength: 20 },
        },
      },
      response: { 200: statusSchema, ...errors },
    },
  }, async (request) => {
    const edited = await mastodon.editStatus(ctx(request), viewerOf(request), request.params.id, {
      ...request.body,
      media_ids: request.body.media_ids ?? (request.body as Record<string, unknown>)['media_ids[]'],
    });
    request.log.info({ status: edited.id }, 'status edited from an app');
    return mastodon.publicStatus(edited);
  });

  app.get<{ Params: { id: string } }>('/api/v1/statuses/:id/source', {
    config: { oauthScope: 'read:statuses', needsMember: true },
    schema: {
      summary: 'The text of a status as written, for editing',
      tags: ['mastodon'],
      params: idParams,
      response: { 200: open({ id: str, text: str, spoiler_text: str }), ...errors },
    },
  }, async (request) => mastodon.statusSource(ctx(request), request.params.id));

  app.get<{ Params: { id: string } }>('/api/v1/statuses/:id/history', {
    schema: {
      summary: 'A status\u2019s versions (only the current one is kept)',
      tags: ['mastodon'],
      params: idParams,
      response: { 200: { type: 'array', items: open({ content: str, created_at: str, account: accountSchema }) }, ...errors },
    },
  }, async (request) => mastodon.statusHistory(ctx(request), request.params.id));

  app.delete<{ Params: { id: string } }>('/api/v1/statuses/:id', {
    config: { oauthScope: 'write:statuses', needsMember: true },
    schema: { summary: 'Delete your thread or reply', tags: ['mastodon'], params: idParams, response: { 200: statusSchema, ...errors } },
  }, async (request) => {
    const { source, ...deleted } = await mastodon.deleteStatus(ctx(request), viewerOf(request), request.params.id);
    return { ...deleted, text: source };
  });

  app.get<{ Params: { id: string } }>('/api/v1/statuses/:id/context', {
    schema: {
      summary: 'The conversation around a status',
      tags: ['mastodon'],
      params: idParams,
      response: { 200: { type: 'object', properties: { ancestors: { type: 'array', items: statusSchema }, descendants: { type: 'array', items: statusSchema } } }, ...errors },
    },
  }, async (request) => {
    const { ancestors, descendants } = await mastodon.context(ctx(request), request.params.id);
    return { ancestors: ancestors.map(mastodon.publicStatus), descendants: descendants.map(mastodon.publicStatus) };
  });

  for (const [action, liked] of [['favourite', true], ['unfavourite', false]] as const) {
    app.post<{ Params: { id: string } }>(`/api/v1/statuses/:id/${action}`, {
      config: { oauthScope: 'write:favourites', needsMember: true },
      schema: { summary: liked ? 'Like a status' : 'Take back a like', tags: ['mastodon'], params: idParams, response: { 200: statusSchema, ...errors } },
    }, async (request) => mastodon.publicStatus(await mastodon.favourite(ctx(request), viewerOf(request), request.params.id, liked)));
  }

  // ---- timelines ----
  const timelineResponse = { 200: { type: 'array', items: statusSchema }, ...errors };
  app.get<{ Querystring: PageQuery }>('/api/v1/timelines/home', {
    config: { oauthScope: 'read:statuses', needsMember: true },
    schema: {
      summary: 'Threads and replies in the neighbourhoods the member follows (as the home feed and the user stream)',
      tags: ['mastodon'],
      querystring: { type: 'object', properties: pageQuery },
      response: timelineResponse,
    },
  }, async (request, reply) =>
    paged(request, reply, (await mastodon.timeline(ctx(request), { followedBy: viewerOf(request).id }, capped(request.query))).map(mastodon.publicStatus)),
  );

  app.get<{ Querystring: PageQuery & { local?: boolean; remote?: boolean; only_media?: boolean } }>('/api/v1/timelines/public', {
    schema: {
      summary: 'Every thread and reply on this instance',
      tags: ['mastodon'],
      querystring: { type: 'object', properties: { ...pageQuery, local: { type: 'boolean' }, remote: { type: 'boolean' }, only_media: { type: 'boolean' } } },
      response: timelineResponse,
    },
  }, async (request, reply) => {
    // Everything here is local, and nothing has media yet.
    if (request.query.remote || request.query.only_media) return [];
    return paged(request, reply, (await mastodon.timeline(ctx(request), {}, capped(request.query))).map(mastodon.publicStatus));
  });

  app.get<{ Params: { tag: string }; Querystring: PageQuery }>('/api/v1/timelines/tag/:tag', {
    schema: {
      summary: 'Threads and replies with a hashtag',
      tags: ['mastodon'],
      params: { type: 'object', required: ['tag'], properties: { tag: { type: 'string', minLength: 1, maxLength: 100 } } },
      querystring: { type: 'object', properties: pageQuery },
      response: timelineResponse,
    },
  }, async (request, reply) => {
    const tag = request.params.tag.replace(/^#/, '');
    // Only letters, digits and underscores make a hashtag; anything else cannot match one.
    if (!/^[\p{L}\p{N}_]+$/u.test(tag)) return [];
    return paged(request, reply, (await mastodon.timeline(ctx(request), { tag }, capped(request.query))).map(mastodon.publicStatus));
  });

  // ---- notifications ----
  const typeList = { type: 'array', maxItems: 20, items: { type: 'string', maxLength: 40 } } as const;
  app.get<{ Querystring: PageQuery & Record<'types' | 'types[]' | 'exclude_types' | 'exclude_types[]', string[] | undefined> }>('/api/v1/notifications', {
    config: { oauthScope: 'read:notifications', needsMember: true },
    schema: {
      summary: 'Replies to the member\u2019s posts, mentions of them, and likes of their posts',
      tags: ['mastodon'],
      querystring: {
        type: 'object',
        properties: { ...pageQuery, types: typeList, 'types[]': typeList, exclude_types: typeList, 'exclude_types[]': typeList },
      },
      response: { 200: { type: 'array', items: notificationSchema }, ...errors },
    },
  }, async (request, reply) => {
    const query = request.query;
    const only = [...(query.types ?? []), ...(query['types[]'] ?? [])];
    const except = [...(query.exclude_types ?? []), ...(query['exclude_types[]'] ?? [])];
    const types = mastodon.notificationTypes.filter((t) => (!only.length || only.includes(t)) && !except.includes(t));
    return paged(request, reply, await mastodon.notifications(ctx(request), viewerOf(request), types, capped(query, 80)));
  });

  // ---- features we do not have, which apps ask for as they start: answered as truly empty, not 404 ----
  const nothingYet: [string, string][] = [
    ['/api/v1/lists', 'read:lists'],
    ['/api/v1/filters', 'read:filters'],
    ['/api/v2/filters', 'read:filters'],
    ['/api/v1/announcements', 'read'],
    ['/api/v1/conversations', 'read:statuses'],
    ['/api/v1/follow_requests', 'read:follows'],
    ['/api/v1/bookmarks', 'read:bookmarks'],
  ];
  for (const [url, oauthScope] of nothingYet) {
    app.get(url, {
      config: { oauthScope, needsMember: true },
      schema: { summary: 'Not a feature here: always empty', tags: ['mastodon'], response: { 200: { type: 'array', maxItems: 0 }, ...errors } },
    }, async () => []);
  }
  app.get('/api/v1/markers', {
    config: { oauthScope: 'read:statuses', needsMember: true },
    schema: { summary: 'Reading positions (not kept here)', tags: ['mastodon'], response: { 200: { type: 'object' }, ...errors } },
  }, async () => ({}));
  app.get('/api/v1/preferences', {
    config: { oauthScope: 'read:accounts', needsMember: true },
    schema: { summary: 'Posting and reading preferences (the defaults)', tags: ['mastodon'], response: { 200: { type: 'object', additionalProperties: true }, ...errors } },
  }, async () => ({
    'posting:default:visibility': 'public',
    'posting:default:sensitive': false,
    'posting:default:language': null,
    'reading:expand:media': 'default',
    'reading:expand:spoilers': false,
  }));

  // ---- search ----
  app.get<{ Querystring: { q: string; type?: string; resolve?: boolean; limit: number } }>('/api/v2/search', {
    schema: {
      summary: 'Find members, neighbourhoods, posts and hashtags',
      tags: ['mastodon'],
      querystring: {
        type: 'object',
        required: ['q'],
        properties: {
          q: { type: 'string', maxLength: 300 },
          type: { type: 'string', enum: ['accounts', 'statuses', 'hashtags'] },
          resolve: { type: 'boolean' },
          limit: { type: 'integer', minimum: 1, maximum: 1000, default: 20 },
          offset: { type: 'integer', minimum: 0 },
        },
      },
      response: {
        200: { type: 'object', properties: { accounts: { type: 'array', items: accountSchema }, statuses: { type: 'array', items: statusSchema }, hashtags: { type: 'array' } } },
        ...errors,
      },
    },
  }, async (request) => mastodon.search(ctx(request), { ...request.query, limit: Math.min(request.query.limit, 40) }));

  // ---- streaming ----
  await app.register(mastodonStreaming);
};

export default mastodonRoutes;
