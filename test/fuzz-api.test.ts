// Property test over the whole JSON API: whatever a client sends, the answer is never a 5xx,
// errors keep their shape, and nothing already stored changes when a request is refused.
import fc from 'fast-check';
import { eachDatabase, snapshot, startApp } from './helpers.ts';

const anyJson = fc.oneof(
  fc.jsonValue({ maxDepth: 4 }),
  fc.record({
    username: fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.constant('alice')),
    password: fc.oneof(fc.string(), fc.integer(), fc.constant(null)),
    handle: fc.oneof(fc.string(), fc.constant('park-road')),
    name: fc.string({ unit: 'binary' }),
    kind: fc.constantFrom('discussion', 'event', 'offer', 'want', 'story', 'other', ''),
    title: fc.oneof(fc.string({ unit: 'binary' }), fc.integer()),
    body: fc.oneof(fc.string({ unit: 'binary' }), fc.constant('<script>x</script>')),
    parentId: fc.oneof(fc.integer(), fc.double(), fc.string()),
    locality: fc.oneof(
      fc.record({ placeName: fc.string(), latitude: fc.oneof(fc.double(), fc.constant(null)), longitude: fc.double(), radiusMetres: fc.integer() }, { requiredKeys: [] }),
      fc.jsonValue(),
    ),
    event: fc.oneof(fc.record({ startsAt: fc.oneof(fc.date().map((d) => (Number.isNaN(d.getTime()) ? 'x' : d.toISOString())), fc.string()), endsAt: fc.string() }, { requiredKeys: [] }), fc.jsonValue()),
    exchange: fc.oneof(fc.record({ item: fc.string(), status: fc.string(), expiresAt: fc.string() }, { requiredKeys: [] }), fc.jsonValue()),
  }, { requiredKeys: [] }),
);

const segment = fc.oneof(fc.constantFrom('1', '0', '-1', 'park-road', 'alice', '99999999999', '%00', '..', 'a%2Fb'), fc.string({ maxLength: 20 }).map(encodeURIComponent));
const query = fc.dictionary(fc.constantFrom('q', 'latitude', 'longitude', 'withinMetres', 'limit', 'cursor', 'kind'), fc.string({ maxLength: 30 }), { maxKeys: 4 });

eachDatabase('API fuzzing', async (t, database) => {
  const { client, app } = await startApp(t, database);
  const alice = await client.signUp('alice');
  await alice.post('/api/neighbourhoods', { handle: 'park-road', name: 'Park Road', locality: { placeName: 'Walkley' } });
  const thread = await alice.post('/api/neighbourhoods/park-road/threads', { kind: 'discussion', title: 'Hello', body: 'World' });
  await alice.post(`/api/threads/${thread.body.thread.id}/replies`, { body: 'First' });

  const routes = Object.entries((app.swagger() as any).paths as Record<string, Record<string, unknown>>).flatMap(([path, methods]) =>
    Object.keys(methods).map((method) => ({ path, method: method.toUpperCase() as 'GET' | 'POST' | 'PATCH' | 'DELETE' })),
  // Event streams answer a good request with a response that never ends; mastodon-streaming.test.ts covers them.
  ).filter((route) => !/^\/api\/v1\/streaming\/(?!health$)/.test(route.path));
  t.ok(routes.length >= 15, `${routes.length} routes under test`);

  let requests = 0;
  const failures: string[] = [];
  await fc.assert(
    fc.asyncProperty(
      fc.constantFrom(...routes),
      fc.array(segment, { minLength: 2, maxLength: 2 }),
      query,
      anyJson,
      fc.boolean(),
      fc.constantFrom('application/json', 'application/json; charset=utf-8', 'application/x-www-form-urlencoded', 'text/plain'),
      async (route, [first, second], params, body, signedIn, contentType) => {
        let index = 0;
        const url = route.path.replace(/\{[^}]+\}/g, () => (index++ === 0 ? first! : second!)) + '?' + new URLSearchParams(params);
        const before = route.method === 'GET' ? undefined : await snapshot(database.db);
        const payload = contentType.startsWith('application/json') || typeof body !== 'string' ? JSON.stringify(body) ?? '' : body;
        const response = await (signedIn ? alice : client).request(route.method, url, route.method === 'GET' ? undefined : payload, { 'content-type': contentType });
        requests++;
        const request = `${route.method} ${url} ${payload.slice(0, 200)} -> ${response.status} ${JSON.stringify(response.body).slice(0, 300)}`;
        let problem: string | undefined;
        if (response.status >= 500) problem = 'a server error';
        else if (response.status >= 400) {
          if (typeof response.body !== 'object' || typeof response.body.error !== 'string' || typeof response.body.message !== 'string') {
            problem = 'no error shape';
          } else if (before !== undefined && JSON.stringify(await snapshot(database.db)) !== JSON.stringify(before)) {
            problem = 'refused, but stored data changed';
          }
        }
        if (problem) failures.push(`${problem}: ${request}`);
        return !problem;
      },
    ),
    { numRuns: 400, seed: Number(process.env.FUZZ_SEED ?? 20261122) },
  ).catch(() => {});
  t.same(failures, [], `${requests} requests, none answered 5xx or changed data when refused`);
});
