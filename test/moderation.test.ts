// Moderation through the JSON API: every action by a moderator works and is logged; by anyone else it is
// refused and nothing changes.
import { eachDatabase, snapshot, startApp } from './helpers.ts';

eachDatabase('moderation', async (t, database) => {
  const { db } = database;
  const { client } = await startApp(t, database);
  const mod = await client.signUp('mod');
  const alice = await client.signUp('alice');
  const bob = await client.signUp('bob');
  const staff = await client.signUp('staff');
  await db.updateTable('members').set({ role: 'admin' }).where('username', '=', 'staff').execute();
  await mod.post('/api/neighbourhoods', { handle: 'park-road', name: 'Park Road', locality: { placeName: 'Walkley' } });
  await alice.post('/api/neighbourhoods/park-road/members');
  await bob.post('/api/neighbourhoods/park-road/members');
  const first = (await alice.post('/api/neighbourhoods/park-road/threads', { kind: 'discussion', title: 'Bins', body: 'Bin day moved' })).body.thread.id;
  const thread = (await alice.post('/api/neighbourhoods/park-road/threads', { kind: 'discussion', title: 'Noise', body: 'Loud party' })).body.thread.id;
  const replyId = (await alice.post(`/api/threads/${thread}/replies`, { body: 'It was very loud' })).body.reply.id;

  await t.test('a non-moderator or a visitor is refused every action and nothing changes', async (t) => {
    const before = await snapshot(db);
    const attempts: [string, unknown][] = [
      [`/api/threads/${thread}/remove`, {}], [`/api/threads/${thread}/restore`, {}], [`/api/threads/${thread}/lock`, {}],
      [`/api/threads/${thread}/unlock`, {}], [`/api/threads/${thread}/pin`, {}], [`/api/threads/${thread}/unpin`, {}],
      [`/api/replies/${replyId}/remove`, {}], [`/api/replies/${replyId}/restore`, {}],
      ['/api/neighbourhoods/park-road/bans', { username: 'alice', removeContent: true }],
      ['/api/members/alice/suspend', { reason: 'x' }],
    ];
    for (const [url, body] of attempts) {
      t.equal((await bob.post(url, body)).status, 403, `bob: ${url}`);
      t.equal((await client.post(url, body)).status, 401, `visitor: ${url}`);
    }
    t.equal((await bob.request('PUT', '/api/neighbourhoods/park-road/moderators/bob')).status, 403);
    t.equal((await bob.request('DELETE', '/api/neighbourhoods/park-road/moderators/mod')).status, 403);
    t.equal((await bob.delete('/api/neighbourhoods/park-road/bans/alice')).status, 403);
    t.equal((await bob.get('/api/neighbourhoods/park-road/bans')).status, 403);
    t.equal((await bob.get('/api/moderation/log')).status, 403);
    t.same(await snapshot(db), before);
  });

  await t.test('remove and restore a thread: hidden everywhere, then back, both logged', async (t) => {
    t.equal((await mod.post(`/api/threads/${thread}/remove`, { reason: 'Rule 2' })).status, 204);
    t.equal((await client.get(`/api/threads/${thread}`)).status, 404);
    t.notOk((await client.get('/api/neighbourhoods/park-road/threads')).body.threads.some((x: { id: number }) => x.id === thread));
    t.equal((await alice.delete(`/api/threads/${thread}`)).status, 404, 'the author cannot delete what was removed');
    t.equal((await mod.post(`/api/threads/${thread}/remove`)).status, 404);
    t.equal((await mod.post(`/api/threads/${thread}/restore`, { reason: 'On appeal' })).status, 204);
    const back = await client.get(`/api/threads/${thread}`);
    t.equal(back.status, 200);
    t.equal(back.body.thread.body, 'Loud party');
    t.equal((await mod.post(`/api/threads/${thread}/restore`)).status, 409, 'only a removed thread is restored');
    const log = (await client.get('/api/neighbourhoods/park-road/moderation-log')).body.entries;
    t.match(log.slice(0, 2), [
      { action: 'restore_thread', moderator: 'mod', threadId: thread, member: 'alice', reason: 'On appeal' },
      { action: 'remove_thread', moderator: 'mod', threadId: thread, reason: 'Rule 2' },
    ]);
  });

  await t.test('an author\u2019s own deletion cannot be restored by a moderator', async (t) => {
    const own = (await alice.post('/api/neighbourhoods/park-road/threads', { kind: 'story', title: 'Mine', body: 'x' })).body.thread.id;
    t.equal((await alice.delete(`/api/threads/${own}`)).status, 204);
    t.equal((await mod.post(`/api/threads/${own}/restore`)).status, 409);
  });

  await t.test('lock stops new replies until unlocked', async (t) => {
    t.equal((await mod.post(`/api/threads/${thread}/lock`)).status, 204);
    t.equal((await client.get(`/api/threads/${thread}`)).body.thread.locked, true);
    const refused = await bob.post(`/api/threads/${thread}/replies`, { body: 'me too' });
    t.equal(refused.status, 403);
    t.equal(refused.body.error, 'thread_locked');
    t.equal((await mod.post(`/api/threads/${thread}/unlock`)).status, 204);
    t.equal((await bob.post(`/api/threads/${thread}/replies`, { body: 'me too' })).status, 201);
  });

  await t.test('a pinned thread comes first in its neighbourhood', async (t) => {
    const ids = async () => (await client.get('/api/neighbourhoods/park-road/threads')).body.threads.map((x: { id: number }) => x.id);
    t.not((await ids())[0], first);
    t.equal((await mod.post(`/api/threads/${first}/pin`)).status, 204);
    const pinned = await ids();
    t.equal(pinned[0], first);
    t.equal(pinned.filter((id: number) => id === first).length, 1);
    t.equal((await client.get('/api/neighbourhoods/park-road/threads')).body.threads[0].pinned, true);
    t.equal((await mod.post(`/api/threads/${first}/unpin`)).status, 204);
    t.not((await ids())[0], first);
  });

  await t.test('remove and restore a reply: its text is hidden, then back, and the count follows', async (t) => {
    const count = async () => (await client.get(`/api/threads/${thread}`)).body.thread.replyCount;
    const before = await count();
    t.equal((await mod.post(`/api/replies/${replyId}/remove`)).status, 204);
    const shown = (await client.get(`/api/threads/${thread}`)).body.replies.find((r: { id: number }) => r.id === replyId);
    t.match(shown, { deleted: true, body: '', bodyHtml: '', author: null });
    t.equal(await count(), before - 1);
    t.equal((await mod.post(`/api/replies/${replyId}/restore`)).status, 204);
    t.match((await client.get(`/api/threads/${thread}`)).body.replies.find((r: { id: number }) => r.id === replyId), { deleted: false, body: 'It was very loud' });
    t.equal(await count(), before);
  });

  await t.test('a ban removes the member and, if asked, their posts; it ends when lifted or expired', async (t) => {
    const until = new Date(Date.now() + 86_400_000).toISOString();
    t.equal((await mod.post('/api/neighbourhoods/park-road/bans', { username: 'alice', reason: 'Spam', expiresAt: until, removeContent: true })).status, 204);
    t.equal((await client.get(`/api/threads/${thread}`)).status, 404, 'her threads are removed');
    t.equal((await client.get(`/api/threads/${first}`)).status, 404);
    t.equal((await alice.post('/api/neighbourhoods/park-road/threads', { kind: 'discussion', title: 'x', body: 'y' })).status, 403);
    const rejoin = await alice.post('/api/neighbourhoods/park-road/members');
    t.equal(rejoin.status, 403);
    t.equal(rejoin.body.error, 'banned');
    t.match((await mod.get('/api/neighbourhoods/park-road/bans')).body.bans, [{ username: 'alice', bannedBy: 'mod', reason: 'Spam' }]);
    t.equal((await mod.delete('/api/neighbourhoods/park-road/bans/alice')).status, 204);
    t.equal((await alice.post('/api/neighbourhoods/park-road/members')).status, 200);
    t.equal((await mod.post(`/api/threads/${thread}/restore`)).status, 204, 'removed posts can be restored one by one');

    t.equal((await mod.post('/api/neighbourhoods/park-road/bans', { username: 'alice' })).status, 204);
    await db.updateTable('neighbourhood_bans').set({ expires_at: new Date(Date.now() - 1000) }).execute();
    t.equal((await alice.post('/api/neighbourhoods/park-road/members')).status, 200, 'an expired ban no longer counts');
    t.equal((await mod.post('/api/neighbourhoods/park-road/bans', { username: 'alice', expiresAt: '2001-01-01T00:00:00Z' })).status, 400);
    t.equal((await mod.post('/api/neighbourhoods/park-road/bans', { username: 'mod' })).status, 400, 'not yourself');
  });

  await t.test('moderators appoint moderators; a moderator is banned only by instance staff', async (t) => {
    t.equal((await mod.request('PUT', '/api/neighbourhoods/park-road/moderators/bob')).status, 204);
    t.equal((await bob.post(`/api/threads/${thread}/lock`)).status, 204, 'bob can act now');
    t.equal((await bob.post('/api/neighbourhoods/park-road/bans', { username: 'mod' })).status, 403);
    t.equal((await mod.request('DELETE', '/api/neighbourhoods/park-road/moderators/bob')).status, 204);
    t.equal((await bob.post(`/api/threads/${thread}/unlock`)).status, 403);
    t.equal((await staff.post(`/api/threads/${thread}/unlock`)).status, 204, 'an admin acts in every neighbourhood');
    t.equal((await mod.request('PUT', '/api/neighbourhoods/park-road/moderators/staff')).status, 409, 'only members become moderators');
  });

  await t.test('instance staff suspend and reinstate accounts; the instance log is theirs', async (t) => {
    t.equal((await staff.post('/api/members/bob/suspend', { reason: 'Abuse' })).status, 204);
    t.equal((await bob.get('/api/me')).status, 401, 'a suspended account is signed out everywhere');
    t.equal((await client.post('/api/tokens', { username: 'bob', password: 'a long enough password' })).status, 403);
    t.equal((await mod.post('/api/members/bob/unsuspend')).status, 403, 'a neighbourhood moderator is not instance staff');
    t.equal((await staff.post('/api/members/bob/unsuspend')).status, 204);
    t.equal((await client.post('/api/tokens', { username: 'bob', password: 'a long enough password' })).status, 201);
    const log = (await staff.get('/api/moderation/log?limit=2')).body.entries;
    t.match(log, [{ action: 'unsuspend', member: 'bob', neighbourhood: null }, { action: 'suspend', reason: 'Abuse' }]);
    t.notOk((await client.get('/api/neighbourhoods/park-road/moderation-log')).body.entries.some((e: { action: string }) => e.action === 'suspend'));
  });

  await t.test('reports reach the neighbourhood\u2019s moderators or instance staff, and the reporter sees the outcome', async (t) => {
    const bobAgain = client.as((await client.post('/api/tokens', { username: 'bob', password: 'a long enough password' })).body.token);
    await mod.post(`/api/replies/${replyId}/restore`);
    const filed = await bobAgain.post('/api/reports', { threadId: thread, category: 'rules', reason: 'Off topic', forward: true });
    t.equal(filed.status, 201);
    t.match(filed.body.report, { neighbourhood: 'park-road', threadId: thread, member: 'alice', reporter: 'bob', status: 'open', forward: true });
    const onReply = await bobAgain.post('/api/reports', { replyId, category: 'harassment' });
    t.equal(onReply.status, 201);
    const onAccount = await bobAgain.post('/api/reports', { username: 'alice', category: 'spam' });
    t.equal(onAccount.body.report.neighbourhood, null, 'an account report goes to instance staff');
    t.equal((await bobAgain.post('/api/reports', { threadId: thread, replyId, category: 'spam' })).status, 400, 'one target');
    t.equal((await bobAgain.post('/api/reports', { threadId: thread, category: 'boring' })).status, 400);
    t.equal((await bobAgain.post('/api/reports', { username: 'bob', category: 'spam' })).status, 400, 'not yourself');
    t.equal((await client.post('/api/reports', { threadId: thread, category: 'spam' })).status, 401);

    const queue = (await mod.get('/api/reports')).body.reports.map((r: { id: number }) => r.id);
    t.same(queue, [filed.body.report.id, onReply.body.report.id], 'the neighbourhood moderator sees its reports, not account reports');
    t.equal((await staff.get('/api/reports')).body.reports.length, 3, 'staff see all');
    t.same((await alice.get('/api/reports')).body.reports, [], 'a member moderates nothing');
    t.equal((await alice.get('/api/reports?neighbourhood=park-road')).status, 403);

    const before = await snapshot(db);
    t.equal((await alice.post(`/api/reports/${filed.body.report.id}/resolve`)).status, 403);
    t.equal((await mod.post(`/api/reports/${onAccount.body.report.id}/dismiss`)).status, 403, 'account reports are for staff');
    t.same(await snapshot(db), before);

    t.equal((await mod.post(`/api/reports/${filed.body.report.id}/resolve`, { reason: 'Moved it' })).status, 204);
    t.equal((await mod.post(`/api/reports/${filed.body.report.id}/dismiss`)).status, 409, 'closed once');
    t.equal((await mod.post(`/api/reports/${onReply.body.report.id}/dismiss`)).status, 204);
    t.equal((await staff.post(`/api/reports/${onAccount.body.report.id}/dismiss`)).status, 204);
    const mine = (await bobAgain.get('/api/reports/mine')).body.reports;
    t.same(mine.map((r: { status: string }) => r.status), ['dismissed', 'dismissed', 'resolved'], 'the reporter is told the outcome');
    t.same((await mod.get('/api/reports')).body.reports, []);
    t.equal((await client.get('/api/neighbourhoods/park-road/moderation-log')).body.entries[1].action, 'resolve_report');
  });
});
