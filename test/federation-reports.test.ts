// Reports across servers. Flags captured from Lemmy, Mastodon and Mbin, moved onto a stand-in server and
// naming our posts and members, become reports in the right queue; a member's report on a post in a
// neighbourhood on another server goes there as a Flag from our instance actor, and Lemmy's Resolve of it
// tells the reporter. Then two of our instances: a report on A about a thread in B's neighbourhood reaches
// B's moderators, and their resolution reaches the reporter on A.
import { remoteMember } from '../server/accounts/domain.ts';
import { rememberRemoteNeighbourhood } from '../server/neighbourhoods/domain.ts';
import { startThread } from '../server/threads/domain.ts';
import { rememberRemoteActor } from '../federation/delivery.ts';
import { eachDatabase } from './helpers.ts';
import { anotherDatabase, collectionIds, startInstance } from './instances.ts';
import { eventually, moveFixture, postSigned, queueDrained, readFixture, RemoteServer } from './remote-server.ts';

eachDatabase('Flags from other software become reports; ours go out and come back resolved', async (t, database) => {
  const a = await startInstance(t, database);
  const robin = await a.client.signUp('robin');
  const sam = await a.client.signUp('sam');
  // Robin is an admin too, so the queue holds reports on accounts as well.
  await a.app.db.updateTable('members').set({ role: 'admin' }).where('username', '=', 'robin').execute();
  await robin.post('/api/neighbourhoods', { handle: 'park-road', name: 'Park Road', locality: { placeName: 'Walkley' } });
  await sam.post('/api/neighbourhoods/park-road/members');
  const group = `${a.url}/neighbourhoods/park-road`;
  const thread = (await robin.post('/api/neighbourhoods/park-road/threads', { kind: 'discussion', title: 'Bikes for sale', body: 'Cheap bikes.' })).body.thread;
  const reply = (await sam.post(`/api/threads/${thread.id}/replies`, { body: 'Where from?' })).body.reply;
  t.ok(thread && reply, 'a thread and a reply to report');
  const remote = await RemoteServer.start(t);
  const queue = async () => (await robin.get('/api/reports')).body.reports as any[];

  const deliver = async (file: string, moves: [string, string][], inbox: string) => {
    const json = await readFixture(file);
    const actor = await remote.actor(`reporter${remote.received.length}${Math.random().toString(36).slice(2, 6)}`);
    const activity = moveFixture(json, remote, file.split('/')[0]!, [[json.actor, actor.id], ...moves]);
    t.equal((await postSigned(inbox, activity, actor)).status, 202, `${file} accepted`);
    return { activity, actor };
  };

  await t.test('Lemmy: a Flag to the group names the post', async (t) => {
    await deliver('lemmy/activities/community/report_page.json', [
      ['http://enterprise.lemmy.ml/c/main', group], ['http://enterprise.lemmy.ml/u/main', group], ['http://enterprise.lemmy.ml/post/7', `${a.url}/threads/${thread.id}`],
    ], `${group}/inbox`);
    const report = await eventually(async () => (await queue()).find((r) => r.reason === 'report this post'), 30_000, 'the report');
    t.match(report, { neighbourhood: 'park-road', threadId: thread.id, replyId: null, member: 'robin', category: 'other', status: 'open' });
    t.match(report.reporter, /@127\.0\.0\.1:\d+$/, 'by the remote reporter, named name@host');
  });

  await t.test('Mastodon: a Flag to the shared inbox names the account and two posts', async (t) => {
    await deliver('mastodon/activities/flag.json', [
      ['https://example.com/users/1', `${a.url}/members/robin`],
      ['https://example.com/posts/380590', `${a.url}/threads/${thread.id}`],
      ['https://example.com/posts/380591', `${a.url}/replies/${reply.id}`],
    ], `${a.url}/inbox`);
    const reports = await eventually(async () => {
      const found = (await queue()).filter((r) => r.reason === 'Please take a look at this user and their posts');
      return found.length === 2 && found;
    }, 30_000, 'a report for each post');
    t.match(reports.find((r) => r.replyId === null), { threadId: thread.id, member: 'robin' }, 'the thread');
    t.match(reports.find((r) => r.replyId !== null), { threadId: thread.id, replyId: reply.id, member: 'sam' }, 'the reply, by its author');
  });

  await t.test('Mastodon: a Flag naming an account alone reaches the instance staff', async (t) => {
    const json = await readFixture('mastodon/activities/flag.json');
    const actor = await remote.actor('moderation');
    const activity = moveFixture({ ...json, id: `${json.id}-account`, object: ['https://example.com/users/1'], content: 'Spam account' }, remote, 'mastodon', [[json.actor, actor.id], ['https://example.com/users/1', `${a.url}/members/sam`]]);
    t.equal((await postSigned(`${a.url}/actor/inbox`, activity, actor)).status, 202, 'accepted by the instance actor');
    const report = await eventually(async () => (await queue()).find((r) => r.reason === 'Spam account'), 30_000, 'the account report');
    t.match(report, { neighbourhood: null, threadId: null, member: 'sam', category: 'spam' });
  });

  await t.test('Mbin: a Flag naming the post and its (remote) author', async (t) => {
    await deliver('mbin/activities/flag.json', [['https://lemmy-test/c/test_mag', group], ['https://lemmy-test/post/4', `${a.url}/threads/${thread.id}`]], `${group}/inbox`);
    const report = await eventually(async () => (await queue()).find((r) => r.reason === 'dikjhgasdpas dsaü'), 30_000, 'the report');
    t.match(report, { neighbourhood: 'park-road', threadId: thread.id, category: 'other' });
  });

  await t.test('staff may reject the reports of a server (Mastodon\u2019s reject_reports), whatever its block\u2019s severity', async (t) => {
    const host = new URL(remote.origin).hostname;
    t.equal((await robin.post('/api/admin/domain-blocks', { domain: host, severity: 'noop', rejectReports: true })).status, 204);
    const { activity } = await deliver('lemmy/activities/community/report_page.json', [
      ['http://enterprise.lemmy.ml/c/main', group], ['http://enterprise.lemmy.ml/u/main', group], ['http://enterprise.lemmy.ml/post/7', `${a.url}/threads/${thread.id}`],
      ['report this post', 'rejected report'], ['98b0933f-5e45-4a95-a15f-e0dc86361ba4', 'rejected-1'],
    ], `${group}/inbox`);
    t.equal(activity.summary, 'rejected report');
    await queueDrained(a.app.db);
    t.notOk((await queue()).some((r) => r.reason === 'rejected report'), 'no report was filed');
    t.equal((await robin.request('DELETE', `/api/admin/domain-blocks/${host}`)).status, 204);
    await deliver('lemmy/activities/community/report_page.json', [
      ['http://enterprise.lemmy.ml/c/main', group], ['http://enterprise.lemmy.ml/u/main', group], ['http://enterprise.lemmy.ml/post/7', `${a.url}/threads/${thread.id}`],
      ['report this post', 'heard again'], ['98b0933f-5e45-4a95-a15f-e0dc86361ba4', 'heard-1'],
    ], `${group}/inbox`);
    await eventually(async () => (await queue()).some((r) => r.reason === 'heard again'), 30_000, 'with the block lifted, the same kind of report is filed');
  });

  await t.test('a report on a post in a neighbourhood elsewhere goes there as a Flag, and Lemmy\u2019s Resolve closes it', async (t) => {
    // A community on the stand-in server, known here, with a thread by one of its people.
    const community = await remote.actor('community', { type: 'Group' });
    const author = await remote.actor('poster');
    const ctx = a.app.federation.context();
    for (const uri of [community.id, author.id]) t.ok(await rememberRemoteActor(ctx, new URL(uri)), `${uri} known`);
    const handle = `community@${new URL(remote.origin).host}`;
    await rememberRemoteNeighbourhood(a.app.db, { apId: community.id, handle, name: 'Community', description: '', placeName: 'Elsewhere', latitude: null, longitude: null, radiusMetres: null, memberCount: null });
    const poster = await remoteMember(a.app.db, { apId: author.id, handle: `poster@${new URL(remote.origin).host}`, displayName: 'Poster' });
    const postId = `${remote.origin}/post/7`;
    const elsewhere = await startThread(a.app.db, poster, handle, { kind: 'discussion', title: 'Spammy', body: '', remote: { apId: postId, html: '<p>Buy now</p>' } });

    const filed = await sam.post('/api/reports', { threadId: elsewhere.id, category: 'spam', reason: 'selling bikes', forward: true });
    t.equal(filed.status, 201, 'the member files a report');
    const flag = await eventually(() => remote.inboxPosts('Flag').find((d) => d.body.object === postId), 30_000, 'the Flag on the community\u2019s server');
    t.match(flag.body, { actor: `${a.url}/actor`, summary: 'Spam: selling bikes', content: 'Spam: selling bikes', to: community.id }, 'from our instance actor, with the category and reason');
    t.notMatch(JSON.stringify(flag.body), /sam/, 'the reporter\u2019s name stays here');
    t.equal(remote.inboxPosts('Flag').filter((d) => JSON.stringify(d.body).includes(postId)).length, 1, 'the author is on the same server: one Flag');

    const json = await readFixture('lemmy/activities/community/resolve_report_page.json');
    const moderator = await remote.actor('moderator');
    const resolve = moveFixture(json, remote, 'lemmy', [
      [json.actor, moderator.id], [json.object.id, flag.body.id], ['http://enterprise.lemmy.ml/c/main', community.id], ['http://enterprise.lemmy.ml/post/7', postId],
    ]);
    t.equal((await postSigned(`${a.url}/inbox`, resolve, moderator)).status, 202);
    await eventually(async () => (await sam.get('/api/reports/mine')).body.reports.find((r: any) => r.id === filed.body.report.id)?.status === 'resolved', 30_000, 'resolved for the reporter');
  });

  await t.test('the reporter may send a report to the author\u2019s server too', async (t) => {
    const author = await remote.actor('visitor');
    const visitor = await remoteMember(a.app.db, { apId: author.id, handle: `visitor@${new URL(remote.origin).host}`, displayName: 'Visitor' });
    const post = await startThread(a.app.db, visitor, 'park-road', { kind: 'discussion', title: 'Visiting', body: '', remote: { apId: `${remote.origin}/notes/1`, html: '<p>Hello</p>' } });
    t.equal((await sam.post('/api/reports', { threadId: post.id, category: 'harassment', reason: 'rude' })).status, 201);
    t.equal((await sam.post('/api/reports', { threadId: post.id, category: 'harassment', reason: 'rude, forwarded', forward: true })).status, 201);
    const flag = await eventually(() => remote.inboxPosts('Flag').find((d) => JSON.stringify(d.body.object).includes(`${remote.origin}/notes/1`)), 30_000, 'the Flag on the author\u2019s server');
    t.same(flag.body.object, [author.id, `${remote.origin}/notes/1`], 'naming the author and the post, as Mastodon expects');
    t.equal(flag.body.content, 'Harassment: rude, forwarded');
    t.equal(remote.inboxPosts('Flag').filter((d) => JSON.stringify(d.body.object).includes('/notes/1')).length, 1, 'only the report the reporter agreed to forward left');
  });
});

