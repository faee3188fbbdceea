// Every SQL statement about local actors' key pairs.
import { sql } from 'kysely';
import type { webcrypto } from 'node:crypto';
import type { ActorKeysTable, Database } from '../database.ts';

export function keysOf(db: Database, actor: string) {
  return db.selectFrom('actor_keys').select(['algorithm', 'public_jwk', 'private_jwk']).where('actor', '=', actor).orderBy('algorithm', 'desc').execute();
}

/** Stores the key unless the actor already has one of that algorithm (two requests may race to create it). */
export async function insertKey(db: Database, actor: string, algorithm: ActorKeysTable['algorithm'], publicJwk: webcrypto.JsonWebKey, privateJwk: webcrypto.JsonWebKey) {
  await db
    .insertInto('actor_keys')
    .values({
      actor,
      algorithm,
      public_jwk: sql`${JSON.stringify(publicJwk)}::jsonb`,
      private_jwk: sql`${JSON.stringify(privateJwk)}::jsonb`,
    })
    .onConflict((oc) => oc.columns(['actor', 'algorithm']).doNothing())
    .execute();
}
