// The Mastodon client API's view of the forum: members and neighbourhoods as accounts, threads and replies
// as statuses. Everything that changes something goes through the forum's own domain functions, so a post
// from a Mastodon app takes the same path (and the same rules) as one from our pages.
import * as accounts from '../accounts/domain.ts';
import type { Viewer } from '../accounts/domain.ts';
import type { Config } from '../config.ts';
import type { Database } from '../database.ts';
import { AppError, notFound } from '../errors.ts';
import * as follows from '../follows/domain.ts';
import { escapeHtml, renderMarkdown } from '../markdown.ts';
import * as neighbourhoods from '../neighbourhoods/domain.ts';
import * as oauth from '../oauth/domain.ts';
import * as profilePosts from '../profile-posts/domain.ts';
import * as threads from '../threads/domain.ts';
import * as q from './queries.ts';

export interface Context {
  db: Database;
  config: Config;
  viewer: Viewer | null;
  /** Tells a member's followers elsewhere that one of their own posts changed (federation provides it). */
  profilePostChanged?: (id: number, change: 'created' | 'edited' | 'deleted') => Promise<unknown>;
  /** Tells the server a liked post came from (federation provides it); `votedAt` null: nothing changed. */
  liked?: (viewer: Viewer, target: { threadId: number } | { replyId: number }, votedAt: Date | null, liked: boolean) => Promise<unknown>;
}

/** Mastodon answers a well-formed request it cannot carry out with 422 and a sentence. */
export const unprocessable = (message: string, code = 'unprocessable') => new AppError(422, code, message);

// Account ids: one decimal space for every kind of account, the last digit saying which kind:
// 0 = member, 1 = neighbourhood (2 and up are free for remote actors once federation lands).
export const memberAccountId = (id: number) => String(id * 10);
export const neighbourhoodAccountId = (id: number) => String(id * 10 + 1);

/** For lookups where "not there" is an answer rather than an error. */
function unlessNotFound(error: unknown): undefined {
  if (error instanceof AppError && error.status === 404) return undefined;
  throw error;
}

type AccountRef = { kind: 'member' | 'neighbourhood'; id: number };
const maxRowId = 2_147_483_647;

/** The account an id names, if it could name one at all. */
function accountRef(id: string): AccountRef | undefined {
  const match = /^(\d{1,10})([01])$/.exec(id);
  const rowId = Number(match?.[1]);
  if (!match || rowId < 1 || rowId > maxRowId) return undefined;
  return { kind: match[2] === '0' ? 'member' : 'neighbourhood', id: rowId };
}

function parseAccountId(id: string): AccountRef {
  const ref = accountRef(id);
  if (!ref) throw notFound('That account');
  return ref;
}

type StatusRef = { kind: 'thread' | 'reply' | 'post'; id: number };
const statusKinds = { 1: 'thread', 2: 'reply', 3: 'post' } as const;
function parseStatusId(id: string): StatusRef {
  const match = q.statusIdPattern.exec(id);
  const rowId = Number(match?.[3]);
  if (!match || rowId < 1 || rowId > maxRowId) throw notFound('That status');
  return { kind: statusKinds[match[2] as '1' | '2' | '3'], id: rowId };
}

/** A member's own post is no thread: it takes no replies or likes (yet), and has no conversation around it. */
const notForPosts = (what: string) => unprocessable(`${what} are not supported on posts on a member\u2019s profile yet.`, 'unsupported_on_profile_posts');

interface Field {
  name: string;
  value: string;
  verified_at: string | null;
}

const isoDate = (date: Date | null) => (date ? date.toISOString().slice(0, 10) : null);

function accountBase(config: Config) {
  // There are no profile pictures yet: every account shows the same placeholder, as Mastodon's `missing.png` does.
  const avatar = new URL('/avatars/missing.png', config.publicUrl).href;
  return {
    locked: false,
    bot: false,
    discoverable: true,
    indexable: true,
    noindex: false,
    hide_collections: false,
    avatar,
    avatar_static: avatar,
    header: avatar,
    header_static: avatar,
    emojis: [],
    roles: [],
  };
}

