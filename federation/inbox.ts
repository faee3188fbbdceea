// What we do with activities that arrive in our inboxes. Each entry of `inboxHandlers` names an activity
// type and its handler; later features add theirs here (and Undo of their own types to `undoHandlers`).
import type { Context, InboxContext } from '@fedify/fedify';
import { Accept, type Activity, Follow, type Object as APObject, Reject, Undo } from '@fedify/vocab';
import { answerOutboundFollow, endInboundFollow, receiveFollow } from '../server/remote-follows/domain.ts';
import { actingAs, type FederationData, localActor } from './actors.ts';
import { newActivityId, recipientOf, rememberRemoteActor, sendActivity } from './delivery.ts';

type Handler<T extends Activity> = (ctx: InboxContext<FederationData>, activity: T) => Promise<void>;
export interface InboxHandler<T extends Activity = Activity> {
  type: (new (...args: any[]) => T) & { typeId: URL };
  handle: Handler<T>;
}
/** One entry of a handler list: the activity type and what to do with it. */
export const on = <T extends Activity>(type: InboxHandler<T>['type'], handle: Handler<T>) => ({ type, handle }) as unknown as InboxHandler;

/** Undo is routed by the type of what is undone; the undoer must be the original activity's actor. */
export const undoHandlers = new Map<URL['href'], (ctx: InboxContext<FederationData>, undone: Activity, undo: Undo) => Promise<void>>();

/**
 * Undo of what Fedify cannot read back as an activity (Lemmy's `Lock`, or `Block` with `removeData`),
 * routed by the `type` of the undone object as sent; checked first. Same rule: the undoer is its actor.
 */
export const namedUndoHandlers = new Map<string, (ctx: InboxContext<FederationData>, undone: Record<string, unknown>, undo: Undo) => Promise<void>>();

/** The local actor an activity's object names (`Follow` of one of ours), or null. */
async function targetOf(ctx: InboxContext<FederationData>, uri: URL | null) {
  const parsed = uri && ctx.parseUri(uri);
  return parsed?.type === 'actor' ? localActor(ctx.data.db, parsed.identifier) : null;
}

async function onFollow(ctx: InboxContext<FederationData>, follow: Follow) {
  if (!follow.id || !follow.actorId) return;
  const target = await targetOf(ctx, follow.objectId);
  if (!target || target.kind === 'instance') return;
  const remote = await rememberRemoteActor(ctx, follow.actorId);
  if (!remote) return;
  const row = await receiveFollow(ctx.data.db, target.owner, remote.id, follow.id.href);
  if (row.state !== 'accepted') return;
  await answerFollow(actingAs(ctx, target), target.identifier, follow, recipientOf(remote));
}

/** Answers a Follow of our actor `identifier` with Accept, or with Reject when `accepted` is false. */
export async function answerFollow(ctx: Context<FederationData>, identifier: string, follow: Follow, to: ReturnType<typeof recipientOf>, accepted = true) {
  const actor = ctx.getActorUri(identifier);
  const Answer = accepted ? Accept : Reject;
  await sendActivity(ctx, identifier, to, new Answer({ id: newActivityId(ctx), actor, object: follow, to: to.id }));
}

async function onAnswer(ctx: InboxContext<FederationData>, answer: Accept | Reject, accepted: boolean) {
  if (!answer.actorId) return;
  const remote = await rememberRemoteActor(ctx, answer.actorId);
  if (!remote) return;
  // The Follow is ours: known by its id, which we minted; we never need to trust a copy of it.
  let follower = null;
  if (!answer.objectId) {
    const follow = await answer.getObject(ctx);
    if (follow instanceof Follow) follower = (await targetOf(ctx, follow.actorId))?.owner ?? null;
  }
  await answerOutboundFollow(ctx.data.db, remote.id, { activityId: answer.objectId?.href ?? null, follower }, accepted);
}

async function onUndo(ctx: InboxContext<FederationData>, undo: Undo) {
  if (!undo.actorId) return;
  const sent = ((await undo.toJsonLd()) as { object?: unknown }).object;
  const named = sent && typeof sent === 'object' ? namedUndoHandlers.get(String((sent as { type?: unknown }).type)) : undefined;
  if (named) return named(ctx, sent as Record<string, unknown>, undo);
  // An embedded object from another origin is not trusted: Fedify fetches it from its own id instead.
  let undone: APObject | null;
  try {
    undone = await undo.getObject(ctx);
  } catch {
    return;
  }
  if (!undone || !('actorId' in undone) || (undone as Activity).actorId?.href !== undo.actorId.href) return;
  const handler = undoHandlers.get((undone.constructor as typeof Activity).typeId.href);
  await handler?.(ctx, undone as Activity, undo);
}

undoHandlers.set(Follow.typeId.href, async (ctx, follow, undo) => {
  const target = await targetOf(ctx, follow.objectId);
  if (!target || target.kind === 'instance') return;
  const remote = await rememberRemoteActor(ctx, undo.actorId!);
  if (remote) await endInboundFollow(ctx.data.db, target.owner, remote.id);
});

export const inboxHandlers: InboxHandler[] = [
  on(Follow, onFollow),
  on(Accept, (ctx, accept) => onAnswer(ctx, accept, true)),
  on(Reject, (ctx, reject) => onAnswer(ctx, reject, false)),
  on(Undo, onUndo),
];
