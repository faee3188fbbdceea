// Two Square Mile instances on loopback, each with its own domain and database, finding each other's
// members and neighbourhoods and following across over real HTTP with real signatures.
import { findRemoteActor } from '../federation/delivery.ts';
import { eachDatabase } from './helpers.ts';
import { anotherDatabase, collectionIds, getJson, startInstance } from './instances.ts';
import { eventually } from './remote-server.ts';

eachDatabase('two instances', async (t, database) => {
  const a = await startInstance(t, database);
  let b = await startInstance(t, await anotherDatabase(t, database));
  const bHost = new URL(b.url).host;
  const aHost = new URL(a.url).host;
  const robin = await a.client.signUp('robin');
  const kim = await a.client.signUp('kim');
  const sam = await b.client.signUp('sam');
  await sam.post('/api/neighbourhoods', {
    handle: 'park-road',
    name: 'Park Road',
    description: 'Streets around the park',
    locality: { placeName: 'Walkley, Sheffield', latitude: 53.3925, longitude: -1.4985, radiusMetres: 800 },
  });
  await sam.post('/api/neighbourhoods', { handle: 'mill-lane', name: 'Mill Lane', locality: { placeName: 'Hillsborough' } });
  t.equal((await sam.request('PUT', '/api/neighbourhoods/mill-lane/admission', { admission: 'approval' })).status, 200);
  const parkRoad = `${b.url}/neighbourhoods/park-road`;
  const followState = async (client: typeof robin, uri: string) =>
    (await client.get('/api/following')).body.following.find((f: { account: { uri: string } }) => f.account.uri === uri)?.state;

  await t.test('each finds the other\u2019s members and neighbourhoods by WebFinger', async (t) => {
    const group = await findRemoteActor(a.app.federation.context(), `@park-road@${bHost}`);
    t.match(group, { uri: parkRoad, type: 'Group', handle: `park-road@${bHost}`, name: 'Park Road', inbox: `${parkRoad}/inbox`, shared_inbox: `${b.url}/inbox` });
    const person = await findRemoteActor(a.app.federation.context(), `sam@${bHost}`);
    t.match(person, { uri: `${b.url}/members/sam`, type: 'Person' });
    const back = await findRemoteActor(b.app.federation.context(), `@robin@${aHost}`);
    t.match(back, { uri: `${a.url}/members/robin`, type: 'Person', inbox: `${a.url}/members/robin/inbox` });

    const document = await getJson(parkRoad, 'application/ld+json; profile="https://www.w3.org/ns/activitystreams"');
    t.match(document, {
      type: 'Group',
      preferredUsername: 'park-road',
      location: { type: 'Place', name: 'Walkley, Sheffield', latitude: 53.3925, longitude: -1.4985, radius: 800, units: 'm' },
      attributedTo: `${parkRoad}/moderators`,
      followers: `${parkRoad}/followers`,
      outbox: `${parkRoad}/outbox`,
      endpoints: { sharedInbox: `${b.url}/inbox` },
      publicKey: { id: `${parkRoad}#main-key`, owner: parkRoad },
    });
    t.equal(document.assertionMethod.length, 2, 'RSA and Ed25519 keys are both published as Multikeys');
    t.same(await collectionIds(`${parkRoad}/moderators`), [`${b.url}/members/sam`]);
  });

  await t.test('a member follows a neighbourhood elsewhere and the Accept arrives', async (t) => {
    const response = await robin.post('/api/following', { account: `@park-road@${bHost}` });
    t.equal(response.status, 202);
    t.equal(response.body.follow.state, 'pending');
    await eventually(async () => (await followState(robin, parkRoad)) === 'accepted', 15_000, 'the Accept');
    t.same(await collectionIds(`${parkRoad}/followers`), [`${a.url}/members/robin`]);
    t.same(await collectionIds(`${a.url}/members/robin/following`), [parkRoad]);
    const again = await robin.post('/api/following', { account: `@park-road@${bHost}` });
    t.equal(again.body.follow.state, 'accepted', 'following twice changes nothing');
  });

  await t.test('Undo takes the member out of the followers', async (t) => {
    const { following } = (await robin.get('/api/following')).body;
    t.equal((await robin.delete(`/api/following/${following[0].id}`)).status, 204);
    await eventually(async () => (await collectionIds(`${parkRoad}/followers`)).length === 0, 15_000, 'the Undo');
    t.same(await collectionIds(`${a.url}/members/robin/following`), []);
    t.equal((await robin.delete(`/api/following/${following[0].id}`)).status, 404);
  });

  await t.test('a neighbourhood that admits by approval holds requests for its moderators', async (t) => {
    const millLane = `${b.url}/neighbourhoods/mill-lane`;
    await robin.post('/api/following', { account: `@mill-lane@${bHost}` });
    await kim.post('/api/following', { account: millLane });
    const requests = await eventually(async () => {
      const list = (await sam.get('/api/neighbourhoods/mill-lane/follow-requests')).body.requests;
      return list.length === 2 && list;
    }, 15_000, 'two follow requests');
    t.same(await collectionIds(`${millLane}/followers`), [], 'nobody follows until a moderator decides');
    const byUri = (uri: string) => requests.find((r: { account: { uri: string } }) => r.account.uri === uri).id;
    t.equal((await sam.post(`/api/neighbourhoods/mill-lane/follow-requests/${byUri(`${a.url}/members/robin`)}`, { decision: 'accept' })).status, 200);
    t.equal((await sam.post(`/api/neighbourhoods/mill-lane/follow-requests/${byUri(`${a.url}/members/kim`)}`, { decision: 'reject' })).status, 200);
    await eventually(async () => (await followState(robin, millLane)) === 'accepted', 15_000, 'robin accepted');
    await eventually(async () => (await followState(kim, millLane)) === undefined, 15_000, 'kim rejected');
    t.same(await collectionIds(`${millLane}/followers`), [`${a.url}/members/robin`]);
    const outsider = await b.client.signUp('outsider');
    t.equal((await outsider.get('/api/neighbourhoods/mill-lane/follow-requests')).status, 403, 'only moderators see requests');
  });

  await t.test('a member follows a person on the other instance', async (t) => {
    await sam.post('/api/following', { account: `@robin@${aHost}` });
    await eventually(async () => (await followState(sam, `${a.url}/members/robin`)) === 'accepted', 15_000, 'the Accept');
    t.same(await collectionIds(`${a.url}/members/robin/followers`), [`${b.url}/members/sam`]);
  });

  await t.test('a delivery to an instance that is down is retried and arrives when it is back', async (t) => {
    await b.stop();
    t.equal((await kim.post('/api/following', { account: `@park-road@${bHost}` })).status, 202, 'the follow is queued while the server is down');
    const pending = async () => (await a.database.db.selectFrom('federation_jobs').select('id').execute()).length;
    await new Promise((resolve) => setTimeout(resolve, 1500));
    t.ok((await pending()) > 0, 'the delivery waits in the queue');
    t.equal(await followState(kim, parkRoad), 'pending');
    b = await b.restart();
    await eventually(async () => (await followState(kim, parkRoad)) === 'accepted', 30_000, 'the retried delivery');
    t.ok((await collectionIds(`${parkRoad}/followers`)).includes(`${a.url}/members/kim`));
  });
});
