// Moderation across servers, as Lemmy does it (FEP-1b12): a moderator's removal is a `Delete` by the
// moderator (restored by `Undo`), a lock is `Lock`, a ban `Block` with `target` the group, pinning and
// appointing are `Add`/`Remove` with `target` the group's featured or moderators collection. Our groups
// announce each entry of the moderation log to their followers; what other servers send goes through the
// moderation domain functions, which accept it only from a moderator of that neighbourhood.
import type { Context, InboxContext } from '@fedify/fedify';
import { Activity, Add, Announce, Block, Collection, Delete, PUBLIC_COLLECTION, Remove, Undo } from '@fedify/vocab';
import { Temporal } from '@js-temporal/polyfill';
import { memberByUsername, remoteAccountDeleted, type Viewer } from '../server/accounts/domain.ts';
import * as moderation from '../server/moderation/domain.ts';
import * as neighbourhoods from '../server/neighbourhoods/domain.ts';
import * as premoderation from '../server/premoderation/domain.ts';
import { actorByUri } from '../server/remote-actors/domain.ts';
import { countAcceptedFollows } from '../server/remote-follows/domain.ts';
import * as threads from '../server/threads/domain.ts';
import type { FederationData } from './actors.ts';
import { recipientOf, sendActivity } from './delivery.ts';
import { authorOf, knownPost, lookup, tolerant } from './groups.ts';
import { type InboxHandler, namedUndoHandlers, on } from './inbox.ts';
import { memberIdentifier, neighbourhoodIdentifier } from './vocabulary.ts';

type Ctx = Context<FederationData>;

/** Lemmy's `Lock`, a type Fedify does not know: written as `"type": "Lock"`, as Lemmy reads it. */
class Lock extends Activity {
  override async toJsonLd(options: Parameters<Activity['toJsonLd']>[0] = {}): Promise<unknown> {
    const json = (await super.toJsonLd(options)) as any;
    // The ActivityStreams context maps unknown terms to `_:`, so `_:Lock` compacts back to `Lock`.
    if (options.format === 'expand') for (const node of json) node['@type'] = ['_:Lock'];
    else json.type = 'Lock';
    return json;
  }
}

/** Lemmy's `Block` carries `removeData`: whether the member's posts in the group went with the ban. */
class BlockWithData extends Block {
  removeData = false;
  override async toJsonLd(options: Parameters<Activity['toJsonLd']>[0] = {}): Promise<unknown> {
    const json = (await super.toJsonLd(options)) as any;
    if (options.format === 'expand') for (const node of json) node['_:removeData'] = [{ '@value': this.removeData }];
    else json.removeData = this.removeData;
    return json;
  }
}

// ---------------------------------------------------------------------------------------------------
// Out: each moderation log entry, as an activity

const memberUri = (ctx: Ctx, apId: string | null, username: string | null) =>
  apId ? new URL(apId) : username ? ctx.getActorUri(memberIdentifier(username)) : null;

/** A group's featured or moderators collection: ours by our routes, another server's as its actor says. */
async function collectionOf(ctx: Ctx, group: URL, local: boolean, which: 'featured' | 'moderators'): Promise<URL> {
  if (!local) {
    const actor = await lookup(ctx, group);
    const named = actor && (which === 'featured' ? (actor as { featuredId?: URL | null }).featuredId : (actor as { attributionId?: URL | null }).attributionId);
    if (named) return named;
  }
  return new URL(`${group.href}/${which}`);
}

