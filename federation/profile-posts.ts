// Members' own posts as ActivityPub: a public Note from the member, sent to their followers (Create,
// Update, Delete) and served as AS2 at its URL, `/posts/{id}`. Browsers asking there go to the profile.
import type { Context } from '@fedify/fedify';
import { Create, Delete, Note, PUBLIC_COLLECTION, Source, Tombstone, Update } from '@fedify/vocab';
import { Temporal } from '@js-temporal/polyfill';
import type { FastifyPluginAsync } from 'fastify';
import * as profilePosts from '../server/profile-posts/domain.ts';
import type { FederationData } from './actors.ts';
import { sendActivity } from './delivery.ts';
import type { FederationService } from './service.ts';
import { memberIdentifier } from './vocabulary.ts';

type Ctx = Context<FederationData>;
export type ProfilePostChange = 'created' | 'edited' | 'deleted';

export const profilePostUri = (ctx: Ctx, id: number) => new URL(`/posts/${id}`, ctx.origin);

export function profileNoteOf(ctx: Ctx, post: profilePosts.ProfilePost): Note {
  const identifier = memberIdentifier(post.author_username);
  const id = profilePostUri(ctx, post.id);
  return new Note({
    id,
    url: id,
    attribution: ctx.getActorUri(identifier),
    tos: [PUBLIC_COLLECTION],
    ccs: [ctx.getFollowersUri(identifier)],
    content: post.body_html,
    mediaType: 'text/html',
    source: new Source({ content: post.body_source, mediaType: 'text/markdown' }),
    published: Temporal.Instant.from(post.created_at.toISOString()),
    updated: post.edited_at ? Temporal.Instant.from(post.edited_at.toISOString()) : null,
  });
}

/** The activity a change makes, with an id that says which change, so a repeat is recognised. */
export async function profilePostActivity(ctx: Ctx, id: number, change: ProfilePostChange): Promise<Create | Update | Delete | null> {
  const post = await profilePosts.postEvenDeleted(ctx.data.db, id);
  if (!post) return null;
  const actor = ctx.getActorUri(memberIdentifier(post.author_username));
  const audience = { tos: [PUBLIC_COLLECTION], ccs: [ctx.getFollowersUri(memberIdentifier(post.author_username))] };
  const uri = profilePostUri(ctx, id);
  if (change === 'deleted') return new Delete({ id: new URL(`${uri.href}#delete`), actor, object: new Tombstone({ id: uri }), ...audience });
  const object = profileNoteOf(ctx, post);
  const stamp = (post.edited_at ?? post.created_at).getTime().toString(36);
  const Wrapper = change === 'created' ? Create : Update;
  return new Wrapper({ id: new URL(`${uri.href}#${change === 'created' ? 'create' : 'update'}-${stamp}`), actor, object, ...audience });
}

/** Sends a change of a member's own post to their followers on other servers. */
export async function publishProfilePost(ctx: Ctx, id: number, change: ProfilePostChange): Promise<Create | Update | Delete | null> {
  const activity = await profilePostActivity(ctx, id, change);
  const post = activity && (await profilePosts.postEvenDeleted(ctx.data.db, id));
  if (activity && post) await sendActivity(ctx, memberIdentifier(post.author_username), 'followers', activity);
  return activity;
}

const wantsActivityStreams = (accept: string | undefined) => !!accept && /application\/(activity\+json|ld\+json)/i.test(accept);

/** `/posts/{id}`: the Note for servers; browsers are sent to the post on the author's profile. */
export function profilePostRoutes(service: FederationService): FastifyPluginAsync {
  return async (app) => {
    app.get<{ Params: { id: number } }>('/posts/:id', {
      schema: {
        summary: 'A member’s own post: AS2 by content negotiation, else the profile it is on',
        hide: true,
        params: { type: 'object', required: ['id'], properties: { id: { type: 'integer', minimum: 1, maximum: 2_147_483_647 } } },
      },
    }, async (request, reply) => {
      const post = await profilePosts.postById(app.db, request.params.id);
      if (!wantsActivityStreams(request.headers.accept)) return reply.redirect(`/members/${post.author_username}#post-${post.id}`);
      const ctx = service.context();
      const json = await profileNoteOf(ctx, post).toJsonLd({ format: 'compact', contextLoader: ctx.contextLoader });
      return reply.type('application/activity+json; charset=utf-8').header('vary', 'Accept').send(json);
    });
  };
}
