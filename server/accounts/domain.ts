// Accounts: registration, passwords, and the opaque tokens that stand for a signed-in member.
import { createHash, randomBytes } from 'node:crypto';
import argon2 from 'argon2';
import type { RegistrationMode } from '../config.ts';
import type { Database } from '../database.ts';
import { AppError, badRequest, conflict, forbidden, tooManyRequests, unauthorized } from '../errors.ts';
import { WindowLimiter } from '../rate-limit.ts';
import * as q from './queries.ts';

export interface Viewer {
  id: number;
  username: string;
  role: 'member' | 'moderator' | 'admin';
  tokenId: number;
  /** Someone from another server whom staff here suspended (a suspended member here cannot sign in at all). */
  suspended?: true;
}

export type Member = NonNullable<Awaited<ReturnType<typeof q.findMemberById>>>;

/** Letters, digits and underscores, as Mastodon allows; the lower-case form is the unique key. */
const usernamePattern = /^[A-Za-z0-9_]{1,30}$/;
export const usernameKey = (username: string) => username.toLowerCase();

export function checkUsername(username: string): void {
  if (!usernamePattern.test(username)) {
    throw badRequest('A username is 1 to 30 letters, digits or underscores.', 'invalid_username');
  }
}

function checkPassword(password: string): void {
  // The upper bound keeps one guess cheap for us; argon2 cost dominates anyway.
  if (password.length < 8 || password.length > 256) {
    throw badRequest('A password is 8 to 256 characters.', 'invalid_password');
  }
}

// argon2id with OWASP's second recommended setting: 19 MiB, 2 passes.
const hashOptions = { type: argon2.argon2id, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

export async function register(
  db: Database,
  input: { username: string; password: string },
  options: { registration: RegistrationMode | 'admin'; role?: Member['role'] },
): Promise<Member> {
  if (options.registration === 'closed') throw forbidden('This instance is not taking new members.', 'registration_closed');
  checkUsername(input.username);
  checkPassword(input.password);
  const member = await q.insertMember(db, {
    username: input.username,
    usernameKey: usernameKey(input.username),
    passwordHash: await argon2.hash(input.password, hashOptions),
    role: options.role ?? 'member',
    status: options.registration === 'approval' ? 'pending' : 'active',
  });
  if (!member) throw conflict(`The name "${input.username}" is taken.`, 'username_taken');
  return member;
}

/** Tokens, codes and secrets are stored only as their SHA-256, so a leaked table grants nothing. */
export const hashToken = (token: string) => createHash('sha256').update(token).digest('hex');

export const newSecret = () => randomBytes(32).toString('base64url');

export async function issueToken(db: Database, memberId: number, kind: 'api' | 'session'): Promise<string> {
  return (await issueTokenWithId(db, memberId, kind)).token;
}

/** Also gives the token's row id, for features that attach something to the token (OAuth scopes). */
export async function issueTokenWithId(db: Database, memberId: number, kind: 'api' | 'session') {
  const token = newSecret();
  const { id } = await q.insertToken(db, memberId, hashToken(token), kind);
  return { token, id };
}

/** Failed sign-ins per address and per account name: either limit alone slows a guesser down. */
export class SignInLimits {
  readonly byAddress = new WindowLimiter(30, 15 * 60_000);
  readonly byName = new WindowLimiter(10, 15 * 60_000);
}

// Compared against when the name is unknown, so both cases cost the same time.
const decoyHash = argon2.hash('not a real password', hashOptions);

/** Checks a username and password; returns the member or throws 401/403/429. */
export async function checkCredentials(
  db: Database,
  limits: SignInLimits,
  credentials: { username: string; password: string; address: string },
): Promise<Member> {
  const { username, password, address } = credentials;
  const key = usernameKey(username);
  const wait = Math.max(limits.byAddress.retryAfter(address), limits.byName.retryAfter(key));
  if (wait > 0) {
    throw tooManyRequests(`Too many failed sign-ins; try again in ${wait} seconds.`, wait);
  }
  const row = password.length <= 256 ? await q.findMemberByKey(db, key) : undefined;
  const ok = await argon2.verify(row?.password_hash ?? (await decoyHash), password.slice(0, 256));
  if (!row || !ok) {
    limits.byAddress.hit(address);
    limits.byName.hit(key);
    throw unauthorized('That username and password do not match.');
  }
  limits.byName.reset(key);
  if (row.status === 'pending') throw forbidden('This account is waiting for approval by an admin.', 'account_pending');
  if (row.status === 'suspended') throw forbidden('This account is suspended.', 'account_suspended');
  const { password_hash: _, username_key: __, ...member } = row;
  return member;
}

export async function viewerFromToken(db: Database, token: string): Promise<Viewer | null> {
  const row = await q.findViewerByTokenHash(db, hashToken(token));
  if (!row || row.status !== 'active') return null;
  return { id: row.id, username: row.username, role: row.role, tokenId: row.token_id };
}

export const revokeToken = (db: Database, viewer: Viewer) => q.revokeToken(db, viewer.tokenId);

export async function memberByUsername(db: Database, username: string): Promise<Member | undefined> {
  const row = await q.findMemberByKey(db, usernameKey(username));
  if (!row) return undefined;
  const { password_hash: _, username_key: __, ...member } = row;
  return member;
}

export const listMembers = q.listMembers;

export async function setMemberStatus(db: Database, username: string, status: Member['status']): Promise<Member> {
  const member = await memberByUsername(db, username);
  if (!member) throw new AppError(404, 'not_found', `No member called ${username}.`);
  return (await q.updateMember(db, member.id, { status }))!;
}

/**
 * The member row standing for an author on another server, so their posts take the same paths as ours.
 * It has no password (no one signs in as it) and is named `name@host`, as the pages show it.
 */
export async function remoteMember(db: Database, author: { apId: string; handle: string; displayName: string }): Promise<Viewer> {
  const row = await q.upsertRemoteMember(db, { apId: author.apId, username: author.handle, displayName: author.displayName.slice(0, 200) });
  return { id: row.id, username: row.username, role: 'member', tokenId: 0, ...(row.status === 'suspended' && { suspended: true as const }) };
}

export const memberByApId = q.findMemberByApId;

/**
 * An account on another server was deleted there: its member row here stays (its name stays on what is
 * kept) but is marked suspended, as staff would mark it. Null when no one here knew it.
 */
export async function remoteAccountDeleted(db: Database, apId: string): Promise<Viewer | null> {
  const row = await q.findMemberByApId(db, apId);
  if (!row) return null;
  await q.updateMember(db, row.id, { status: 'suspended' });
  return { id: row.id, username: row.username, role: row.role, tokenId: 0 };
}
