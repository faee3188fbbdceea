// Reports across servers. A Flag that arrives (Mastodon, Lemmy, Mbin) becomes a report in the queue of the
// neighbourhood the post is in, or (an account alone) of the instance's staff. A member's report on a post
// in a neighbourhood on another server goes there as a Flag, and to the author's server too if they agreed.
// Flags go out from the instance actor, as Mastodon sends them: the reporter's name stays here, and the
// other server learns only that this server vouches for the report. When a moderator here resolves a
// report that came as a Flag, the reporting server hears it as Lemmy's `Resolve`; a `Resolve` of a Flag we
// sent marks our member's report resolved.
import type { Context, InboxContext } from '@fedify/fedify';
import { Activity, Flag } from '@fedify/vocab';
import type { ReportCategory } from '../server/database.ts';
import { rejectsReportsFrom } from '../server/domain-blocks/domain.ts';
import { AppError } from '../server/errors.ts';
import * as moderation from '../server/moderation/domain.ts';
import { actorByUri } from '../server/remote-actors/domain.ts';
import * as threads from '../server/threads/domain.ts';
import { type FederationData, localActor } from './actors.ts';
import { newActivityId, recipientOf, rememberRemoteActor, sendActivity } from './delivery.ts';
import { authorOf, knownPost } from './groups.ts';
import { type InboxHandler, on } from './inbox.ts';
import { instanceIdentifier, memberIdentifier, neighbourhoodIdentifier } from './vocabulary.ts';

type Ctx = Context<FederationData>;
const AS = 'https://www.w3.org/ns/activitystreams';

/** At most this many objects of one Flag are looked at; a report names a post or a few. */
const maxFlagObjects = 20;

/**
 * Flags carry no category (Lemmy, Mastodon and Mbin send text only). Ours start with the category's name,
 * so it survives the trip between two servers of ours; otherwise a word of the text may tell it.
 */
function categoryOf(text: string): { category: ReportCategory; reason: string } {
  const named = /^\s*(spam|harassment|illegal|rules|other)\s*(?::\s*|$)/i.exec(text);
  if (named) return { category: named[1]!.toLowerCase() as ReportCategory, reason: text.slice(named[0].length) };
  const category = /\bspam/i.test(text) ? 'spam' : /\bharass/i.test(text) ? 'harassment' : /\billegal/i.test(text) ? 'illegal' : 'other';
  return { category, reason: text };
}

/**
 * Lemmy's `Resolve` (of a Flag), which ActivityStreams lacks: an Activity that names itself so. Fedify
 * clones what it signs with `new this.constructor`, so the name survives signing.
 */
class Resolve extends Activity {
  static override get typeId() {
    return new URL(`${AS}#Resolve`);
  }

  override async toJsonLd(options?: Parameters<Activity['toJsonLd']>[0]): Promise<unknown> {
    const json = (await super.toJsonLd(options)) as Record<string, unknown>;
    if ('type' in json) json.type = 'Resolve';
    return json;
  }
}

const flagText = (category: ReportCategory, reason: string) => `${category[0]!.toUpperCase()}${category.slice(1)}${reason ? `: ${reason}` : ''}`;

async function onFlag(ctx: InboxContext<FederationData>, flag: Flag) {
  if (!flag.id || !flag.actorId) return;
  if (await rejectsReportsFrom(ctx.data.db, flag.actorId.host)) {
    ctx.data.log.info({ flag: flag.id.href }, 'a report from a server whose reports are rejected was dropped');
    return;
  }
  const text = (flag.content ?? flag.summary)?.toString().replace(/<[^>]*>/g, '').trim() ?? '';
  const input = { ...categoryOf(text), apId: flag.id.href };
  const posts: moderation.ReportTarget[] = [];
  const accounts: moderation.ReportTarget[] = [];
  for (const id of flag.objectIds.slice(0, maxFlagObjects)) {
    const post = await knownPost(ctx, id);
    if (post) {
      posts.push('thread' in post ? { threadId: post.thread.id } : { replyId: post.reply.id });
      continue;
    }
    const parsed = ctx.parseUri(id);
    const actor = parsed?.type === 'actor' ? await localActor(ctx.data.db, parsed.identifier) : null;
    if (actor?.kind === 'member') accounts.push({ username: actor.member.username });
  }
  // A Flag naming posts and their author (Mastodon, Mbin) is about the posts: their neighbourhoods'
  // moderators see it, with the author named. An account alone goes to the instance's staff.
  const targets = posts.length ? posts : accounts;
  if (!targets.length) return;
  const reporter = await authorOf(ctx, flag.actorId);
  if (!reporter) return;
  for (const target of targets) {
    try {
      const report = await moderation.fileReport(ctx.data.db, reporter, target, input);
      ctx.data.log.info({ report: report.id, flag: flag.id.href }, 'report received');
    } catch (error) {
      if (!(error instanceof AppError && error.status < 500)) throw error;
      ctx.data.log.info({ flag: flag.id.href, reason: error.message }, 'refused a remote report');
    }
  }
}

