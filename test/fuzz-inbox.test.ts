// Property test over the inboxes: real activities from other fediverse software, mutated (wrong types,
// unicode edge cases, duplicate and self-referencing ids, deep nesting, huge arrays), signed by a stand-in
// remote actor so they pass verification and reach the handlers. Whatever arrives: never a 5xx, the server
// keeps answering, and nothing is stored but what that actor may legitimately cause (a follow of ours).
import { readdirSync, readFileSync } from 'node:fs';
import fc from 'fast-check';
import { eachDatabase } from './helpers.ts';
import { startInstance } from './instances.ts';
import { eventually, postSigned, RemoteServer } from './remote-server.ts';

const fixtureRoot = new URL('../../shared/fixtures/fediverse/', import.meta.url);
/** Every activity fixture, found under each software's `activities/` folder (some nest further). */
function activityFixtures(): unknown[] {
  const found: unknown[] = [];
  let software: string[];
  try {
    software = readdirSync(fixtureRoot);
  } catch {
    return found;
  }
  for (const name of software) {
    const dir = new URL(`${name}/activities/`, fixtureRoot);
    let files: string[];
    try {
      files = readdirSync(dir, { recursive: true }) as string[];
    } catch {
      continue;
    }
    for (const file of files.filter((f) => f.endsWith('.json'))) {
      try {
        found.push(JSON.parse(readFileSync(new URL(file, dir), 'utf8')));
      } catch {
        // not JSON: nothing to learn from it here
      }
    }
  }
  return found;
}

/** Every string `value` holds, run through `change`; keys too when `keys` is set. */
function mapStrings(value: unknown, change: (text: string) => string): unknown {
  if (typeof value === 'string') return change(value);
  if (Array.isArray(value)) return value.map((item) => mapStrings(item, change));
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, mapStrings(v, change)]));
  return value;
}

const AS = 'https://www.w3.org/ns/activitystreams';
const unicode = fc.constantFrom('\u0000', '\ud800', '\udfff', '\u202e', '\u200b', '\ufeff', 'e\u0301', '\u{1F3E1}'.repeat(500), '\uFFFF', 'Ω'.repeat(3000));

eachDatabase('inbox fuzzing', async (t, database) => {
  const ours = await startInstance(t, database);
  const sam = await ours.client.signUp('sam');
  await sam.post('/api/neighbourhoods', { handle: 'park-road', name: 'Park Road', locality: { placeName: 'Walkley' } });
  const group = `${ours.url}/neighbourhoods/park-road`;
  const remote = await RemoteServer.start(t);
  const mallory = await remote.actor('mallory');
  // A fuzzed activity may well be a valid post by the stand-in's actor, which group federation then
  // stores as theirs; what must never appear is anything local, or anything claiming another origin.
  const tables = async () => {
    const db = database.db;
    const count = async (table: 'threads' | 'replies' | 'members' | 'neighbourhoods') =>
      (await db
        .selectFrom(table)
        .select((e) => e.fn.countAll<number>().as('n'))
        .where((e) => e.or([e('ap_id', 'is', null), e('ap_id', 'not like', `${remote.origin}/%`)]))
        .executeTakeFirstOrThrow()).n;
    return { threads: await count('threads'), replies: await count('replies'), members: await count('members'), neighbourhoods: await count('neighbourhoods') };
  };
  const before = await tables();

  // Every URL in a fixture is moved onto the stand-in server, so nothing we fetch leaves loopback; the
  // contexts are the ones Fedify has built in, for the same reason.
  const fixtures = activityFixtures().map((fixture) => ({
    ...(mapStrings(fixture, (s) => s.replace(/https?:\/\/[^/\s"']+/g, remote.origin)) as Record<string, unknown>),
    '@context': [AS, 'https://w3id.org/security/v1'],
  }));
  t.ok(fixtures.length >= 20, `${fixtures.length} activity fixtures`);

  const deep = fc.integer({ min: 50, max: 3000 }).map((depth) => {
    let value: unknown = 'bottom';
    for (let i = 0; i < depth; i++) value = i % 2 ? [value] : { type: 'Note', content: value };
    return value;
  });
  const mutation = fc.oneof(
    fc.record({ key: fc.constantFrom('type', 'id', 'object', 'to', 'cc', 'content', 'published', 'tag', 'inReplyTo', 'name'), value: fc.oneof(fc.jsonValue({ maxDepth: 3 }), unicode, fc.integer(), fc.constant(null)) }),
    fc.record({ key: fc.constantFrom('object', 'tag', 'to', 'attachment'), value: deep }),
    fc.record({ key: fc.constantFrom('to', 'cc', 'tag', 'attachment'), value: fc.integer({ min: 1000, max: 20_000 }).map((n) => Array.from({ length: n }, (_, i) => `${remote.origin}/x/${i}`)) }),
    fc.record({ key: fc.constant('object'), value: fc.constantFrom(group, `${ours.url}/actor`, `${ours.url}/members/sam`, `${ours.url}/threads/1`) }),
    fc.record({ key: fc.constant('self'), value: fc.constant(null) }),
  );
  const activity = fc.record({
    fixture: fc.constantFrom(...fixtures),
    mutations: fc.array(mutation, { maxLength: 3 }),
    reuseId: fc.oneof(fc.constant(null), fc.constantFrom(`${remote.origin}/activities/dup`, group)),
  }).map(({ fixture, mutations, reuseId }) => {
    const body: Record<string, unknown> = { ...fixture, actor: mallory.id };
    for (const { key, value } of mutations) {
      // 'self': a cycle by id reuse, the object and its reply target naming the activity itself.
      if (key === 'self') body.object = { id: body.id, type: 'Note', inReplyTo: body.id, attributedTo: mallory.id };
      else body[key] = value;
    }
    if (reuseId) body.id = reuseId;
    return body;
  });

  const statuses = new Map<number, number>();
  await fc.assert(
    fc.asyncProperty(activity, fc.constantFrom(`${ours.url}/inbox`, `${group}/inbox`), async (body, inbox) => {
      const response = await postSigned(inbox, body, mallory);
      statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
      if (response.status >= 500) throw new Error(`${response.status}: ${response.body.slice(0, 300)}`);
    }),
    { numRuns: Number(process.env.FUZZ_RUNS ?? 60) },
  );
  t.comment(`answers: ${JSON.stringify(Object.fromEntries(statuses))}`);
  t.ok(statuses.get(202), 'some activities got through verification to the handlers');

  // The queued handlers have run (or failed, and been logged and scheduled for a retry).
  await eventually(async () => (await database.db.selectFrom('federation_jobs').select('id').where('run_at', '<=', new Date()).execute()).length === 0, 20_000, 'the queue to drain');
  t.equal((await ours.client.request('GET', '/healthz')).status, 200, 'the server still answers');
  t.same(await tables(), before, 'no local posts, members or neighbourhoods were made, nor any from another origin');
  const actors = await database.db.selectFrom('remote_actors').select('uri').execute();
  t.ok(actors.every((a) => a.uri.startsWith(remote.origin)), 'only actors of the stand-in server are known');
  const follows = await database.db.selectFrom('remote_follows').selectAll().execute();
  t.ok(follows.length <= 1, 'at most mallory’s one follow of the neighbourhood');
});
