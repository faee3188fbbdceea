// Reading: a thread of 50 posts through the API and as an HTML page (for a visitor, and for a neighbour
// signed in), and the home feed of a member who
// follows 500 neighbourhoods, 10 readers at once; with a small database and again after growing it to
// BENCH_GROWTH_POSTS posts (default 1,000,000; quick 100,000) and 10,000 remote actors, so any query
// without a fitting index shows up as the difference. Also the public feed, a neighbourhood's thread list
// and a directory search. The bulk rows are inserted with INSERT ... SELECT generate_series, with triggers
// off (no live events for seeded posts).
import pg from 'pg';
import { callJson } from '../test/processes.ts';
import { format, freshDatabase, load, measureCpu, quick, report, sampleMemory, startBenchServer } from './lib.ts';

const growthPosts = Number(process.env.BENCH_GROWTH_POSTS ?? (quick ? 100_000 : 1_000_000));
const seconds = quick ? 3 : 10;
const neighbourhoodCount = 1000;
const database = await freshDatabase();
const server = await startBenchServer(database.url);
const admin = new pg.Client({ connectionString: database.url });
try {
  await admin.connect();
  const call = (method: string, path: string, body?: unknown, token?: string) => callJson(server.url, method, path, body, token);
  await call('POST', '/api/accounts', { username: 'reader', password: 'a long enough password' });
  const { token } = (await call('POST', '/api/tokens', { username: 'reader', password: 'a long enough password' })).body;
  await call('POST', '/api/neighbourhoods', { handle: 'bench', name: 'Bench', locality: { placeName: 'Here' } }, token);
  const { body: created } = await call('POST', '/api/neighbourhoods/bench/threads', { kind: 'discussion', title: 'A long thread', body: 'Fifty posts follow.' }, token);
  const threadId = created.thread.id as number;
  // A neighbour who joined reads the thread signed in: like buttons, report links and reply links on every post.
  await call('POST', '/api/accounts', { username: 'neighbour', password: 'a long enough password' });
  const { token: neighbourToken } = (await call('POST', '/api/tokens', { username: 'neighbour', password: 'a long enough password' })).body;
  await call('POST', '/api/neighbourhoods/bench/members', undefined, neighbourToken);
  let parentId: number | undefined;
  for (let i = 0; i < 49; i++) {
    const { body } = await call('POST', `/api/threads/${threadId}/replies`, { body: `Reply ${i}: **some** words, [a link](https://example.org/${i}) and more words.`, ...(i % 3 === 2 && parentId && { parentId }) }, token);
    parentId = body.reply?.id ?? parentId;
  }

  // Bulk rows, in one transaction, with triggers off.
  const seed = async (remoteActors: number, threads: number, replies: number) => {
    await admin.query('begin');
    await admin.query(`set local session_replication_role = replica`);
    if (remoteActors) {
      await admin.query(`insert into remote_actors (uri, host, handle, type, name, inbox, shared_inbox)
        select 'https://r' || (g % 500) || '.example/users/u' || g, 'r' || (g % 500) || '.example', 'u' || g || '@r' || (g % 500) || '.example', 'Person', 'User ' || g,
               'https://r' || (g % 500) || '.example/users/u' || g || '/inbox', 'https://r' || (g % 500) || '.example/inbox'
        from generate_series((select count(*) from remote_actors) + 1, (select count(*) from remote_actors) + $1) g`, [remoteActors]);
      await admin.query(`insert into members (username, username_key, display_name, ap_id)
        select 'u' || g || '@r' || (g % 500) || '.example', 'u' || g || '@r' || (g % 500) || '.example', 'User ' || g, 'https://r' || (g % 500) || '.example/users/u' || g
        from generate_series((select count(*) from members) + 1, (select count(*) from members) + $1) g`, [remoteActors]);
    }
    if (threads) {
      await admin.query(`insert into threads (neighbourhood_id, author_id, kind, title, body_source, body_html, created_at, last_activity_at)
        select n.ids[1 + g % array_length(n.ids, 1)], m.ids[1 + g % array_length(m.ids, 1)], 'discussion', 'Seeded thread ' || g, 'Body of ' || g, '<p>Body of ' || g || '</p>',
               date_trunc('milliseconds', now()) - (g % 31536000) * interval '1 second', date_trunc('milliseconds', now()) - (g % 31536000) * interval '1 second'
        from generate_series(1, $1) g,
             (select array_agg(id) as ids from neighbourhoods where handle <> 'bench') n,
             (select array_agg(id) as ids from members) m`, [threads]);
    }
    if (replies) {
      await admin.query(`insert into replies (thread_id, author_id, body_source, body_html, created_at)
        select t.lo + g % (t.hi - t.lo), m.ids[1 + g % array_length(m.ids, 1)], 'Reply ' || g, '<p>Reply ' || g || '</p>', date_trunc('milliseconds', now()) - (g % 31536000) * interval '1 second'
        from generate_series(1, $1) g,
             (select min(id) as lo, max(id) as hi from threads where id <> ${threadId}) t,
             (select array_agg(id) as ids from members) m`, [replies]);
    }
    await admin.query('commit');
    // As autovacuum would have by the time anyone reads them: statistics, and the visibility map that lets
    // counts read an index alone. Then a checkpoint, so that writing out the seeding (and what the benchmarks
    // before this one left) does not happen during a measurement.
    await admin.query('vacuum analyze');
    await admin.query('checkpoint');
  };

  // Small to begin with: 1,000 neighbourhoods, 500 followed by the reader, 100 remote actors, 10,000 posts.
  await admin.query(`insert into neighbourhoods (handle, handle_key, name, name_key, place_name, latitude, longitude)
    select 'n' || g, 'n' || g, 'Neighbourhood ' || g, 'neighbourhood ' || g, 'Place ' || (g % 50), 51 + (g % 100) / 100.0, -1 + (g % 70) / 100.0
    from generate_series(1, ${neighbourhoodCount}) g`);
  await admin.query(`insert into neighbourhood_follows (member_id, neighbourhood_id)
    select (select id from members where username = 'reader'), n.id from neighbourhoods n where n.handle <> 'bench' order by n.id limit 500`);
  // The neighbourhood whose thread list is read gets a full first page from the start, so that both stages
  // read pages of the same length (the even seed gives each neighbourhood five threads to begin with).
  await admin.query(`insert into threads (neighbourhood_id, author_id, kind, title, body_source, body_html, created_at, last_activity_at)
    select (select id from neighbourhoods where handle = 'n7'), (select id from members where username = 'reader'), 'discussion', 'Listed thread ' || g, 'Body', '<p>Body</p>',
           now() - g * interval '1 minute', now() - g * interval '1 minute'
    from generate_series(1, 20) g`);
  await seed(100, 5000, 5000);

  const routes: { name: string; path: string; token?: string; target?: string }[] = [
    { name: 'thread of 50, API', path: `/api/threads/${threadId}`, target: 'p99 ≤ 25 ms, ≥ 400/s per core' },
    { name: 'thread of 50, HTML page', path: `/threads/${threadId}`, target: 'p99 ≤ 25 ms, ≥ 400/s per core' },
    { name: 'thread of 50, HTML page, signed-in neighbour', path: `/threads/${threadId}`, token: neighbourToken, target: 'p99 ≤ 25 ms, ≥ 400/s per core' },
    { name: 'home feed, 500 neighbourhoods followed', path: '/api/home', token, target: 'p99 ≤ 50 ms' },
    { name: 'public feed', path: '/api/public' },
    { name: 'neighbourhood thread list', path: '/api/neighbourhoods/n7/threads' },
    { name: 'directory search by name', path: '/api/neighbourhoods?q=neighbourhood%2012' },
  ];
  const run = async (stage: string) => {
    const figures: Record<string, { p99: number; perCpu: number }> = {};
    for (const route of routes) {
      const spec = { path: route.path, headers: route.token ? { authorization: `Bearer ${route.token}` } : undefined };
      const check = await call('GET', route.path, undefined, route.token);
      if (check.status !== 200) throw new Error(`${route.path}: ${check.status}`);
      await load(server.url, 10, 0.5, () => spec);
      const memory = sampleMemory(server.child.pid!);
      const cpu = await measureCpu(server.child.pid!, database.url);
      const result = await load(server.url, 10, seconds, () => spec);
      const used = await cpu.stop();
      if (result.statuses['200'] !== result.count) throw new Error(`${route.path}: ${JSON.stringify(result.statuses)}`);
      figures[route.name] = { p99: result.latency.p99, perCpu: result.count / used };
      report({ name: `reading (${stage}): ${route.name}, p99`, value: result.latency.p99, unit: 'ms', target: route.target, note: `median ${format(result.latency.median)} ms, ${format(result.perSecond)}/s` });
      report({ name: `reading (${stage}): ${route.name}, per CPU-second`, value: result.count / used, unit: 'req/CPU-s', limit: 'limit: bare Fastify route per CPU-second' });
      report({ name: `reading (${stage}): ${route.name}, peak RSS`, value: memory.stop(), unit: 'MB', target: '< 300' });
    }
    return figures;
  };
  console.log(`reading: 10 readers at once, ${seconds} s per route (PostgreSQL)`);
  const small = await run('10k posts');
  const started = Date.now();
  const half = Math.floor(growthPosts / 2);
  await seed(10_000 - 100, half, growthPosts - half);
  console.log(`  grown to ${growthPosts} more posts and 10,000 remote actors in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  const grown = await run(`${growthPosts / 1000}k posts`);
  for (const route of routes) {
    report({ name: `growth: ${route.name}, per-CPU throughput grown/small`, value: grown[route.name]!.perCpu / small[route.name]!.perCpu, unit: '×', target: '≥ 0.8' });
  }
} finally {
  await admin.end().catch(() => {});
  await server.stop();
  // BENCH_KEEP_DATABASE=1 leaves the grown database for EXPLAIN by hand.
  if (process.env.BENCH_KEEP_DATABASE) console.log(`  kept ${database.url}`);
  else await database.drop();
}
