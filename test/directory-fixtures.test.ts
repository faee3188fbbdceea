// Groups from other software in the directory: a captured Lemmy community and its followers collection,
// moved onto a stand-in server, give its name and size; hand-written groups show how a `location` is read
// (radius units converted to metres, a point off the globe left out).
import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { eachDatabase } from './helpers.ts';
import { startInstance } from './instances.ts';
import { RemoteServer } from './remote-server.ts';

const fixtures = new URL('../../shared/fixtures/fediverse/', import.meta.url);
const AS = ['https://www.w3.org/ns/activitystreams', 'https://w3id.org/security/v1'];

eachDatabase('groups from other software in the directory', async (t, database) => {
  const a = await startInstance(t, database);
  const remote = await RemoteServer.start(t);
  const host = new URL(remote.origin).host;
  const moved = async (path: string, id: string) => {
    const text = (await readFile(new URL(path, fixtures), 'utf8')).replace(/https?:\/\/enterprise\.lemmy\.ml/g, remote.origin);
    return { '@context': AS, ...JSON.parse(text), id };
  };
  const community = `${remote.origin}/c/tenforward`;
  remote.serve('/c/tenforward', await moved('lemmy/objects/group.json', community));
  // The capture is of another community's followers; only its count matters here.
  remote.serve('/c/tenforward/followers', await moved('lemmy/collections/group_followers.json', `${community}/followers`));
  const handmade = (name: string, location: Record<string, unknown>) => {
    const id = `${remote.origin}/groups/${name}`;
    remote.serve(`/groups/${name}`, { '@context': AS, id, type: 'Group', preferredUsername: name, name, inbox: `${id}/inbox`, location: { type: 'Place', ...location } });
  };
  handmade('kelham', { name: 'Kelham Island', latitude: 53.3906, longitude: -1.4736, radius: 1.5, units: 'km' });
  handmade('offworld', { name: 'Off world', latitude: 200, longitude: 0, radius: 100 });
  const accounts: Record<string, string> = { tenforward: community, kelham: `${remote.origin}/groups/kelham`, offworld: `${remote.origin}/groups/offworld` };
  remote.routes.set('/.well-known/webfinger', (req: IncomingMessage, res: ServerResponse) => {
    const resource = new URL(req.url!, remote.origin).searchParams.get('resource') ?? '';
    const href = accounts[/^acct:([^@]+)@/.exec(resource)?.[1] ?? ''];
    if (!href) return res.writeHead(404).end();
    res.writeHead(200, { 'content-type': 'application/jrd+json' }).end(JSON.stringify({ subject: resource, links: [{ rel: 'self', type: 'application/activity+json', href }] }));
  });
  const ann = await a.client.signUp('ann');
  const lookUp = async (name: string) => (await ann.get(`/api/directory?q=${encodeURIComponent(`@${name}@${host}`)}`)).body.neighbourhoods[0];

  await t.test('a Lemmy community: its name, its server, and its followers as its size', async (t) => {
    t.match(await lookUp('tenforward'), {
      fullHandle: `@tenforward@${host}`,
      name: 'Ten Forward',
      url: community,
      instance: { domain: host, local: false },
      locality: { placeName: host, latitude: null, longitude: null, radiusMetres: null },
      memberCount: 3,
    });
  });

  await t.test('a location with its radius in kilometres', async (t) => {
    t.same((await lookUp('kelham')).locality, { placeName: 'Kelham Island', latitude: 53.3906, longitude: -1.4736, radiusMetres: 1500 });
    t.same((await lookUp('offworld')).locality, { placeName: 'Off world', latitude: null, longitude: null, radiusMetres: null });
    const near = (await ann.get('/api/directory?latitude=53.39&longitude=-1.47')).body.neighbourhoods;
    t.same(near.map((n: { name: string }) => n.name), ['kelham'], 'only the one with a point is measured');
  });
});