/** The activity a log entry stands for, or null for the entries that stay here (reports, privacy). */
async function activityFor(ctx: Ctx, entry: moderation.FederatedLogEntry, actor: URL): Promise<Activity | null> {
  const local = entry.neighbourhood_ap_id === null;
  const group = local ? ctx.getActorUri(neighbourhoodIdentifier(entry.neighbourhood_handle)) : new URL(entry.neighbourhood_ap_id!);
  const id = new URL(`/moderation/${entry.id}`, ctx.origin);
  const common = { actor, audience: group, tos: [PUBLIC_COLLECTION], ccs: [group], summary: entry.reason || null };
  const post = entry.reply_id !== null
    ? (entry.reply_ap_id ? new URL(entry.reply_ap_id) : new URL(`/replies/${entry.reply_id}`, ctx.origin))
    : entry.thread_id !== null ? (entry.thread_ap_id ? new URL(entry.thread_ap_id) : new URL(`/threads/${entry.thread_id}`, ctx.origin)) : null;
  const member = memberUri(ctx, entry.member_ap_id, entry.member_username);
  const undo = (inner: Activity) => new Undo({ ...common, id, object: inner });
  const undone = { ...common, id: new URL(`${id.href}#undone`) };
  switch (entry.action) {
    case 'remove_thread':
    case 'remove_reply':
      return post && new Delete({ ...common, id, object: post });
    case 'restore_thread':
    case 'restore_reply':
      return post && undo(new Delete({ ...undone, object: post }));
    case 'lock_thread':
      return post && new Lock({ ...common, id, object: post });
    case 'unlock_thread':
      return post && undo(new Lock({ ...undone, object: post }));
    case 'pin_thread':
    case 'unpin_thread': {
      const Change = entry.action === 'pin_thread' ? Add : Remove;
      return post && new Change({ ...common, id, object: post, target: await collectionOf(ctx, group, local, 'featured') });
    }
    case 'appoint_moderator':
    case 'dismiss_moderator': {
      const Change = entry.action === 'appoint_moderator' ? Add : Remove;
      return member && new Change({ ...common, id, object: member, target: await collectionOf(ctx, group, local, 'moderators') });
    }
    case 'ban':
    case 'unban': {
      if (!member) return null;
      const block = new BlockWithData({
        ...(entry.action === 'ban' ? { ...common, id } : undone),
        object: member,
        target: group,
        endTime: entry.expires_at ? Temporal.Instant.from(entry.expires_at.toISOString()) : null,
      });
      block.removeData = entry.removed_content;
      return entry.action === 'ban' ? block : undo(block);
    }
    default:
      return null;
  }
}

/**
 * Tells other servers about a moderation log entry. A local neighbourhood's group announces it to its
 * followers (the action by its moderator, wrapped in `Announce`, as Lemmy sends it); a moderator here of
 * a neighbourhood elsewhere sends it to that group, which checks and announces it. Entries that came
 * from elsewhere are not sent back.
 */
export async function announceModeration(ctx: Ctx, logId: number): Promise<void> {
  const db = ctx.data.db;
  const entry = await moderation.logEntryForFederation(db, logId);
  if (!entry) return;
  const actor = memberUri(ctx, entry.moderator_ap_id, entry.moderator_username);
  if (!actor) return;
  if (entry.neighbourhood_ap_id === null) {
    const neighbourhood = await neighbourhoods.neighbourhoodByHandle(db, entry.neighbourhood_handle);
    if ((await countAcceptedFollows(db, `neighbourhood:${neighbourhood.id}`, 'inbound')) === 0) return;
    const activity = await activityFor(ctx, entry, actor);
    if (!activity) return;
    const groupId = neighbourhoodIdentifier(entry.neighbourhood_handle);
    const group = ctx.getActorUri(groupId);
    await sendActivity(ctx, groupId, 'followers', new Announce({
      id: new URL(`${group.href}/announces/moderation-${entry.id}`),
      actor: group,
      object: activity,
      tos: [PUBLIC_COLLECTION],
      ccs: [ctx.getFollowersUri(groupId)],
    }));
    return;
  }
  if (entry.moderator_ap_id !== null || entry.moderator_username === null) return;
  const group = await actorByUri(db, entry.neighbourhood_ap_id);
  const activity = group && (await activityFor(ctx, entry, actor));
  if (!group || !activity) return;
  await sendActivity(ctx, memberIdentifier(entry.moderator_username), recipientOf(group), activity);
}

// ---------------------------------------------------------------------------------------------------
// In: a moderator's action, sent to a group of ours or announced by a group we follow

type Json = Record<string, unknown>;

