// Every SQL statement about members and their access tokens.
import type { Database, MembersTable } from '../database.ts';
import type { Selectable } from 'kysely';

export type MemberRow = Selectable<MembersTable>;

const publicColumns = ['id', 'username', 'display_name', 'bio', 'role', 'status', 'created_at'] as const;

export function findMemberByKey(db: Database, usernameKey: string) {
  return db.selectFrom('members').selectAll().where('username_key', '=', usernameKey).executeTakeFirst();
}

export function findMemberById(db: Database, id: number) {
  return db.selectFrom('members').select(publicColumns).where('id', '=', id).executeTakeFirst();
}

export function insertMember(
  db: Database,
  member: { username: string; usernameKey: string; passwordHash: string; role: MemberRow['role']; status: MemberRow['status'] },
) {
  // Members and neighbourhoods share one namespace of handles (`@name@domain` must name one actor).
  return db.transaction().execute(async (trx) => {
    const neighbourhoodHasName = await trx.selectFrom('neighbourhoods').select('id').where('handle_key', '=', member.usernameKey).executeTakeFirst();
    if (neighbourhoodHasName) return undefined;
    return trx
      .insertInto('members')
      .values({
        username: member.username,
        username_key: member.usernameKey,
        password_hash: member.passwordHash,
        role: member.role,
        status: member.status,
      })
      .onConflict((oc) => oc.column('username_key').doNothing())
      .returning(publicColumns)
      .executeTakeFirst();
  });
}

export function updateMember(db: Database, id: number, changes: Partial<Pick<MemberRow, 'role' | 'status' | 'display_name' | 'bio'>>) {
  return db.updateTable('members').set(changes).where('id', '=', id).returning(publicColumns).executeTakeFirst();
}

export function listMembers(db: Database) {
  return db.selectFrom('members').select(publicColumns).orderBy('id').execute();
}

export function insertToken(db: Database, memberId: number, tokenHash: string, kind: 'api' | 'session') {
  return db
    .insertInto('access_tokens')
    .values({ member_id: memberId, token_hash: tokenHash, kind, revoked_at: null })
    .returning('id')
    .executeTakeFirstOrThrow();
}

export function findViewerByTokenHash(db: Database, tokenHash: string) {
  return db
    .selectFrom('access_tokens')
    .innerJoin('members', 'members.id', 'access_tokens.member_id')
    .select(['members.id', 'members.username', 'members.role', 'members.status', 'access_tokens.id as token_id'])
    .where('access_tokens.token_hash', '=', tokenHash)
    .where('access_tokens.revoked_at', 'is', null)
    .executeTakeFirst();
}

export function revokeToken(db: Database, tokenId: number) {
  return db.updateTable('access_tokens').set({ revoked_at: new Date() }).where('id', '=', tokenId).execute();
}

/** A remote author's member row, created on first sight and renamed when their actor is renamed. */
export function upsertRemoteMember(db: Database, member: { apId: string; username: string; displayName: string }) {
  return db
    .insertInto('members')
    .values({ ap_id: member.apId, username: member.username, username_key: member.username.toLowerCase(), display_name: member.displayName, password_hash: null })
    .onConflict((oc) => oc.column('ap_id').doUpdateSet({ display_name: member.displayName }))
    .returning(['id', 'username', 'role', 'status'])
    .executeTakeFirstOrThrow();
}

export function findMemberByApId(db: Database, apId: string) {
  return db.selectFrom('members').select(['id', 'username', 'role', 'status']).where('ap_id', '=', apId).executeTakeFirst();
}
