// Payloads captured from other fediverse software parse into our model: actors into remote-actor rows,
// and follow activities, moved onto a stand-in server and signed by its actor, drive our follows.
import { readdir, readFile } from 'node:fs/promises';
import { Object as APObject } from '@fedify/vocab';
import { preloadedContexts } from '@fedify/vocab-runtime';
import t from 'tap';
import { remoteActorFields } from '../federation/vocabulary.ts';
import { eachDatabase } from './helpers.ts';
import { collectionIds, startInstance } from './instances.ts';
import { eventually, postSigned, RemoteServer } from './remote-server.ts';

const fixtures = new URL('../../shared/fixtures/fediverse/', import.meta.url);
const AS = ['https://www.w3.org/ns/activitystreams', 'https://w3id.org/security/v1'];

async function fixture(path: string): Promise<any> {
  const json = JSON.parse(await readFile(new URL(path, fixtures), 'utf8'));
  // Some captures (Lemmy's) were stored without their @context; the live servers send one.
  return '@context' in json ? json : { '@context': AS, ...json };
}

/** Offline: known contexts from Fedify's preloaded set, unknown ones as empty (no network in tests). */
const offline = async (url: string) => ({ contextUrl: null, documentUrl: url, document: preloadedContexts[url] ?? { '@context': {} } });

t.test('person and group objects from other software become remote actors', async (t) => {
  const software = await readdir(fixtures);
  let checked = 0;
  for (const name of software) {
    for (const kind of ['person', 'group'] as const) {
      let json;
      try {
        json = await fixture(`${name}/objects/${kind}.json`);
      } catch {
        continue;
      }
      const object = await APObject.fromJsonLd(json, { documentLoader: offline, contextLoader: offline });
      const fields = remoteActorFields(object);
      t.ok(fields, `${name} ${kind} is an actor we can talk to`);
      t.match(fields, {
        uri: json.id,
        type: kind === 'person' ? 'Person' : 'Group',
        inbox: json.inbox,
        handle: `${json.preferredUsername}@${new URL(json.id).host}`,
      }, `${name} ${kind}`);
      if (json.endpoints?.sharedInbox) t.equal(fields!.shared_inbox, json.endpoints.sharedInbox, `${name} ${kind} shared inbox`);
      checked++;
    }
  }
  t.ok(checked >= 19, `${checked} actor fixtures checked`);
});

/** The fixture as text with its servers' URLs replaced, longest first, by ours. */
function transplant(json: unknown, replacements: [string, string][]): any {
  let text = JSON.stringify(json);
  for (const [from, to] of replacements.sort((x, y) => y[0].length - x[0].length)) text = text.split(from).join(to);
  return JSON.parse(text);
}

eachDatabase('follow activities from other software', async (t, database) => {
  const a = await startInstance(t, database);
  const robin = await a.client.signUp('robin');
  await robin.post('/api/neighbourhoods', { handle: 'park-road', name: 'Park Road', locality: { placeName: 'Walkley' } });
  const group = `${a.url}/neighbourhoods/park-road`;
  const remote = await RemoteServer.start(t);
  remote.serve('/schemas/litepub-0.1.jsonld', { '@context': { litepub: 'http://litepub.social/ns#', state: 'litepub:state' } });
  const followers = (actor: string) => collectionIds(`${actor}/followers`);

  await t.test('Lemmy: Follow, then Undo, of a neighbourhood', async (t) => {
    const alpha = await remote.actor('lemmy_alpha');
    const moved: [string, string][] = [['http://ds9.lemmy.ml/u/lemmy_alpha', alpha.id], ['http://enterprise.lemmy.ml/c/main', group], ['http://ds9.lemmy.ml', remote.origin]];
    const follow = transplant(await fixture('lemmy/activities/following/follow.json'), moved);
    t.equal((await postSigned(`${group}/inbox`, follow, alpha)).status, 202);
    await eventually(async () => (await followers(group)).includes(alpha.id), 10_000, 'the Lemmy follower');
    const undo = transplant(await fixture('lemmy/activities/following/undo_follow.json'), moved);
    t.equal((await postSigned(`${group}/inbox`, undo, alpha)).status, 202);
    await eventually(async () => !(await followers(group)).includes(alpha.id), 10_000, 'the Lemmy unfollow');
  });

  await t.test('Lemmy: Accept of our member\u2019s Follow', async (t) => {
    const main = await remote.actor('main', { type: 'Group' });
    t.equal((await robin.post('/api/following', { account: main.id })).status, 202);
    const sent = await eventually(() => remote.inboxPosts('Follow').find((post) => post.body.object === main.id), 10_000, 'our Follow');
    const accept = transplant(await fixture('lemmy/activities/following/accept.json'), [
      ['http://ds9.lemmy.ml/activities/follow/6abcd50b-b8ca-4952-86b0-a6dd8cc12866', sent.body.id],
      ['http://ds9.lemmy.ml/u/lemmy_alpha', `${a.url}/members/robin`],
      ['http://enterprise.lemmy.ml/c/main', main.id],
      ['http://enterprise.lemmy.ml', remote.origin],
    ]);
    t.equal((await postSigned(`${a.url}/members/robin/inbox`, accept, main)).status, 202);
    await eventually(async () => (await robin.get('/api/following')).body.following.some((f: any) => f.account.uri === main.id && f.state === 'accepted'), 10_000, 'the accepted follow');
  });

  await t.test('Mastodon: Follow of a neighbourhood', async (t) => {
    const asonix = await remote.actor('asonix');
    const follow = transplant(await fixture('mastodon/activities/follow.json'), [
      ['https://masto.asonix.dog/users/asonix', asonix.id],
      ['https://ds9.lemmy.ml/c/testcom', group],
      ['https://masto.asonix.dog', remote.origin],
    ]);
    t.equal((await postSigned(`${a.url}/inbox`, follow, asonix)).status, 202, 'through the shared inbox');
    await eventually(async () => (await followers(group)).includes(asonix.id), 10_000, 'the Mastodon follower');
  });

  await t.test('Pleroma: Follow of a member, with its LitePub context', async (t) => {
    const kinetix = await remote.actor('kinetix');
    const follow = transplant(await fixture('pleroma/activities/follow.json'), [
      ['https://mycrowd.ca/users/kinetix', kinetix.id],
      ['https://lemmy.ca/u/kinetix', `${a.url}/members/robin`],
      ['https://mycrowd.ca', remote.origin],
    ]);
    t.equal((await postSigned(`${a.url}/members/robin/inbox`, follow, kinetix)).status, 202);
    await eventually(async () => (await followers(`${a.url}/members/robin`)).includes(kinetix.id), 10_000, 'the Pleroma follower');
  });
});