interface Action {
  type: 'Delete' | 'Remove' | 'Add' | 'Lock' | 'Block';
  undo: boolean;
  actor: URL;
  object: URL;
  target: URL | null;
  summary: string;
  removeData: boolean;
  endTime: Date | null;
  /** `audience`, `to`, `cc` and `target`: where to look for the neighbourhood it concerns. */
  addressed: URL[];
}

const actionTypes = new Set(['Delete', 'Remove', 'Add', 'Lock', 'Block']);

function urls(value: unknown): URL[] {
  const list = Array.isArray(value) ? value : value === undefined || value === null ? [] : [value];
  return list.flatMap((item) => {
    const id = typeof item === 'string' ? item : item && typeof item === 'object' ? (item as Json).id : null;
    if (typeof id !== 'string') return [];
    try {
      return [new URL(id)];
    } catch {
      return [];
    }
  });
}

/** The action in an activity as sent (JSON, since Fedify keeps neither `Lock` nor `removeData`), or null. */
function parseAction(json: unknown, undo = false): Action | null {
  if (!json || typeof json !== 'object') return null;
  const raw = json as Json;
  const type = String(raw.type);
  const [actor] = urls(raw.actor);
  if (!actor) return null;
  if (type === 'Undo' && !undo) {
    const inner = parseAction(raw.object, true);
    // Only the actor of what is undone may undo it.
    return inner && inner.actor.href === actor.href ? inner : null;
  }
  const [object] = urls(raw.object);
  if (!actionTypes.has(type) || !object) return null;
  const [target] = urls(raw.target);
  const ending = typeof raw.endTime === 'string' ? raw.endTime : typeof raw.expires === 'string' ? raw.expires : null;
  const endTime = ending ? new Date(ending) : null;
  return {
    type: type as Action['type'],
    undo,
    actor,
    object,
    target: target ?? null,
    summary: typeof raw.summary === 'string' ? raw.summary.slice(0, 1000) : '',
    removeData: raw.removeData === true,
    endTime: endTime && !Number.isNaN(endTime.getTime()) ? endTime : null,
    addressed: [...urls(raw.audience), ...urls(raw.to), ...urls(raw.cc), ...(target ? [target] : [])],
  };
}

/** The member row for an actor: one of ours by its URL, else the remote actor's row (fetched once). */
async function memberFor(ctx: Ctx, uri: URL): Promise<Viewer | null> {
  if (uri.origin === new URL(ctx.origin).origin) {
    const parsed = ctx.parseUri(uri);
    const name = parsed?.type === 'actor' ? /^members\/(.+)$/.exec(parsed.identifier)?.[1] : undefined;
    const member = name ? await memberByUsername(ctx.data.db, name) : undefined;
    return member && member.status === 'active' ? { id: member.id, username: member.username, role: member.role, tokenId: 0 } : null;
  }
  return authorOf(ctx, uri);
}

/** The neighbourhood (ours, or one followed here) a group id or one of its collections names. */
async function neighbourhoodNamed(ctx: Ctx, uris: URL[]): Promise<neighbourhoods.Neighbourhood | null> {
  for (const uri of uris) {
    const group = new URL(uri.href.replace(/\/(featured|moderators)$/, ''));
    if (group.origin === new URL(ctx.origin).origin) {
      const handle = /^\/neighbourhoods\/([^/]+)$/.exec(group.pathname)?.[1];
      if (handle) {
        const found = await neighbourhoods.neighbourhoodByHandle(ctx.data.db, decodeURIComponent(handle)).catch(() => null);
        if (found) return found;
      }
      continue;
    }
    const remote = await neighbourhoods.neighbourhoodByApId(ctx.data.db, group.href);
    if (remote) return remote;
  }
  return null;
}

/** When we last read each followed group's moderators collection, so a stranger's claims cost at most one read. */
const moderatorsReadAt = new Map<number, number>();
const rereadAfterMs = 5 * 60_000;

/**
 * Reads a neighbourhood elsewhere's moderators collection (the group's `attributedTo`, FEP-1b12) and
 * mirrors it here, so we know whose actions to honour. At most 100 moderators are read.
 */