eachDatabase('a report on A about a thread in B\u2019s neighbourhood reaches B\u2019s moderators, and the outcome reaches A', async (t, database) => {
  const a = await startInstance(t, database);
  const b = await startInstance(t, await anotherDatabase(t, database));
  const bea = await b.client.signUp('bea');
  await bea.post('/api/neighbourhoods', { handle: 'market', name: 'Market Street', locality: { placeName: 'Sharrow' } });
  const cal = await b.client.signUp('cal');
  await cal.post('/api/neighbourhoods/market/members');
  const market = `market@${new URL(b.url).host}`;
  const ann = await a.client.signUp('ann');
  const followed = await ann.post('/api/follows', { neighbourhood: `@${market}` });
  t.equal(followed.status, 201, JSON.stringify(followed.body));
  await eventually(async () => (await collectionIds(`${b.url}/neighbourhoods/market/followers`)).length === 1, 30_000, 'the follower on B');

  const onB = (await cal.post('/api/neighbourhoods/market/threads', { kind: 'offer', title: 'Free bikes', body: 'Click this link', exchange: { item: 'bikes' } })).body.thread;
  const path = `/api/neighbourhoods/${encodeURIComponent(market)}/threads`;
  const onA = await eventually(async () => (await ann.get(path)).body.threads.find((row: any) => row.title === 'Free bikes'), 30_000, 'the thread on A');

  const filed = await ann.post('/api/reports', { threadId: onA.id, category: 'spam', reason: 'a scam' });
  t.equal(filed.status, 201, 'ann reports it on A');
  const report = await eventually(async () => (await bea.get('/api/reports?neighbourhood=market')).body.reports[0], 30_000, 'the report in B\u2019s queue');
  t.match(report, { neighbourhood: 'market', threadId: onB.id, member: 'cal', category: 'spam', reason: 'a scam' }, 'about cal\u2019s thread, its category kept');
  t.match(report.reporter, new RegExp(`@${new URL(a.url).host.replace(/\./g, '\\.')}$`), 'from A, as its instance actor');
  t.notMatch(JSON.stringify(report), /ann/, 'ann\u2019s name stays on A');

  t.equal((await bea.post(`/api/reports/${report.id}/resolve`, { reason: 'removed' })).status, 204, 'B\u2019s moderator resolves it');
  await eventually(async () => (await ann.get('/api/reports/mine')).body.reports[0]?.status === 'resolved', 30_000, 'ann sees it resolved on A');
});
