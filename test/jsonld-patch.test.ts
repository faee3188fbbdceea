// The JSON-LD processor Fedify runs (jsonld's ESM bundle) carries our patch in patches/: a type-scoped
// context (a DataIntegrityProof's, say) is processed once per active context instead of being cloned and
// processed again at every node. These tests show the patch is in place and changes no output: every
// fixture from other software, and activities as we send them with both kinds of signature, expand,
// compact and canonicalise to the same result through the patched bundle as through jsonld's own
// unpatched sources, the first time and again once its caches are warm.
import { readdir, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { generateCryptoKeyPair, signJsonLd, signObject } from '@fedify/fedify';
import { Announce, Create, Note, Page, PUBLIC_COLLECTION, Source } from '@fedify/vocab';
import { preloadedContexts } from '@fedify/vocab-runtime';
// The bundle Fedify imports, through the same module it imports it from.
import patched from '@fedify/vocab-runtime/jsonld';
import t from 'tap';

const unpatched = createRequire(import.meta.url)('jsonld');
const fixtures = new URL('../../shared/fixtures/fediverse/', import.meta.url);
const compaction = ['https://www.w3.org/ns/activitystreams', 'https://w3id.org/security/v1', 'https://w3id.org/security/data-integrity/v1'];

/** Offline: known contexts from Fedify's preloaded set, unknown ones as empty (no network in tests). */
const documentLoader = async (url: string) => ({ contextUrl: null, documentUrl: url, document: preloadedContexts[url] ?? { '@context': {} } });

async function fixtureDocuments(): Promise<[string, unknown][]> {
  const found: [string, unknown][] = [];
  const walk = async (dir: URL, name: string) => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      if (entry.isDirectory()) await walk(new URL(`${entry.name}/`, dir), `${name}${entry.name}/`);
      else if (entry.name.endsWith('.json')) found.push([`${name}${entry.name}`, JSON.parse(await readFile(new URL(entry.name, dir), 'utf8'))]);
    }
  };
  await walk(fixtures, '');
  return found;
}

/** An activity as a neighbourhood sends it: Announce(Create(Page)) with an Ed25519 proof and a Linked Data signature. */
async function sentActivities(): Promise<[string, unknown][]> {
  const rsa = await generateCryptoKeyPair('RSASSA-PKCS1-v1_5');
  const ed25519 = await generateCryptoKeyPair('Ed25519');
  const group = new URL('https://here.example/neighbourhoods/park-road');
  const page = new Page({
    id: new URL('https://here.example/threads/1'), attribution: new URL('https://here.example/members/ada'), name: 'Tools to lend',
    content: '<p>A ladder and a drill.</p>', source: new Source({ content: 'A ladder and a drill.', mediaType: 'text/markdown' }),
    audience: group, tos: [group, PUBLIC_COLLECTION],
  });
  const create = new Create({ id: new URL('https://here.example/threads/1#create'), actor: page.attributionId, object: page, audience: group, tos: [group, PUBLIC_COLLECTION] });
  const note = new Note({ id: new URL('https://here.example/replies/2'), attribution: new URL('https://here.example/members/ada'), content: '<p>Still free.</p>', replyTarget: page.id, tos: [PUBLIC_COLLECTION] });
  const found: [string, unknown][] = [];
  for (const [name, inner] of [['Create(Page)', create], ['Note', note]] as const) {
    const announce = new Announce({ id: new URL(`${group.href}/announces/${name}`), actor: group, object: inner, tos: [PUBLIC_COLLECTION] });
    const proved = await signObject(announce, ed25519.privateKey, new URL(`${group.href}#ed25519`), { contextLoader: documentLoader });
    const json = await proved.toJsonLd({ format: 'compact', contextLoader: documentLoader });
    found.push([`Announce(${name}) with proof`, json]);
    found.push([`Announce(${name}) with proof and LD signature`, await signJsonLd(json, rsa.privateKey, new URL(`${group.href}#main-key`), { contextLoader: documentLoader })]);
  }
  return found;
}

async function outputs(jsonld: any, document: unknown) {
  const options = { documentLoader, safe: false };
  const attempt = async (run: () => Promise<unknown>) => {
    try {
      return JSON.stringify(await run());
    } catch (error) {
      return `error: ${(error as Error).message}`;
    }
  };
  return {
    expanded: await attempt(() => jsonld.expand(document, options)),
    compacted: await attempt(() => jsonld.compact(document, compaction, options)),
    canonical: await attempt(() => jsonld.canonize(document, { ...options, algorithm: 'URDNA2015', format: 'application/n-quads' })),
  };
}

t.test('the installed JSON-LD bundle carries the patch', async (t) => {
  const bundle = await readFile(createRequire(import.meta.url).resolve('jsonld/dist/jsonld.esm.js'), 'utf8');
  t.ok(bundle.includes('getProcessedUnpropagated'), 'npm install applied patches/ (patch-package)');
});

t.test('patched and unpatched JSON-LD agree on fixtures and on what we send, cold and warm', async (t) => {
  const documents = [...(await fixtureDocuments()), ...(await sentActivities())];
  t.ok(documents.length > 100, `${documents.length} documents`);
  let withProofs = 0;
  for (const round of ['cold', 'warm']) {
    for (const [name, document] of documents) {
      const [ours, theirs] = [await outputs(patched, document), await outputs(unpatched, document)];
      if (round === 'cold' && ours.canonical.includes('w3id.org/security#proof')) withProofs++;
      if (JSON.stringify(ours) !== JSON.stringify(theirs)) t.same(ours, theirs, `${name} (${round})`);
    }
  }
  t.ok(withProofs >= 4, `${withProofs} documents with proofs (type-scoped contexts) among them`);
  t.pass('every document gave the same expansion, compaction and canonical form');
});