export async function mirrorModerators(ctx: Ctx, neighbourhood: neighbourhoods.Neighbourhood): Promise<void> {
  if (!neighbourhood.ap_id) return;
  moderatorsReadAt.set(neighbourhood.id, Date.now());
  const group = await lookup(ctx, new URL(neighbourhood.ap_id));
  const source = group && (group as { attributionId?: URL | null }).attributionId;
  const collection = source && (await lookup(ctx, source));
  if (!(collection instanceof Collection)) return;
  let ids = collection.itemIds;
  if (ids.length === 0 && collection.firstId) {
    const first = await lookup(ctx, collection.firstId);
    if (first instanceof Collection) ids = first.itemIds;
  }
  const members: number[] = [];
  for (const id of ids.slice(0, 100)) {
    const member = await memberFor(ctx, id);
    if (member) members.push(member.id);
  }
  await moderation.mirrorRemoteModerators(ctx.data.db, neighbourhood, members);
}

/** The thread or reply an id names; `evenRemoved` also finds one removed, to restore it. */
async function postNamed(ctx: Ctx, uri: URL, evenRemoved: boolean) {
  if (!evenRemoved) return knownPost(ctx, uri);
  const local = uri.origin === new URL(ctx.origin).origin ? /^\/(threads|replies)\/(\d{1,9})$/.exec(uri.pathname) : null;
  return threads.postEvenRemoved(ctx.data.db, local ? { [local[1] === 'threads' ? 'threadId' : 'replyId']: Number(local[2]) } as { threadId: number } | { replyId: number } : { apId: uri.href });
}

/** A post still awaiting a moderator's approval is withdrawn by its author's `Delete`. */
async function withdrawHeld(ctx: Ctx, action: Action): Promise<void> {
  const held = await premoderation.heldIdByApId(ctx.data.db, action.object.href);
  const author = held && (await authorOf(ctx, action.actor));
  if (held && author) await premoderation.withdraw(ctx.data.db, author, held);
}

/** Carries out an action; the moderation domain refuses it (403, logged by `tolerant`) unless the actor may act. */
async function act(ctx: Ctx, action: Action, announcedBy: neighbourhoods.Neighbourhood | null): Promise<void> {
  const db = ctx.data.db;
  const onPost = ['Delete', 'Lock'].includes(action.type) || !!action.target?.pathname.endsWith('/featured') || (action.type === 'Remove' && !action.target?.pathname.endsWith('/moderators'));
  const post = onPost ? await postNamed(ctx, action.object, action.undo && action.type === 'Delete') : null;
  if (onPost && !post && action.type === 'Delete' && !action.undo) return withdrawHeld(ctx, action);
  if (onPost ? !post : action.type !== 'Block' && !action.target?.pathname.endsWith('/moderators')) return;
  const thread = post && ('thread' in post ? post.thread : await threads.threadById(db, post.reply.thread_id));
  const neighbourhood = thread ? await neighbourhoods.neighbourhoodById(db, thread.neighbourhood_id) : await neighbourhoodNamed(ctx, action.addressed);
  // A group speaks only for itself; one it does not hold here is none of our business.
  if (!neighbourhood || (announcedBy && announcedBy.id !== neighbourhood.id)) return;

  let moderator: moderation.Moderator;
  if (announcedBy && action.actor.href === announcedBy.ap_id) moderator = { neighbourhoodItself: announcedBy.id };
  else {
    const member = await memberFor(ctx, action.actor);
    if (!member) return;
    // A post's own author deleting it is a deletion, not a moderator's removal.
    if (post && action.type === 'Delete' && !action.undo) {
      const authorId = 'thread' in post ? post.thread.author_id : post.reply.author_id;
      if (authorId === member.id) {
        await ('thread' in post ? threads.deleteThread(db, member, post.thread.id) : threads.deleteReply(db, member, post.reply.id));
        return;
      }
    }
    // Someone we do not know as a moderator of a group elsewhere may have been appointed since we last looked.
    if (neighbourhood.ap_id && !(await moderation.canModerate(db, neighbourhood, member)) && Date.now() - (moderatorsReadAt.get(neighbourhood.id) ?? 0) > rereadAfterMs) {
      await mirrorModerators(ctx, neighbourhood);
    }
    moderator = member;
  }

  const reason = action.summary;
  if (post) {
    const thread = 'thread' in post ? post.thread : null;
    switch (action.type) {
      case 'Delete':
      case 'Remove':
        if (action.type === 'Remove' && action.target?.pathname.endsWith('/featured')) {
          if (thread) await moderation.pinThread(db, moderator, thread.id, false, reason);
          return;
        }
        if (thread) await (action.undo ? moderation.restoreThread : moderation.removeThread)(db, moderator, thread.id, reason);
        else if ('reply' in post) await (action.undo ? moderation.restoreReply : moderation.removeReply)(db, moderator, post.reply.id, reason);
        return;
      case 'Lock':
        // We lock threads, not single replies (Lemmy 0.20 can lock a comment's subtree).
        if (thread) await moderation.lockThread(db, moderator, thread.id, !action.undo, reason);
        return;
      case 'Add':
        if (thread && !action.undo) await moderation.pinThread(db, moderator, thread.id, true, reason);
        return;
    }
    return;
  }
  const subject = await memberFor(ctx, action.object);
  if (!subject) return;
  if (action.type === 'Block') {
    if (action.undo) await moderation.liftBan(db, moderator, neighbourhood.handle, subject.username, reason);
    else await moderation.banFromNeighbourhood(db, moderator, neighbourhood.handle, subject.username, { reason, expiresAt: action.endTime, removeContent: action.removeData });
  } else if (!action.undo) {
    await moderation.setNeighbourhoodModerator(db, moderator, neighbourhood.handle, subject.username, action.type === 'Add');
  }
}

