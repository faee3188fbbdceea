// How deliveries fail: server errors and 429 are retried (429 after its Retry-After), other client
// errors and 410 are given up at once. And every fetch is bounded in size and time, and kept off
// private addresses.
import type { IncomingMessage, ServerResponse } from 'node:http';
import t from 'tap';
import { documentLoader, type FetchLimits } from '../federation/fetching.ts';
import { loadConfig } from '../server/config.ts';
import { eachDatabase } from './helpers.ts';
import { startInstance } from './instances.ts';
import { eventually, RemoteServer } from './remote-server.ts';

eachDatabase('delivery failures', async (t, database) => {
  const a = await startInstance(t, database);
  const robin = await a.client.signUp('robin');
  const remote = await RemoteServer.start(t);
  const attempts = new Map<string, number[]>();
  const lastRequest = new Map<string, number>();
  /**
   * An actor without a shared inbox whose inbox answers each delivery attempt with the next of `statuses`
   * (the last one repeats). Fedify knocks twice on a server it does not know yet (RFC 9421, then
   * draft-cavage), so requests within 300 ms of the previous one belong to the same attempt.
   */
  const scripted = async (name: string, statuses: [number, Record<string, string>?][]) => {
    const actor = await remote.actor(name, { endpoints: undefined });
    attempts.set(name, []);
    remote.routes.set(`/users/${name}/inbox`, (req: IncomingMessage, res: ServerResponse) => {
      req.resume();
      req.on('end', () => {
        const seen = attempts.get(name)!;
        const now = Date.now();
        if (!seen.length || now - lastRequest.get(name)! > 300) seen.push(now);
        lastRequest.set(name, now);
        const [status, headers] = statuses[Math.min(seen.length, statuses.length) - 1]!;
        res.writeHead(status, headers).end();
      });
    });
    t.equal((await robin.post('/api/following', { account: actor.id })).status, 202, `following ${name}`);
  };
  await Promise.all([
    scripted('flaky', [[503], [202]]),
    scripted('busy', [[429, { 'retry-after': '2' }], [202]]),
    scripted('refusing', [[400]]),
    scripted('gone', [[410]]),
  ]);
  const count = (name: string) => attempts.get(name)!.length;
  await eventually(() => count('flaky') >= 2 && count('busy') >= 2, 20_000, 'the retries');
  const [first, second] = attempts.get('busy')!;
  t.ok(second! - first! >= 1900, `429 is retried after its Retry-After (${second! - first!} ms)`);
  const [once, again] = attempts.get('flaky')!;
  t.ok(again! - once! >= 300, `503 is retried after a backoff (${again! - once!} ms)`);
  t.equal(count('refusing'), 1, '400 is not retried');
  t.equal(count('gone'), 1, '410 is not retried');
});

t.test('fetches are bounded', async (t) => {
  const remote = await RemoteServer.start(t);
  const limits: FetchLimits = { allowPrivateAddresses: true, timeoutMs: 500, maxBytes: 64 * 1024, userAgent: 'test' };
  const load = documentLoader(limits);
  const big = JSON.stringify({ id: `${remote.origin}/big`, type: 'Note', content: 'x'.repeat(100 * 1024) });
  remote.routes.set('/big', (_req, res) => res.writeHead(200, { 'content-type': 'application/activity+json' }).end(big));
  remote.routes.set('/big-chunked', (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/activity+json' });
    for (let i = 0; i < 10; i++) res.write(big.slice(i * 11_000, (i + 1) * 11_000));
    res.end(big.slice(110_000));
  });
  remote.routes.set('/slow', () => {});
  remote.serve('/small', { id: `${remote.origin}/small`, type: 'Note', content: 'hello' });

  t.match((await load(`${remote.origin}/small`)).document, { type: 'Note' }, 'a small document loads');
  await t.rejects(load(`${remote.origin}/big`), /larger than/, 'a declared large body is refused');
  await t.rejects(load(`${remote.origin}/big-chunked`), /larger than/, 'a streamed large body is refused');
  const started = Date.now();
  await t.rejects(load(`${remote.origin}/slow`), 'a server that never answers times out');
  t.ok(Date.now() - started < 3000, 'within the time limit');

  const strict = documentLoader({ ...limits, allowPrivateAddresses: false });
  for (const url of [`${remote.origin}/small`, 'http://localhost/x', 'http://10.0.0.1/x', 'http://169.254.169.254/latest/meta-data', 'http://[::1]/x', 'http://192.168.1.1/x']) {
    await t.rejects(strict(url), /private or local/, `refused: ${url}`);
  }
});

