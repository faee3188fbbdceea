// Following neighbourhoods, here or (once federation resolves them) elsewhere, and grouping them into named sets.
// Following is reading: it never lets anyone post; joining a neighbourhood does that, and joining also follows.
import { randomBytes } from 'node:crypto';
import type { Viewer } from '../accounts/domain.ts';
import type { Config } from '../config.ts';
import type { Database } from '../database.ts';
import { AppError, badRequest, conflict, notFound } from '../errors.ts';
import * as neighbourhoods from '../neighbourhoods/domain.ts';
import * as q from './queries.ts';

/** How a member names a neighbourhood: `@name@host`, `name@host`, a bare local handle, or its URL. */
export type NeighbourhoodReference = { local: string } | { remote: { name: string; host: string } } | { remoteUrl: URL };

/**
 * Looks up a neighbourhood on another instance and returns the id of its row in `neighbourhoods`.
 * Federation provides this; it throws an AppError (404 unknown, 502/504 unreachable) for what it cannot find.
 */
export interface RemoteNeighbourhoods {
  /** With a `follower`, that member's Follow is sent to it too. */
  resolve(reference: Exclude<NeighbourhoodReference, { local: string }>, follower?: Viewer): Promise<number>;
}

export function parseReference(text: string, config: Pick<Config, 'domain' | 'publicUrl'>): NeighbourhoodReference {
  const trimmed = text.trim();
  const handle = /^@?([A-Za-z0-9][A-Za-z0-9_-]*)@([A-Za-z0-9.-]+(?::\d{1,5})?)$/.exec(trimmed);
  if (handle) {
    const [, name, host] = handle as unknown as [string, string, string];
    return host.toLowerCase() === config.domain ? { local: name } : { remote: { name, host: host.toLowerCase() } };
  }
  if (/^[A-Za-z0-9][A-Za-z0-9_-]*$/.test(trimmed)) return { local: trimmed };
  let url: URL;
  try {
    url = new URL(trimmed);
  } catch {
    throw badRequest('Name a neighbourhood by its handle (@name@host) or its URL.', 'invalid_reference');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw badRequest('Only http and https URLs name neighbourhoods.', 'invalid_reference');
  if (url.origin !== config.publicUrl.origin) return { remoteUrl: url };
  const local = /^\/neighbourhoods\/([^/]+)\/?$/.exec(url.pathname);
  if (!local) throw badRequest('That URL on this instance is not a neighbourhood.', 'invalid_reference');
  return { local: decodeURIComponent(local[1]!) };
}

export async function resolveNeighbourhood(db: Database, reference: NeighbourhoodReference, remote: RemoteNeighbourhoods | undefined, follower?: Viewer) {
  if ('local' in reference) return neighbourhoods.neighbourhoodByHandle(db, reference.local);
  if (!remote) {
    throw new AppError(422, 'remote_not_supported', 'Following neighbourhoods on other instances is not available on this server yet.');
  }
  return neighbourhoods.neighbourhoodById(db, await remote.resolve(reference, follower));
}

export async function follow(db: Database, viewer: Viewer, neighbourhoodId: number) {
  const neighbourhood = await neighbourhoods.neighbourhoodById(db, neighbourhoodId);
  await q.insertFollow(db, viewer.id, neighbourhood.id);
  return neighbourhood;
}

/** A member may unfollow a neighbourhood they belong to: it leaves their home feed, and they still belong. */
export async function unfollow(db: Database, viewer: Viewer, neighbourhoodId: number): Promise<void> {
  if (!(await q.deleteFollow(db, viewer.id, neighbourhoodId))) throw notFound('That follow');
}

export const following = q.followedBy;
export const followedIds = q.followedIds;

export type NeighbourhoodSet = NonNullable<Awaited<ReturnType<typeof q.findSet>>>;

function checkSetName(name: string): string {
  const trimmed = name.trim();
  if (!trimmed) throw badRequest('A set needs a name.', 'invalid_name');
  return trimmed;
}

async function checkNeighbourhoodIds(db: Database, ids: number[]): Promise<number[]> {
  const unique = [...new Set(ids)];
  for (const id of unique) await neighbourhoods.neighbourhoodById(db, id);
  return unique;
}

/** The member's own set; anyone else's is reported missing rather than forbidden, so ids reveal nothing. */
export async function ownSet(db: Database, viewer: Pick<Viewer, 'id'>, id: number): Promise<NeighbourhoodSet> {
  const set = await q.findSet(db, id);
  if (!set || set.owner_id !== viewer.id) throw notFound('That set');
  return set;
}

export async function createSet(db: Database, viewer: Viewer, input: { name: string; shared: boolean; neighbourhoodIds: number[] }) {
  const ids = await checkNeighbourhoodIds(db, input.neighbourhoodIds);
  const set = await q.insertSet(db, { ownerId: viewer.id, name: checkSetName(input.name), shared: input.shared, shareKey: randomBytes(12).toString('base64url') });
  if (!set) throw conflict(`You already have a set called "${input.name.trim()}".`, 'set_name_taken');
  await q.replaceEntries(db, set, ids);
  return set;
}

export async function changeSet(db: Database, viewer: Viewer, id: number, changes: { name?: string; shared?: boolean; neighbourhoodIds?: number[] }) {
  const set = await ownSet(db, viewer, id);
  const name = changes.name === undefined ? undefined : checkSetName(changes.name);
  if (name !== undefined && name !== set.name && (await q.findSetByName(db, viewer.id, name))) {
    throw conflict(`You already have a set called "${name}".`, 'set_name_taken');
  }
  const ids = changes.neighbourhoodIds && (await checkNeighbourhoodIds(db, changes.neighbourhoodIds));
  const updated = name !== undefined || changes.shared !== undefined ? await q.updateSet(db, id, { name, shared: changes.shared }) : set;
  if (ids) await q.replaceEntries(db, set, ids);
  return updated;
}

export async function deleteSet(db: Database, viewer: Viewer, id: number): Promise<void> {
  await ownSet(db, viewer, id);
  await q.deleteSet(db, id);
}

export async function setsWithNeighbourhoods(db: Database, sets: NeighbourhoodSet[]) {
  const entries = await q.entriesOf(db, sets.map((s) => s.id));
  return sets.map((set) => ({ set, neighbourhoods: entries.filter((e) => e.set_id === set.id) }));
}

export const setsOf = q.setsOf;

export async function sharedSet(db: Database, shareKey: string) {
  const set = await q.findSetByShareKey(db, shareKey);
  if (!set || !set.shared) throw notFound('That set');
  return set;
}
