// Every SQL statement about OAuth apps, authorization codes, and the scopes granted with each token.
import type { Insertable, Selectable } from 'kysely';
import type { Database, OAuthAppsTable, OAuthCodesTable } from '../database.ts';

export type AppRow = Selectable<OAuthAppsTable>;

export function insertApp(db: Database, values: Insertable<OAuthAppsTable>) {
  return db.insertInto('oauth_apps').values(values).returningAll().executeTakeFirstOrThrow();
}

export function findAppByClientId(db: Database, clientId: string) {
  return db.selectFrom('oauth_apps').selectAll().where('client_id', '=', clientId).executeTakeFirst();
}

export function insertCode(db: Database, values: Insertable<OAuthCodesTable>) {
  return db.insertInto('oauth_codes').values(values).execute();
}

/** Removes and returns the code in one statement, so two exchanges of the same code cannot both succeed. */
export function takeCode(db: Database, codeHash: string) {
  return db.deleteFrom('oauth_codes').where('code_hash', '=', codeHash).returningAll().executeTakeFirst();
}

export function deleteExpiredCodes(db: Database, now: Date) {
  return db.deleteFrom('oauth_codes').where('expires_at', '<', now).execute();
}

export function insertGrant(db: Database, accessTokenId: number, appId: number, scopes: string) {
  return db.insertInto('oauth_grants').values({ access_token_id: accessTokenId, app_id: appId, scopes }).execute();
}

export function findGrant(db: Database, accessTokenId: number) {
  return db
    .selectFrom('oauth_grants')
    .innerJoin('oauth_apps', 'oauth_apps.id', 'oauth_grants.app_id')
    .select(['oauth_grants.scopes', 'oauth_apps.id', 'oauth_apps.client_id', 'oauth_apps.name', 'oauth_apps.website'])
    .where('oauth_grants.access_token_id', '=', accessTokenId)
    .executeTakeFirst();
}

export function insertAppToken(db: Database, appId: number, tokenHash: string, scopes: string) {
  return db.insertInto('oauth_app_tokens').values({ app_id: appId, token_hash: tokenHash, scopes, revoked_at: null }).execute();
}

export function findAppToken(db: Database, tokenHash: string) {
  return db
    .selectFrom('oauth_app_tokens')
    .innerJoin('oauth_apps', 'oauth_apps.id', 'oauth_app_tokens.app_id')
    .select([
      'oauth_app_tokens.id as token_id',
      'oauth_app_tokens.scopes',
      'oauth_apps.id',
      'oauth_apps.client_id',
      'oauth_apps.name',
      'oauth_apps.website',
    ])
    .where('oauth_app_tokens.token_hash', '=', tokenHash)
    .where('oauth_app_tokens.revoked_at', 'is', null)
    .executeTakeFirst();
}

export function revokeAppToken(db: Database, id: number) {
  return db.updateTable('oauth_app_tokens').set({ revoked_at: new Date() }).where('id', '=', id).execute();
}
