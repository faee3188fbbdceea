// What the rest of the server asks of federation: following remote actors, answering follow requests,
// and sending any activity from one of our actors through the queue.
import type { Context, Federation } from '@fedify/fedify';
import { type Activity, Follow, type Recipient, Undo } from '@fedify/vocab';
import type { Viewer } from '../server/accounts/domain.ts';
import { reportById, type Report } from '../server/moderation/domain.ts';
import { decideFollowRequest, startFollowing, stopFollowing } from '../server/remote-follows/domain.ts';
import { actorById } from '../server/remote-actors/domain.ts';
import * as threads from '../server/threads/domain.ts';
import type { FederationData } from './actors.ts';
import { findRemoteActor, newActivityId, recipientOf, sendActivity } from './delivery.ts';
import { sendLike } from './groups.ts';
import { answerFollow } from './inbox.ts';
import { type ProfilePostChange, publishProfilePost } from './profile-posts.ts';
import { answerReport, forwardReport } from './reports.ts';
import { memberIdentifier, neighbourhoodIdentifier } from './vocabulary.ts';

export class FederationService {
  readonly federation: Federation<FederationData>;
  readonly #data: () => FederationData;

  constructor(federation: Federation<FederationData>, data: () => FederationData) {
    this.federation = federation;
    this.#data = data;
  }

  context(): Context<FederationData> {
    const data = this.#data();
    return this.federation.createContext(new URL(data.config.publicUrl.href), data);
  }

  /** Queues `activity` from our actor (`members/<name>`, `neighbourhoods/<handle>` or `actor`). */
  send(identifier: string, to: Recipient | Recipient[] | 'followers', activity: Activity): Promise<void> {
    return sendActivity(this.context(), identifier, to, activity);
  }

  /** A member's own post was written, edited or deleted: their followers elsewhere are told. */
  publishProfilePost(id: number, change: ProfilePostChange) {
    return publishProfilePost(this.context(), id, change);
  }

  /**
   * A member likes a post, or takes the like back (`liked` false), as every path here does it: the like is
   * set, then told to the post's server when the post came from elsewhere. Returns the post's counts.
   */
  async like(viewer: Viewer, target: { threadId: number } | { replyId: number }, liked: boolean) {
    const counts = await threads.like(this.context().data.db, viewer, target, liked);
    await this.liked(viewer, target, counts.voted_at, liked);
    return counts;
  }

  /**
   * A member's like (or its withdrawal, `liked` false) of a post from another server is told there;
   * `votedAt` is null when nothing changed. The like stands here whatever happens to the sending.
   */
  async liked(viewer: Viewer, target: { threadId: number } | { replyId: number }, votedAt: Date | null, liked: boolean): Promise<void> {
    if (!votedAt) return;
    const ctx = this.context();
    await sendLike(ctx, viewer, target, votedAt, liked).catch((error: unknown) => ctx.data.log.warn({ err: error, target }, 'could not send a like'));
  }

  /** A member follows `@name@host` (or an actor URL); the follow is pending until the Accept arrives. */
  async follow(viewer: Viewer, account: string) {
    const ctx = this.context();
    const remote = await findRemoteActor(ctx, account);
    const activityId = newActivityId(ctx);
    const { follow, isNew } = await startFollowing(ctx.data.db, viewer.id, remote.id, activityId.href);
    if (isNew) {
      const actor = ctx.getActorUri(memberIdentifier(viewer.username));
      await sendActivity(ctx, memberIdentifier(viewer.username), recipientOf(remote), new Follow({ id: activityId, actor, object: new URL(remote.uri), to: new URL(remote.uri) }));
    }
    return { follow, remote };
  }

  async unfollow(viewer: Viewer, followId: number) {
    const ctx = this.context();
    const follow = await stopFollowing(ctx.data.db, viewer.id, followId);
    const remote = await actorById(ctx.data.db, follow.remote_actor_id);
    const actor = ctx.getActorUri(memberIdentifier(viewer.username));
    const original = new Follow({ id: new URL(follow.activity_id), actor, object: new URL(remote.uri) });
    await sendActivity(ctx, memberIdentifier(viewer.username), recipientOf(remote), new Undo({ id: newActivityId(ctx), actor, object: original, to: new URL(remote.uri) }));
  }

  /** A moderator accepts or rejects a remote actor's request to follow their neighbourhood. */
  async decide(viewer: Viewer, handle: string, requestId: number, accept: boolean) {
    const ctx = this.context();
    const { follow, neighbourhood } = await decideFollowRequest(ctx.data.db, viewer, handle, requestId, accept);
    const remote = await actorById(ctx.data.db, follow.remote_actor_id);
    const identifier = neighbourhoodIdentifier(neighbourhood.handle);
    const original = new Follow({ id: new URL(follow.activity_id), actor: new URL(remote.uri), object: ctx.getActorUri(identifier) });
    await answerFollow(ctx, identifier, original, recipientOf(remote), accept);
    return follow;
  }

  /**
   * A member's new report goes to the servers that must hear of it; a closed report that came from another
   * server is answered there. The report stands here whatever happens to the sending, so a failure is logged.
   */
  async reportFiled(report: Report): Promise<void> {
    const ctx = this.context();
    await forwardReport(ctx, report).catch((error: unknown) => ctx.data.log.warn({ err: error, report: report.id }, 'could not forward a report'));
  }

  async reportClosed(id: number): Promise<void> {
    const ctx = this.context();
    await reportById(ctx.data.db, id)
      .then((report) => answerReport(ctx, report))
      .catch((error: unknown) => ctx.data.log.warn({ err: error, report: id }, 'could not answer a report'));
  }
}