/**
 * An actor's `Delete` of itself: its account is gone at home (Lemmy's `delete_user`, Mastodon's account
 * deletion). Its member row here is marked suspended and, with `removeData`, its posts here are deleted as
 * its own deletions, so groups of ours tell their followers. Only an actor that signed it counts: one whose
 * key we can no longer fetch (410 Gone) is answered 202 and changes nothing (see `federation/index.ts`).
 */
async function accountDeleted(ctx: Ctx, action: Action): Promise<void> {
  if (action.actor.origin === new URL(ctx.origin).origin) return;
  const member = await remoteAccountDeleted(ctx.data.db, action.actor.href);
  if (member && action.removeData) await threads.deleteAllByAuthor(ctx.data.db, member);
}

/** A moderation activity as it arrived, signed by its actor, at one of our inboxes. */
async function onModeration(ctx: InboxContext<FederationData>, activity: Activity) {
  const action = parseAction(await activity.toJsonLd());
  if (!action || action.actor.href !== activity.actorId?.href) return;
  const ofItself = action.type === 'Delete' && !action.undo && action.object.href === action.actor.href;
  await tolerant(ctx, activity, () => (ofItself ? accountDeleted(ctx, action) : act(ctx, action, null)));
}

/**
 * A moderation activity inside an `Announce` from a group we follow, which vouches for it; true when the
 * announced activity was one (handled or refused), false to let the caller handle what else it is.
 */
export async function receiveAnnouncedModeration(ctx: InboxContext<FederationData>, announce: Announce, group: neighbourhoods.Neighbourhood): Promise<boolean> {
  const raw = (await announce.toJsonLd()) as Json;
  const action = parseAction(raw.object);
  if (!action) return false;
  await tolerant(ctx, announce, () => act(ctx, action, group));
  return true;
}

for (const type of actionTypes) {
  namedUndoHandlers.set(type, async (ctx, undone, undo) => {
    const action = parseAction(undone, true);
    if (!action || action.actor.href !== undo.actorId?.href) return;
    await tolerant(ctx, undo, () => act(ctx, action, null));
  });
}


export const moderationHandlers: InboxHandler[] = [
  // A `Delete` is its author's deletion or a moderator's removal.
  on(Delete, onModeration),
  on(Block, onModeration),
  on(Add, onModeration),
  on(Remove, onModeration),
  // Lemmy's `Lock` reaches Fedify as a bare Activity: the catch-all looks at what was sent.
  on(Activity, onModeration),
];
