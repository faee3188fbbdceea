// Whether a new post waits for a moderator, and holding it. Threads and replies ask here before storing,
// whichever path they came by (pages, API, Mastodon API, federation); approving lives in domain.ts.
import type { Viewer } from '../accounts/domain.ts';
import type { Database, ThreadKind } from '../database.ts';
import { isSilencedHost } from '../domain-blocks/domain.ts';
import { AppError } from '../errors.ts';
import { plainText } from '../markdown.ts';
import * as neighbourhoods from '../neighbourhoods/domain.ts';
import * as q from './queries.ts';

/**
 * Thrown instead of returning the post: it is stored, but waits for a moderator. The API answers 202
 * Accepted with where the author can see it; pages say it is awaiting approval.
 */
export class HeldForApproval extends AppError {
  readonly heldId: number;
  constructor(heldId: number, neighbourhoodName: string) {
    super(202, 'held_for_approval', `Your post is awaiting approval by the moderators of ${neighbourhoodName}.`, { location: `/api/held-posts/${heldId}` });
    this.heldId = heldId;
  }
}

export interface Settings {
  holdFirstPosts: number;
  holdWords: string[];
}

export async function settingsOf(db: Database, neighbourhoodId: number): Promise<Settings> {
  const row = await q.findSettings(db, neighbourhoodId);
  return { holdFirstPosts: row?.hold_first_posts ?? 0, holdWords: row?.hold_words ?? [] };
}

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The first held word that appears in `text` as a whole word or phrase, case-insensitively. */
export function heldWordIn(text: string, words: string[]): string | undefined {
  return words.find((word) => new RegExp(`(^|[^\\p{L}\\p{N}])${escapeRegExp(word)}($|[^\\p{L}\\p{N}])`, 'iu').test(text));
}

/** A post's author's server, when it is on another one. */
async function authorHost(db: Database, author: Viewer): Promise<string | null> {
  const apId = await q.authorApId(db, author.id);
  return apId && URL.canParse(apId) ? new URL(apId).hostname : null;
}

/**
 * Why a post waits, or null when it goes straight out. Moderators (and instance staff) are never held;
 * a neighbourhood on another server moderates there.
 */
async function holdReason(db: Database, neighbourhood: neighbourhoods.Neighbourhood, author: Viewer, text: string): Promise<string | null> {
  if (neighbourhood.ap_id) return null;
  if (author.role === 'admin' || author.role === 'moderator') return null;
  if ((await neighbourhoods.roleIn(db, neighbourhood, author)) === 'moderator') return null;
  const host = await authorHost(db, author);
  if (host && (await isSilencedHost(db, host))) return `its server (${host}) is silenced`;
  const settings = await settingsOf(db, neighbourhood.id);
  const word = heldWordIn(text, settings.holdWords);
  if (word) return `it mentions \u201c${word}\u201d`;
  if (settings.holdFirstPosts > 0 && (await q.publishedPostCount(db, neighbourhood.id, author.id)) < settings.holdFirstPosts) {
    return `one of the author\u2019s first ${settings.holdFirstPosts} posts here`;
  }
  return null;
}

export interface Holdable {
  neighbourhood: neighbourhoods.Neighbourhood;
  author: Viewer;
  /** Set for a reply: the thread it answers. */
  threadId?: number;
  kind?: ThreadKind;
  title?: string;
  bodyHtml: string;
  apId?: string;
  /** What to post on approval, as the post's domain function takes it. */
  input: unknown;
}

/** Holds the post (throwing `HeldForApproval`) when its neighbourhood says it should wait; else returns. */
export async function holdIfNeeded(db: Database, post: Holdable): Promise<void> {
  const reason = await holdReason(db, post.neighbourhood, post.author, `${post.title ?? ''}\n${plainText(post.bodyHtml)}`);
  if (!reason) return;
  const id = await q.insertHeldPost(db, {
    neighbourhood_id: post.neighbourhood.id,
    author_id: post.author.id,
    thread_id: post.threadId ?? null,
    kind: post.kind ?? null,
    title: post.title ?? null,
    body_html: post.bodyHtml,
    reason,
    ap_id: post.apId ?? null,
    input: JSON.stringify(post.input) as never,
  });
  throw new HeldForApproval(id, post.neighbourhood.name);
}