export function presentMemberAccount(config: Config, m: q.MemberAccountRow) {
  // Someone from another server (who replied or liked) is named `name@host` here, as Mastodon's acct is.
  const url = m.ap_id ?? new URL(`/members/${m.username}`, config.publicUrl).href;
  return {
    ...accountBase(config),
    id: memberAccountId(m.id),
    username: m.ap_id ? m.username.split('@')[0]! : m.username,
    acct: m.username,
    display_name: m.display_name || m.username,
    group: false,
    created_at: m.created_at.toISOString(),
    note: renderMarkdown(m.bio),
    url,
    uri: url,
    followers_count: 0,
    following_count: m.following_count,
    statuses_count: m.statuses_count,
    last_status_at: isoDate(m.last_status_at),
    fields: [] as Field[],
  };
}

export function presentNeighbourhoodAccount(config: Config, n: q.NeighbourhoodAccountRow) {
  const url = new URL(`/neighbourhoods/${n.handle}`, config.publicUrl).href;
  return {
    ...accountBase(config),
    id: neighbourhoodAccountId(n.id),
    username: n.handle,
    acct: n.handle,
    display_name: n.name,
    group: true,
    created_at: n.created_at.toISOString(),
    note: renderMarkdown(n.description),
    url,
    uri: url,
    followers_count: n.member_count,
    following_count: 0,
    statuses_count: n.statuses_count,
    last_status_at: isoDate(n.last_status_at),
    fields: [{ name: 'Place', value: escapeHtml(n.place_name), verified_at: null }],
  };
}

export type Account = ReturnType<typeof presentMemberAccount>;

/** Stands in for a post's author whose account no longer exists. */
function deletedAccount(config: Config): Account {
  return {
    ...accountBase(config),
    id: '0',
    username: 'deleted',
    acct: 'deleted',
    display_name: 'Deleted account',
    group: false,
    created_at: new Date(0).toISOString(),
    note: '',
    url: config.publicUrl.href,
    uri: config.publicUrl.href,
    followers_count: 0,
    following_count: 0,
    statuses_count: 0,
    last_status_at: null,
    fields: [],
  };
}

async function loadAccounts(ctx: Context, refs: AccountRef[]): Promise<Map<string, Account>> {
  const ids = (kind: AccountRef['kind']) => [...new Set(refs.filter((r) => r.kind === kind).map((r) => r.id))];
  const map = new Map<string, Account>();
  for (const m of await q.membersByIds(ctx.db, ids('member'))) map.set(memberAccountId(m.id), presentMemberAccount(ctx.config, m));
  for (const n of await q.neighbourhoodsByIds(ctx.db, ids('neighbourhood'))) {
    map.set(neighbourhoodAccountId(n.id), presentNeighbourhoodAccount(ctx.config, n));
  }
  return map;
}

export async function accountById(ctx: Context, id: string): Promise<Account> {
  const account = (await loadAccounts(ctx, [parseAccountId(id)])).get(id);
  if (!account) throw notFound('That account');
  return account;
}

/** `name` or `name@our.domain`; another domain is a remote account, which only federation can find. */
export async function lookupAccount(ctx: Context, acct: string): Promise<Account> {
  const [name, domain] = acct.replace(/^@/, '').split('@');
  if (!name || (domain && domain.toLowerCase() !== ctx.config.domain)) throw notFound('That account');
  const member = await accounts.memberByUsername(ctx.db, name);
  if (member && member.status === 'active') return accountById(ctx, memberAccountId(member.id));
  const neighbourhood = await neighbourhoods.neighbourhoodByHandle(ctx.db, name).catch(unlessNotFound);
  if (neighbourhood) return accountById(ctx, neighbourhoodAccountId(neighbourhood.id));
  throw notFound('That account');
}