t.test('a redirect to a private address is refused, even when some private addresses are allowed', async (t) => {
  // Tests reach their own servers on 127.0.0.1, so only that address is allowed; 127.0.0.2 is loopback too,
  // reachable, and must stay refused, like any private address a remote server might send us to.
  const remote = await RemoteServer.start(t);
  const inside = await RemoteServer.start(t, '127.0.0.2');
  let reachedInside = 0;
  inside.routes.set('/secret', (_req, res) => {
    reachedInside++;
    res.writeHead(200, { 'content-type': 'application/activity+json' }).end(JSON.stringify({ id: `${inside.origin}/secret`, type: 'Note', content: 'secret' }));
  });
  remote.serve('/small', { id: `${remote.origin}/small`, type: 'Note', content: 'hello' });
  const redirect = (location: string) => (_req: IncomingMessage, res: ServerResponse) => res.writeHead(302, { location }).end();
  remote.routes.set('/to-small', redirect('/small'));
  remote.routes.set('/to-inside', redirect(`${inside.origin}/secret`));
  remote.routes.set('/to-metadata', redirect('http://169.254.169.254/latest/meta-data'));
  remote.routes.set('/to-private-network', redirect('http://10.0.0.1/x'));

  const limits: FetchLimits = { allowPrivateAddresses: loadConfig({ ALLOW_PRIVATE_ADDRESSES: '127.0.0.1' }, '/nonexistent').allowPrivateAddresses, timeoutMs: 2000, maxBytes: 64 * 1024, userAgent: 'test' };
  t.same(limits.allowPrivateAddresses, ['127.0.0.1'], 'ALLOW_PRIVATE_ADDRESSES takes a list of addresses');
  const load = documentLoader(limits);
  t.match((await load(`${remote.origin}/small`)).document, { content: 'hello' }, 'the allowed address is fetched');
  t.match((await load(`${remote.origin}/to-small`)).document, { content: 'hello' }, 'and redirects within it are followed');
  for (const path of ['/to-inside', '/to-metadata', '/to-private-network']) {
    await t.rejects(load(`${remote.origin}${path}`), /private or local/, `a redirect ${path} is refused`);
  }
  await t.rejects(load(`${inside.origin}/secret`), /private or local/, 'another loopback address is refused directly too');
  t.equal(reachedInside, 0, 'nothing was ever sent to 127.0.0.2');

  // The same redirect with every private address allowed does reach it: the refusal above is the policy's.
  t.match((await documentLoader({ ...limits, allowPrivateAddresses: true })(`${remote.origin}/to-inside`)).document, { content: 'secret' });
  t.equal(reachedInside, 1);
});

eachDatabase('a server that keeps failing', async (t, database) => {
  const a = await startInstance(t, database, { UNREACHABLE_AFTER_FAILURES: '2', UNREACHABLE_RETRY_SECONDS: '3' });
  const robin = await a.client.signUp('robin');
  const remote = await RemoteServer.start(t);
  const down = await remote.actor('down', { endpoints: undefined });
  let answer = 503;
  const requests: number[] = [];
  remote.routes.set('/users/down/inbox', (req: IncomingMessage, res: ServerResponse) => {
    req.resume();
    req.on('end', () => {
      requests.push(Date.now());
      res.writeHead(answer).end();
    });
  });
  const server = () => a.database.db.selectFrom('remote_servers').selectAll().where('host', '=', new URL(remote.origin).host).executeTakeFirst();
  await robin.post('/api/following', { account: down.id });
  await eventually(async () => (await server())?.unreachable_since, 20_000, 'the server marked unreachable');
  const markedAt = requests.length;
  answer = 202;
  await new Promise((resolve) => setTimeout(resolve, 1500));
  t.equal(requests.length, markedAt, 'no deliveries while it is unreachable');
  await eventually(async () => (await server())?.unreachable_since === null, 20_000, 'the server reachable again');
  t.ok(requests.length > markedAt, 'a probe went through once the wait was over');
});