/**
 * Types outside ActivityStreams (Lemmy's `Resolve`) arrive as plain activities; their type is in the
 * JSON they came as. A Resolve is heeded only for a Flag we sent, from the server holding what it names.
 */
async function onOtherActivity(ctx: InboxContext<FederationData>, activity: Activity) {
  if (activity.constructor !== Activity || !activity.actorId || !activity.objectId) return;
  const json = (await activity.toJsonLd()) as { type?: unknown };
  if (json.type !== 'Resolve' && json.type !== `${AS}#Resolve`) return;
  const closed = await moderation.resolvedElsewhere(ctx.data.db, activity.objectId.href, activity.actorId.origin);
  if (closed) ctx.data.log.info({ flag: activity.objectId.href, closed }, 'a forwarded report was resolved');
}

/** The ActivityPub ids of a reported post and its author, and the group it is in (null when ours). */
async function reportedPost(ctx: Ctx, report: moderation.Report) {
  const db = ctx.data.db;
  const thread = await threads.threadById(db, report.thread_id!);
  const post = report.reply_id === null ? thread : await threads.replyById(db, report.reply_id);
  const id = post.ap_id ?? new URL(report.reply_id === null ? `/threads/${thread.id}` : `/replies/${post.id}`, ctx.origin).href;
  const author = post.author_ap_id ?? (post.author_username ? ctx.getActorUri(memberIdentifier(post.author_username)).href : null);
  return { id, author, group: thread.neighbourhood_ap_id };
}

function flagOf(ctx: Ctx, id: URL, objects: string[], text: string, to: string, audience?: string) {
  return new Flag({
    id,
    actor: ctx.getActorUri(instanceIdentifier),
    objects: objects.map((object) => new URL(object)),
    // Lemmy reads the reason from `summary`, Mastodon and Mbin from `content`.
    content: text,
    summary: text,
    to: new URL(to),
    ...(audience && { audience: new URL(audience) }),
  });
}

/**
 * Sends a member's new report where it must go: to the neighbourhood's server when the neighbourhood is
 * on another server (naming the post alone, as Lemmy expects), and to the author's server when the
 * reporter agreed to that (naming the author and the post, as Mastodon expects). Nothing leaves for a
 * post in one of our neighbourhoods unless the reporter asked for it.
 */
export async function forwardReport(ctx: Ctx, report: moderation.Report): Promise<void> {
  if (report.ap_id || report.reporter_ap_id) return;
  const db = ctx.data.db;
  const text = flagText(report.category, report.reason);
  const post = report.thread_id === null ? null : await reportedPost(ctx, report);
  const groupActor = post?.group ? await actorByUri(db, post.group) : null;
  if (post && groupActor) {
    const id = newActivityId(ctx);
    await moderation.rememberSentFlag(db, report.id, id.href);
    await sendActivity(ctx, instanceIdentifier, recipientOf(groupActor), flagOf(ctx, id, [post.id], text, groupActor.uri, groupActor.uri));
  }
  if (!report.forward) return;
  const authorUri = post ? post.author : report.member_ap_id;
  if (!authorUri || new URL(authorUri).origin === new URL(ctx.origin).origin) return;
  if (groupActor && new URL(authorUri).origin === new URL(groupActor.uri).origin) return;
  const author = await rememberRemoteActor(ctx, new URL(authorUri));
  if (!author) return;
  const id = newActivityId(ctx);
  if (!groupActor) await moderation.rememberSentFlag(db, report.id, id.href);
  await sendActivity(ctx, instanceIdentifier, recipientOf(author), flagOf(ctx, id, post ? [author.uri, post.id] : [author.uri], text, author.uri));
}

/**
 * A report that came from another server was resolved here: the reporting server hears it as Lemmy does,
 * `Resolve` of its Flag, from the neighbourhood (or, for an account, the instance). A dismissal has no
 * word in Lemmy's vocabulary or Mastodon's, so it is not sent.
 */
export async function answerReport(ctx: Ctx, report: moderation.Report): Promise<void> {
  if (!report.ap_id || !report.reporter_ap_id || report.status !== 'resolved') return;
  const reporter = await actorByUri(ctx.data.db, report.reporter_ap_id);
  if (!reporter) return;
  const identifier = report.neighbourhood && !report.neighbourhood_ap_id ? neighbourhoodIdentifier(report.neighbourhood) : instanceIdentifier;
  const actor = ctx.getActorUri(identifier);
  const flag = new Flag({ id: new URL(report.ap_id), actor: new URL(reporter.uri) });
  const resolve = new Resolve({ id: new URL(`/reports/${report.id}/resolved`, ctx.origin), actor, object: flag, to: new URL(reporter.uri) });
  await sendActivity(ctx, identifier, recipientOf(reporter), resolve);
}


export const reportHandlers: InboxHandler[] = [
  on(Flag, onFlag),
  on(Activity, onOtherActivity),
];
