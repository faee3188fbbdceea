// Local actors' key pairs: an RSA key for HTTP signatures (draft-cavage and RFC 9421) and an Ed25519 key
// for object integrity proofs (FEP-8b32). Made the first time an actor is asked for, then kept.
import { webcrypto } from 'node:crypto';
import { exportJwk, generateCryptoKeyPair, importJwk } from '@fedify/fedify';
import type { Database } from '../database.ts';
import * as q from './queries.ts';

/** Names a local actor in the key table: `member:<id>`, `neighbourhood:<id>` or `instance`. */
export type ActorKeyOwner = `member:${number}` | `neighbourhood:${number}` | 'instance';

const algorithms = [
  ['rsa', 'RSASSA-PKCS1-v1_5'],
  ['ed25519', 'Ed25519'],
] as const;

/**
 * RSA keys are 2048 bits, as Mastodon's and Lemmy's are, rather than Fedify's default of 4096: every
 * delivery is signed, and a 4096-bit signature costs about seven times as much. Keys made before keep
 * their size.
 */
const generate = (name: (typeof algorithms)[number][1]) =>
  name === 'RSASSA-PKCS1-v1_5'
    ? webcrypto.subtle.generateKey({ name, modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' }, true, ['sign', 'verify'])
    : generateCryptoKeyPair(name);

// Importing a JWK costs more than the lookup; the pairs never change once made.
const cache = new WeakMap<Database, Map<string, Promise<webcrypto.CryptoKeyPair[]>>>();

async function load(db: Database, actor: ActorKeyOwner): Promise<webcrypto.CryptoKeyPair[]> {
  let rows = await q.keysOf(db, actor);
  if (rows.length < algorithms.length) {
    for (const [algorithm, name] of algorithms) {
      if (rows.some((row) => row.algorithm === algorithm)) continue;
      const pair = await generate(name);
      await q.insertKey(db, actor, algorithm, await exportJwk(pair.publicKey), await exportJwk(pair.privateKey));
    }
    rows = await q.keysOf(db, actor);
  }
  // RSA first: Fedify signs HTTP requests with the first RSA key it finds and publishes keys in this order.
  return Promise.all(
    rows.map(async (row) => ({
      publicKey: await importJwk(row.public_jwk, 'public'),
      privateKey: await importJwk(row.private_jwk, 'private'),
    })),
  );
}

export function keyPairsOf(db: Database, actor: ActorKeyOwner): Promise<webcrypto.CryptoKeyPair[]> {
  let perDb = cache.get(db);
  if (!perDb) cache.set(db, (perDb = new Map()));
  let pairs = perDb.get(actor);
  if (!pairs) {
    pairs = load(db, actor);
    perDb.set(actor, pairs);
    pairs.catch(() => perDb.delete(actor));
  }
  return pairs;
}