const hashtags = (text: string) => [...new Set([...text.matchAll(/(?:^|[^\p{L}\p{N}_&/])#([\p{L}\p{N}_]+)/gu)].map((m) => m[1]!.toLowerCase()))];

/** A post's attachments from another server as Mastodon media: kept as remote links, never copied here. */
function mediaAttachments(statusId: string, post: { attachments: threads.Thread['attachments'] }) {
  return threads.attachmentsOf(post).map((a, index) => {
    const type = a.image ? 'image' : a.mediaType?.startsWith('video/') ? 'video' : a.mediaType?.startsWith('audio/') ? 'audio' : 'unknown';
    return { id: `${statusId}${index}`, type, url: a.url, preview_url: a.image ? a.url : null, remote_url: a.url, text_url: null, meta: null, description: a.description, blurhash: null };
  });
}

function mentionLink(account: Account) {
  return `<span class="h-card"><a href="${escapeHtml(account.url)}" class="u-url mention">@<span>${escapeHtml(account.username)}</span></a></span>`;
}

/** Statuses in the order of `ids`, skipping any that no longer exist. */
export async function statuses(ctx: Context, ids: string[]) {
  const refs = ids.map(parseStatusId);
  const pick = (kind: StatusRef['kind']) => refs.filter((r) => r.kind === kind).map((r) => r.id);
  const wanted = { threads: pick('thread'), replies: pick('reply') };
  const rows: (q.StatusRow | Awaited<ReturnType<typeof q.postStatusRows>>[number])[] = [
    ...(await q.statusRows(ctx.db, wanted, ctx.viewer?.id ?? null)),
    ...(await q.postStatusRows(ctx.db, pick('post'))),
  ];
  const people = await loadAccounts(ctx, [
    ...rows.filter((r) => r.author_id !== null).map((r) => ({ kind: 'member' as const, id: r.author_id! })),
    ...rows.flatMap((r) => (r.neighbourhood_id === null ? [] : [{ kind: 'neighbourhood' as const, id: r.neighbourhood_id }])),
  ]);
  const liked = ctx.viewer ? await q.likedBy(ctx.db, ctx.viewer.id, wanted) : [];
  const likedThreads = new Set(liked.map((l) => l.thread_id));
  const likedReplies = new Set(liked.map((l) => l.reply_id));
  const byId = new Map(rows.map((r) => [r.status_id, r]));
  return ids.flatMap((id) => {
    const row = byId.get(id);
    if (!row) return [];
    const author = (row.author_id !== null && people.get(memberAccountId(row.author_id))) || deletedAccount(ctx.config);
    const neighbourhood = row.neighbourhood_id === null ? null : people.get(neighbourhoodAccountId(row.neighbourhood_id))!;
    const url = new URL(`/${{ thread: 'threads', reply: 'replies', post: 'posts' }[row.kind]}/${row.id}`, ctx.config.publicUrl).href;
    // A thread reads as its neighbourhood's mention, its title in bold, then its body, as Lemmy posts look in Mastodon.
    const content = row.kind === 'thread' && neighbourhood
      ? `<p>${mentionLink(neighbourhood)} <strong>${escapeHtml(row.title ?? '')}</strong></p>${row.body_html}`
      : row.body_html;
    return [{
      id: row.status_id,
      uri: url,
      url,
      created_at: row.created_at.toISOString(),
      edited_at: row.edited_at?.toISOString() ?? null,
      account: author,
      content,
      visibility: 'public',
      sensitive: false,
      spoiler_text: '',
      language: null,
      media_attachments: mediaAttachments(row.status_id, row),
      application: null,
      mentions: neighbourhood ? [{ id: neighbourhood.id, username: neighbourhood.username, acct: neighbourhood.acct, url: neighbourhood.url }] : [],
      tags: hashtags(`${row.title ?? ''}\n${row.body_source}`).map((name) => ({ name, url: new URL(`/tags/${encodeURIComponent(name)}`, ctx.config.publicUrl).href })),
      emojis: [],
      reblogs_count: 0,
      favourites_count: row.like_count,
      replies_count: row.reply_count,
      in_reply_to_id: row.parent_status_id,
      in_reply_to_account_id: row.parent_author_id === null ? null : memberAccountId(row.parent_author_id),
      reblog: null,
      poll: null,
      card: null,
      favourited: row.kind === 'thread' ? likedThreads.has(row.id) : row.kind === 'reply' && likedReplies.has(row.id),
      reblogged: false,
      muted: false,
      bookmarked: false,
      pinned: false,
      filtered: [],
      /** The source as written, for redrafting; Mastodon sends it only when a status is deleted. */
      source: row.kind === 'thread' && neighbourhood ? `@${neighbourhood.acct} ${row.title}\n\n${row.body_source}` : row.body_source,
    }];
  });
}

export type Status = Awaited<ReturnType<typeof statuses>>[number];

/** Threads and replies by their own ids, as statuses: for paths that start from a thread or reply (streaming). */
export async function statusesOf(ctx: Context, refs: { threads: number[]; replies: number[] }) {
  const ids = (await q.statusRows(ctx.db, refs, ctx.viewer?.id ?? null)).map((r) => r.status_id).sort().reverse();
  return statuses(ctx, ids);
}

/** The status id of a thread or reply even once it is deleted, to say which status went. */
export const statusIdOf = (ctx: Context, ref: { kind: 'thread' | 'reply'; id: number }) => q.statusIdOf(ctx.db, ref);

/**
 * Whether a new status is a `mention` notification for `viewer`, by the rule `notifications` applies in SQL:
 * someone else's reply to the viewer's post, or a post naming `@viewer`.
 */
export function mentions(status: Status, viewer: { id: number; username: string }): boolean {
  if (status.account.id === memberAccountId(viewer.id)) return false;
  if (status.in_reply_to_account_id === memberAccountId(viewer.id)) return true;
  const name = viewer.username.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`(^|[^\\p{L}\\p{N}_/])@${name}(?![\\p{L}\\p{N}_])`, 'iu').test(status.source);
}

/** The id `notifications` gives the mention a status makes: its time, `1` for mention, then the status id's kind and row (see queries.ts). */
export const mentionNotificationId = (statusId: string) => `${statusId.slice(0, 13)}1${statusId.slice(13)}0000000000`;

/** What the API shows of a status: everything but the source text, which only a deletion returns. */
export const publicStatus = ({ source: _, ...status }: Status) => status;

export async function statusById(ctx: Context, id: string): Promise<Status> {
  const [status] = await statuses(ctx, [id]);
  if (!status) throw notFound('That status');
  return status;
}

export interface NewStatus {
  status?: string;
  in_reply_to_id?: string;
  visibility?: string;
  media_ids?: unknown;
  poll?: unknown;
}

const titleLength = 200;
// A handle as neighbourhoods spell it, optionally with a domain: @park-road or @park-road@forum.example
const mentionPattern = /(^|[^\p{L}\p{N}_/@])@([A-Za-z0-9][A-Za-z0-9_-]{1,39})(?:@([A-Za-z0-9.-]+(?::\d{1,5})?))?/gu;

/**
 * A thread from a status: the first neighbourhood mentioned is where it goes (the mention itself is taken
 * out); the first line is the title, cut to 200 characters; the lines after it are the body, in Markdown.
 * A one-line status uses that line as both title and body.
 */
export function threadFromText(text: string, handle: string, domain: string): { title: string; body: string } {
  const mention = new RegExp(`(^|[^\\p{L}\\p{N}_/@])@${handle}(?:@${domain.replace(/[.]/g, '\\.')})?(?![\\p{L}\\p{N}_@-])`, 'iu');
  const stripped = text.replace(mention, '$1').trim();
  const [first = '', ...rest] = stripped.split('\n');
  // Taking the mention out of the middle of a line leaves a double space; a title has single ones.
  const title = Array.from(first.replace(/\s+/g, ' ').trim()).slice(0, titleLength).join('').trim();
  const body = rest.join('\n').trim() || stripped;
  return { title, body };
}

/** Where a status should start a thread: the first local neighbourhood it mentions. */
async function mentionedNeighbourhood(ctx: Context, text: string) {
  let mentionsElsewhere = false;
  for (const match of text.matchAll(mentionPattern)) {
    const [, , handle, domain] = match;
    if (domain && domain.toLowerCase() !== ctx.config.domain) {
      // Could be a person or a neighbourhood on another server; only a local neighbourhood takes a thread.
      mentionsElsewhere = true;
      continue;
    }
    const neighbourhood = await neighbourhoods.neighbourhoodByHandle(ctx.db, handle!).catch(unlessNotFound);
    if (neighbourhood) return neighbourhood;
  }
  if (mentionsElsewhere) {
    // Seam for federation: posting into a neighbourhood on another server goes out as an activity.
    throw unprocessable('Mention a neighbourhood on this server to start a thread; posting to one on another server is not possible from apps yet.', 'remote_neighbourhood');
  }
  return undefined;
}

export async function createStatus(ctx: Context, viewer: Viewer, input: NewStatus): Promise<Status> {
  const text = input.status ?? '';
  if (!text.trim()) throw unprocessable("Validation failed: Text can't be blank", 'invalid_body');
  if (input.visibility === 'private' || input.visibility === 'direct') {
    throw unprocessable('Neighbourhood posts are public: followers-only and direct statuses are not supported.', 'unsupported_visibility');
  }
  if (Array.isArray(input.media_ids) ? input.media_ids.length : input.media_ids) {
    throw unprocessable('Media attachments are not supported yet.', 'unsupported_media');
  }
  if (input.poll) throw unprocessable('Polls are not supported.', 'unsupported_poll');
  if (input.in_reply_to_id) {
    const target = parseStatusId(input.in_reply_to_id);
    if (target.kind === 'post') throw notForPosts('Replies');
    // A deleted post keeps its place in the tree but takes no new replies from apps, as in Mastodon.
    await statusById(ctx, input.in_reply_to_id);
    const parent = target.kind === 'thread' ? { threadId: target.id } : await threads.replyById(ctx.db, target.id).then((r) => ({ threadId: r.thread_id, parentId: r.id }));
    const created = await threads.reply(ctx.db, viewer, parent.threadId, { body: text, parentId: 'parentId' in parent ? parent.parentId : undefined });
    return (await statusesOf(ctx, { threads: [], replies: [created.id] }))[0]!;
  }
  const neighbourhood = await mentionedNeighbourhood(ctx, text);
  if (!neighbourhood) {
    // A status that mentions no neighbourhood is the member's own post, on their profile.
    const post = await profilePosts.createPost(ctx.db, viewer, text);
    await ctx.profilePostChanged?.(post.id, 'created');
    return statusById(ctx, await q.postStatusIdOf(ctx.db, post.id));
  }
  const { title, body } = threadFromText(text, neighbourhood.handle, ctx.config.domain);
  if (!title) throw unprocessable('Write a first line after the neighbourhood: it becomes the thread\u2019s title.', 'invalid_title');
  const thread = await threads.startThread(ctx.db, viewer, neighbourhood.handle, { kind: 'discussion', title, body });
  return (await statusesOf(ctx, { threads: [thread.id], replies: [] }))[0]!;
}

/**
 * An edit from an app: the text is read as it was written, so a thread's first line (after the
 * neighbourhood's mention) is its title again and the rest its body; a reply's text is its body.
 */
export async function editStatus(ctx: Context, viewer: Viewer, id: string, input: { status?: string; media_ids?: unknown; poll?: unknown }): Promise<Status> {
  const current = await statusById(ctx, id);
  const text = input.status ?? '';
  if (!text.trim()) throw unprocessable("Validation failed: Text can't be blank", 'invalid_body');
  if (Array.isArray(input.media_ids) ? input.media_ids.length : input.media_ids) throw unprocessable('Media attachments are not supported yet.', 'unsupported_media');
  if (input.poll) throw unprocessable('Polls are not supported.', 'unsupported_poll');
  const ref = parseStatusId(id);
  if (ref.kind === 'post') {
    await profilePosts.editPost(ctx.db, viewer, ref.id, text);
    await ctx.profilePostChanged?.(ref.id, 'edited');
  } else if (ref.kind === 'thread') {
    const handle = current.mentions[0]!.acct;
    const { title, body } = threadFromText(text, handle, ctx.config.domain);
    if (!title) throw unprocessable('Keep a first line: it is the thread\u2019s title.', 'invalid_title');
    await threads.editThread(ctx.db, viewer, ref.id, { title, body });
  } else {
    await threads.editReply(ctx.db, viewer, ref.id, text);
  }
  return statusById(ctx, id);
}

/** What an app shows in its edit box: the text as written. */
export async function statusSource(ctx: Context, id: string) {
  const status = await statusById(ctx, id);
  return { id: status.id, text: status.source, spoiler_text: status.spoiler_text };
}

/** Earlier versions are not kept: the history is the version there is now, as Mastodon shows an unedited status. */
export async function statusHistory(ctx: Context, id: string) {
  const status = await statusById(ctx, id);
  return [{
    content: status.content,
    spoiler_text: status.spoiler_text,
    sensitive: status.sensitive,
    created_at: status.edited_at ?? status.created_at,
    account: status.account,
    poll: null,
    media_attachments: [],
    emojis: [],
  }];
}

export async function deleteStatus(ctx: Context, viewer: Viewer, id: string): Promise<Status> {
  const status = await statusById(ctx, id);
  const ref = parseStatusId(id);
  if (ref.kind === 'post') {
    await profilePosts.deletePost(ctx.db, viewer, ref.id);
    await ctx.profilePostChanged?.(ref.id, 'deleted');
  } else if (ref.kind === 'thread') await threads.deleteThread(ctx.db, viewer, ref.id);
  else await threads.deleteReply(ctx.db, viewer, ref.id);
  return status;
}

export async function favourite(ctx: Context, viewer: Viewer, id: string, liked: boolean): Promise<Status> {
  await statusById(ctx, id);
  const ref = parseStatusId(id);
  if (ref.kind === 'post') throw notForPosts('Likes');
  const target = ref.kind === 'thread' ? { threadId: ref.id } : { replyId: ref.id };
  const { voted_at } = await threads.like(ctx.db, viewer, target, liked);
  await ctx.liked?.(viewer, target, voted_at, liked);
  return statusById(ctx, id);
}

/** The conversation around a status: the thread and the replies above it, and every reply below it. */
export async function context(ctx: Context, id: string) {
  await statusById(ctx, id);
  const ref = parseStatusId(id);
  if (ref.kind === 'post') return { ancestors: [], descendants: [] };
  const threadId = ref.kind === 'thread' ? ref.id : (await threads.replyById(ctx.db, ref.id)).thread_id;
  const tree = await q.replyTree(ctx.db, threadId);
  const children = new Map<number | null, number[]>();
  for (const reply of tree) children.set(reply.parent_id, [...(children.get(reply.parent_id) ?? []), reply.id]);
  const below: number[] = [];
  const visit = (parent: number | null) => {
    for (const child of children.get(parent) ?? []) {
      below.push(child);
      visit(child);
    }
  };
  visit(ref.kind === 'thread' ? null : ref.id);
  const above: number[] = [];
  if (ref.kind === 'reply') {
    const parents = new Map(tree.map((r) => [r.id, r.parent_id]));
    for (let at = parents.get(ref.id) ?? null; at !== null; at = parents.get(at) ?? null) above.unshift(at);
  }
  const rows = await q.statusRows(ctx.db, { threads: ref.kind === "reply" ? [threadId] : [], replies: [...above, ...below] }, ctx.viewer?.id ?? null);
  const idOf = (kind: StatusRef['kind'], rowId: number) => rows.find((r) => r.kind === kind && r.id === rowId)?.status_id;
  const ids = (kind: StatusRef['kind'], list: number[]) => list.map((n) => idOf(kind, n)).filter((s): s is string => !!s);
  return {
    ancestors: await statuses(ctx, ref.kind === 'reply' ? [...ids('thread', [threadId]), ...ids('reply', above)] : []),
    descendants: await statuses(ctx, ids('reply', below)),
  };
}

export interface Page {
  max_id?: string;
  since_id?: string;
  min_id?: string;
  limit: number;
}

const idPage = (page: Page): q.IdPage => ({ maxId: page.max_id, sinceId: page.since_id, minId: page.min_id, limit: page.limit });

export async function timeline(ctx: Context, filter: q.StatusFilter, page: Page) {
  return statuses(ctx, await q.statusIds(ctx.db, { ...filter, reader: ctx.viewer?.id ?? null }, idPage(page)));
}

export async function accountStatuses(ctx: Context, id: string, page: Page & { exclude_replies?: boolean; pinned?: boolean; only_media?: boolean }) {
  const account = parseAccountId(id);
  await accountById(ctx, id);
  // Nothing is pinned and there is no media yet.
  if (page.pinned || page.only_media) return [];
  const filter: q.StatusFilter = account.kind === 'member' ? { authorId: account.id } : { neighbourhoodId: account.id };
  return timeline(ctx, { ...filter, threadsOnly: page.exclude_replies }, page);
}

export async function relationships(ctx: Context, viewer: Viewer, ids: string[]) {
  const refs = ids.map((id) => ({ id, ref: accountRef(id) }));
  // Following is what fills the home timeline, as on the home page and the user stream.
  const followed = new Set(await follows.followedIds(ctx.db, viewer.id));
  return refs.map(({ id, ref }) => ({
    id,
    following: ref?.kind === 'neighbourhood' && followed.has(ref.id),
    showing_reblogs: true,
    notifying: false,
    languages: null,
    followed_by: false,
    blocking: false,
    blocked_by: false,
    muting: false,
    muting_notifications: false,
    requested: false,
    requested_by: false,
    domain_blocking: false,
    endorsed: false,
    note: '',
  }));
}

/** Following a neighbourhood is joining it (which follows it too); unfollowing is leaving and unfollowing. */
export async function follow(ctx: Context, viewer: Viewer, id: string, following: boolean) {
  const ref = parseAccountId(id);
  await accountById(ctx, id);
  if (ref.kind === 'member') {
    throw unprocessable('Following members is not supported yet; follow a neighbourhood to join it.', 'unsupported_follow');
  }
  const { handle } = await neighbourhoods.neighbourhoodById(ctx.db, ref.id);
  if (following) await neighbourhoods.join(ctx.db, viewer, handle);
  else {
    await neighbourhoods.leave(ctx.db, viewer, handle);
    await follows.unfollow(ctx.db, viewer, ref.id).catch(unlessNotFound);
  }
  return (await relationships(ctx, viewer, [id]))[0]!;
}

export const notificationTypes: readonly q.NotificationType[] = ['mention', 'favourite'];

export async function notifications(ctx: Context, viewer: Viewer, types: readonly q.NotificationType[], page: Page) {
  const rows = await q.notifications(ctx.db, viewer, types, idPage(page));
  const people = await loadAccounts(ctx, rows.map((r) => ({ kind: 'member' as const, id: r.actor_id })));
  const shown = new Map((await statuses(ctx, [...new Set(rows.map((r) => r.status_id))])).map((s) => [s.id, publicStatus(s)]));
  return rows.flatMap((row) => {
    const account = people.get(memberAccountId(row.actor_id));
    const status = shown.get(row.status_id);
    return account && status ? [{ id: row.id, type: row.type, created_at: row.created_at.toISOString(), account, status }] : [];
  });
}

/**
 * Seam for federation: finding `@name@other.server` means fetching the actor over ActivityPub.
 * Until that is wired in, a remote handle finds nothing.
 */
export async function resolveRemoteAccount(_ctx: Context, _name: string, _domain: string): Promise<Account | undefined> {
  return undefined;
}

export async function search(ctx: Context, input: { q: string; type?: string; resolve?: boolean; limit: number }) {
  const text = input.q.trim();
  const want = (type: string) => !input.type || input.type === type;
  const handle = /^@?([A-Za-z0-9_-]+)@([A-Za-z0-9.-]+(?::\d{1,5})?)$/.exec(text);
  let found: Account[] = [];
  if (want('accounts')) {
    if (handle && handle[2]!.toLowerCase() !== ctx.config.domain) {
      const remote = input.resolve ? await resolveRemoteAccount(ctx, handle[1]!, handle[2]!) : undefined;
      found = remote ? [remote] : [];
    } else {
      const { memberIds, neighbourhoodIds } = await q.searchAccounts(ctx.db, handle ? handle[1]! : text.replace(/^@/, ''), input.limit);
      const refs: AccountRef[] = [
        ...neighbourhoodIds.map((id) => ({ kind: 'neighbourhood' as const, id })),
        ...memberIds.map((id) => ({ kind: 'member' as const, id })),
      ];
      const loaded = await loadAccounts(ctx, refs);
      found = refs
        .map((r) => loaded.get(r.kind === 'member' ? memberAccountId(r.id) : neighbourhoodAccountId(r.id)))
        .filter((a): a is Account => !!a)
        .slice(0, input.limit);
    }
  }
  const tag = /^#?([\p{L}\p{N}_]+)$/u.exec(text)?.[1]?.toLowerCase();
  return {
    accounts: found,
    statuses: want('statuses') && text && !handle ? (await timeline(ctx, { text }, { limit: input.limit })).map(publicStatus) : [],
    hashtags: want('hashtags') && tag ? [{ name: tag, url: new URL(`/tags/${encodeURIComponent(tag)}`, ctx.config.publicUrl).href, history: [] }] : [],
  };
}

/** `POST /api/v1/accounts`: an app registers a member and gets a token for them, with the app's scopes. */
export async function registerAccount(ctx: Context, app: oauth.App, input: { username: string; password: string }) {
  const member = await accounts.register(ctx.db, input, { registration: ctx.config.registration });
  return { member, token: await oauth.issueMemberToken(ctx.db, app, member.id, app.scopes.split(' ')) };
}

export const instanceCounts = (ctx: Context) => q.instanceCounts(ctx.db);

export async function viewerAccount(ctx: Context, viewer: Viewer) {
  const account = await accountById(ctx, memberAccountId(viewer.id));
  const member = await accounts.memberByUsername(ctx.db, viewer.username);
  return {
    ...account,
    source: { privacy: 'public', sensitive: false, language: '', note: member?.bio ?? '', fields: [], follow_requests_count: 0 },
    role: { id: '0', name: viewer.role, color: '', permissions: '0', highlighted: false },
  };
}
