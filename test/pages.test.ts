// The web pages over app.inject, as a browser with JavaScript off would use them: forms, redirects, cookies.
import t from 'tap';
import { fromLocalInput, toLocalInput } from '../server/pages/format.ts';
import { escape, html, trusted } from '../server/pages/html.ts';
import { eachDatabase, snapshot, startApp } from './helpers.ts';
import { Visitor } from './visitor.ts';

t.test('the html helper escapes everything but trusted fragments', async (t) => {
  const name = '<img src=x onerror=alert(1)>"\'`&';
  t.equal(html`<p title="${name}">${name}</p>`.text, `<p title="${escape(name)}">${escape(name)}</p>`);
  t.notMatch(html`${name}`.text, /[<>"'`]/);
  t.equal(html`<div>${trusted('<b>ok</b>')}${[html`<i>${'<'}</i>`, 2]}</div>`.text, '<div><b>ok</b><i>&lt;</i>2</div>');
  t.equal(html`${null}${undefined}${false}`.text, '');
});

t.test('local times in a zone become the right instants, across daylight saving too', async (t) => {
  t.equal(fromLocalInput('2027-06-05T12:00', 'Europe/London')!.toISOString(), '2027-06-05T11:00:00.000Z');
  t.equal(fromLocalInput('2027-01-05T12:00', 'Europe/London')!.toISOString(), '2027-01-05T12:00:00.000Z');
  t.equal(fromLocalInput('2027-03-28T03:30', 'Europe/Berlin')!.toISOString(), '2027-03-28T01:30:00.000Z');
  t.equal(fromLocalInput('2027-07-01T09:15', 'America/New_York')!.toISOString(), '2027-07-01T13:15:00.000Z');
  t.equal(fromLocalInput('not a date', 'UTC'), undefined);
  t.equal(toLocalInput(new Date('2027-06-05T11:00:00Z'), 'Europe/London'), '2027-06-05T12:00');
});

eachDatabase('web pages', async (t, database) => {
  const { app } = await startApp(t, database);

  await t.test('pages carry a strict policy and the page language', async (t) => {
    const visitor = new Visitor(app);
    const page = await visitor.get('/');
    t.equal(page.statusCode, 200);
    t.match(page.headers['content-type'], /text\/html/);
    const csp = String(page.headers['content-security-policy']);
    t.match(csp, /default-src 'self'/);
    t.match(csp, /script-src 'self'(;|$)/, 'no inline scripts allowed');
    t.match(csp, /style-src 'self'(;|$)/, 'no inline styles allowed');
    t.match(csp, /object-src 'none'/);
    t.match(csp, /frame-ancestors 'none'/);
    t.equal(page.headers['x-content-type-options'], 'nosniff');
    t.match(page.body, /<html lang="en">/);
    t.match(page.body, /<a class="skip" href="#main">/);
    t.notMatch(page.body, /<script>|<style|style="|\bon[a-z]+="/i, 'no inline script, style or handler');
    t.match(String(page.headers['set-cookie']), /sm_visitor=.*HttpOnly.*SameSite=Lax/);
    const css = await visitor.get('/static/site.css');
    t.equal(css.statusCode, 200);
    t.match(css.headers['content-type'], /text\/css/);
    t.equal((await visitor.get('/static/other.js')).statusCode, 400);
    const api = await app.inject({ url: '/api/openapi.json' });
    t.notOk(Object.keys(api.json().paths).some((path) => !/^\/(api|feeds|oauth|\.well-known)\//.test(path)), 'pages stay out of the API description');
  });

  const alice = new Visitor(app, { 'accept-language': 'en-GB,en;q=0.8' });
  await alice.register('alice');
  const bob = new Visitor(app);
  await bob.register('bob');

  await t.test('register, log out and log in again with JavaScript off', async (t) => {
    const carol = new Visitor(app);
    await carol.register('carol');
    t.match(String(carol.cookies.get('sm_session')), /.+/);
    const home = await carol.get('/');
    t.match(home.body, /href="\/members\/carol">@carol</);
    t.equal((await carol.post('/logout', {})).statusCode, 303);
    t.notOk(carol.cookies.has('sm_session'));
    await carol.get('/login');
    const wrong = await carol.post('/login', { username: 'carol', password: 'not the password', next: '/' });
    t.equal(wrong.statusCode, 401);
    t.match(wrong.body, /do not match/);
    t.match(wrong.body, /value="carol"/, 'the name is kept');
    const right = await carol.post('/login', { username: 'carol', password: 'a long enough password', next: '//evil.example/' });
    t.equal(right.statusCode, 303);
    t.equal(right.headers.location, '/', 'never sent off-site after logging in');
    const again = new Visitor(app);
    await again.get('/register');
    const taken = await again.post('/register', { username: 'Alice', password: 'a long enough password' });
    t.equal(taken.statusCode, 409);
    t.match(taken.body, /is taken/);
  });

  await t.test('registration follows the instance’s mode', async (t) => {
    for (const [mode, status, text] of [['approval', 200, /waiting for an admin/], ['closed', 403, /not taking new members/]] as const) {
      const other = await startApp(t, database, { REGISTRATION: mode });
      const visitor = new Visitor(other.app);
      await visitor.get('/register');
      const response = await visitor.post('/register', { username: `someone_${mode}`, password: 'a long enough password' });
      t.equal(response.statusCode, status, mode);
      t.match(response.body, text);
      t.notOk(visitor.cookies.has('sm_session'), `${mode}: not signed in`);
    }
  });

  await t.test('missing things and malformed addresses get HTML pages, not stack traces', async (t) => {
    const visitor = new Visitor(app);
    const missing = await visitor.get('/neighbourhoods/no-such-place');
    t.equal(missing.statusCode, 404);
    t.match(missing.headers['content-type'], /text\/html/);
    t.match(missing.body, /<h1>Not found<\/h1>/);
    const malformed = await visitor.get('/threads/abc');
    t.equal(malformed.statusCode, 400);
    t.match(malformed.body, /<html lang="en">/);
    t.equal((await visitor.get('/?cursor=rubbish')).statusCode, 400);
  });

  await t.test('session cookies are Secure behind TLS', async (t) => {
    const secure = await startApp(t, database, { PUBLIC_URL: 'https://forum.test' });
    const visitor = new Visitor(secure.app);
    await visitor.get('/register');
    const response = await visitor.post('/register', { username: 'dora', password: 'a long enough password' });
    t.match(String(response.headers['set-cookie']), /sm_session=.*HttpOnly.*Secure.*SameSite=Lax/);
  });

  await t.test('every form refuses a post without this visitor\u2019s token and changes nothing', async (t) => {
    const before = await snapshot(app.db);
    const missing = await alice.post('/neighbourhoods', { handle: 'x-road', name: 'X', placeName: 'X' }, null);
    t.equal(missing.statusCode, 400);
    const forged = await alice.post('/neighbourhoods', { handle: 'x-road', name: 'X', placeName: 'X' }, 'forged');
    t.equal(forged.statusCode, 403);
    t.match(forged.body, /expired or came from another site/);
    const bobsToken = await alice.post('/neighbourhoods', { handle: 'x-road', name: 'X', placeName: 'X' }, bob.csrf);
    t.equal(bobsToken.statusCode, 403, 'a token is bound to its own session');
    const stranger = new Visitor(app);
    await stranger.get('/');
    const loginCsrf = await stranger.post('/login', { username: 'alice', password: 'a long enough password' }, alice.csrf);
    t.equal(loginCsrf.statusCode, 403, 'logging someone in needs their own token too');
    t.same(await snapshot(app.db), before);
  });

  await t.test('neighbourhoods: start one, preview, join, threads by kind, follow handle', async (t) => {
    t.equal((await new Visitor(app).get('/neighbourhoods/new')).headers.location, '/login?next=%2Fneighbourhoods%2Fnew', 'sign in first');
    await alice.get('/neighbourhoods/new');
    const before = await snapshot(app.db);
    const previewed = await alice.post('/neighbourhoods', {
      handle: 'park-road', name: 'Park Road', placeName: 'Walkley', description: 'We **share** things', rules: '', preview: '1',
    });
    t.equal(previewed.statusCode, 200);
    t.match(previewed.body, /<strong>share<\/strong>/, 'the preview renders Markdown');
    t.match(previewed.body, /value="park-road"/, 'the draft is kept');
    t.same(await snapshot(app.db), before, 'a preview stores nothing');
    const bad = await alice.post('/neighbourhoods', { handle: 'park-road', name: 'Park Road', placeName: 'Walkley', latitude: 'north' });
    t.equal(bad.statusCode, 400);
    t.match(bad.body, /role="alert"/);
    const created = await alice.post('/neighbourhoods', {
      handle: 'park-road', name: 'Park Road', placeName: 'Walkley', latitude: '53.3811', longitude: '-1.4977', radius: '800',
      description: 'We **share** things', rules: '1. Be kind',
    });
    t.equal(created.statusCode, 303);
    t.equal(created.headers.location, '/neighbourhoods/park-road');
    const taken = await alice.post('/neighbourhoods', { handle: 'park-road', name: 'Again', placeName: 'Walkley' });
    t.equal(taken.statusCode, 409);

    const seen = await bob.get('/neighbourhoods/park-road');
    t.match(seen.body, /@park-road@forum\.test/, 'the handle to follow from other apps');
    t.match(seen.body, /<strong>share<\/strong>/);
    t.match(seen.body, /Be kind/);
    t.match(seen.body, /href="\/members\/alice"/, 'moderators listed');
    t.match(seen.body, /Walkley/);
    t.match(seen.body, /action="\/neighbourhoods\/park-road\/join"/);
    t.match(seen.body, /data-stream="neighbourhood:park-road"/, 'the seam live updates will use');
    t.equal((await bob.post('/neighbourhoods/park-road/join', {})).statusCode, 303);
    t.match((await bob.get('/neighbourhoods/park-road')).body, /You are a member here/);

    const near = await bob.get('/?lat=53.38&lng=-1.47');
    t.match(near.body, /Park Road/);
    t.match(near.body, /1\.\d km away/, 'distance from the point given');
    t.notMatch((await bob.get('/?q=nowhere')).body, /href="\/neighbourhoods\/park-road"/);
    t.match((await bob.get('/?lat=200&lng=0')).body, /A point needs a latitude/);
  });

  let eventId = 0;
  await t.test('threads of each kind with their own fields', async (t) => {
    const form = await alice.get('/neighbourhoods/park-road/threads/new?kind=event');
    t.match(form.body, /name="startsAt"/);
    t.match(form.body, /name="timeZone"/);
    const previewed = await alice.post('/neighbourhoods/park-road/threads', { kind: 'event', title: 'Street party', body: 'Bring a _chair_', preview: '1' });
    t.match(previewed.body, /<em>chair<\/em>/);
    const missing = await alice.post('/neighbourhoods/park-road/threads', { kind: 'event', title: 'Street party', body: 'Bring a chair' });
    t.equal(missing.statusCode, 400);
    t.match(missing.body, /needs a start time/);
    const event = await alice.post('/neighbourhoods/park-road/threads', {
      kind: 'event', title: 'Street party', body: 'Bring a _chair_', startsAt: '2027-06-05T12:00', endsAt: '2027-06-05T18:00',
      timeZone: 'Europe/London', place: 'Outside number 12',
    });
    t.equal(event.statusCode, 303);
    eventId = Number(/\/threads\/(\d+)/.exec(String(event.headers.location))![1]);
    const row = await app.db.selectFrom('threads').selectAll().where('id', '=', eventId).executeTakeFirstOrThrow();
    t.equal(row.event_starts_at!.toISOString(), '2027-06-05T11:00:00.000Z', 'read in the time zone chosen');

    const inParis = new Visitor(app, { 'accept-language': 'fr-FR,fr;q=0.9' });
    inParis.cookies.set('sm_tz', 'Europe/Paris');
    const page = await inParis.get(`/threads/${eventId}`);
    t.match(page.body, /<time datetime="2027-06-05T11:00:00.000Z"[^>]*lang="fr-FR">samedi 5 juin 2027 à 13:00</, 'date in the reader\u2019s language and zone');
    t.match(page.body, /Outside number 12/);
    t.match(page.body, /<em>chair<\/em>/);

    const offer = await bob.post('/neighbourhoods/park-road/threads', { kind: 'offer', title: 'Ladder to lend', body: 'Six metres.', item: 'Ladder' });
    t.equal(offer.statusCode, 303);
    const offerUrl = String(offer.headers.location);
    let offerPage = await bob.get(offerUrl);
    t.match(offerPage.body, /<dt>Offered<\/dt><dd>Ladder<\/dd>/);
    t.match(offerPage.body, /Mark as given/);
    t.notMatch((await alice.get(offerUrl)).body, /Mark as given/, 'only the author sees the button');
    await bob.get(offerUrl);
    t.equal((await bob.post(`${offerUrl}/status`, { status: 'fulfilled' })).statusCode, 303);
    offerPage = await bob.get(offerUrl);
    t.match(offerPage.body, /status-fulfilled/);
    await alice.get(offerUrl);
    t.equal((await alice.post(`${offerUrl}/status`, { status: 'open' })).statusCode, 403, 'not the author');

    const want = await bob.post('/neighbourhoods/park-road/threads', { kind: 'want', title: 'Drill', body: 'For an afternoon.', item: '' });
    t.equal(want.statusCode, 400);
    t.match(want.body, /Say what is wanted/);

    const events = await bob.get('/neighbourhoods/park-road?kind=event');
    t.match(events.body, /Street party/);
    t.notMatch(events.body, /Ladder to lend/, 'threads by kind');
    t.match(events.body, /aria-current="page">Events/);

    const strangerForm = await new Visitor(app).get('/neighbourhoods/park-road/threads/new');
    t.equal(strangerForm.statusCode, 303);
  });

  await t.test('nested replies, likes, editing and deleting', async (t) => {
    await bob.get(`/threads/${eventId}`);
    const first = await bob.post(`/threads/${eventId}/replies`, { body: 'I will bring **cake**' });
    t.equal(first.statusCode, 303);
    const firstId = Number(/#reply-(\d+)/.exec(String(first.headers.location))![1]);
    await alice.get(`/threads/${eventId}`);
    const previewed = await alice.post(`/threads/${eventId}/replies`, { body: 'Lovely _idea_', parentId: String(firstId), preview: '1' });
    t.match(previewed.body, /<em>idea<\/em>/);
    t.match(previewed.body, /I will bring <strong>cake<\/strong>/, 'the reply being answered is shown');
    const nested = await alice.post(`/threads/${eventId}/replies`, { body: 'Lovely _idea_', parentId: String(firstId) });
    t.equal(nested.statusCode, 303);
    const nestedId = Number(/#reply-(\d+)/.exec(String(nested.headers.location))![1]);

    let page = await alice.get(`/threads/${eventId}`);
    t.match(page.body, new RegExp(`<li id="reply-${firstId}"[\\s\\S]*<ol class="replies" data-parent="${firstId}"><li id="reply-${nestedId}"`), 'nested under its parent');
    t.match(page.body, /2 replies/);
    t.match(page.body, new RegExp(`<a href="/replies/${firstId}/reply" data-answer>Reply</a>`), 'each reply links to a form answering it');
    t.notMatch(page.body, /name="parentId"/, 'rather than carrying one');
    const answering = await alice.get(`/replies/${firstId}/reply`);
    t.equal(answering.statusCode, 200);
    t.match(answering.body, new RegExp(`<input type="hidden" name="parentId" value="${firstId}">`), 'the form answers that reply');
    t.match(answering.body, /<blockquote class="context">[\s\S]*I will bring <strong>cake<\/strong>/, 'and shows it');
    t.equal((await new Visitor(app).get(`/replies/${firstId}/reply`)).headers.location, `/login?next=${encodeURIComponent(`/replies/${firstId}/reply`)}`, 'a visitor signs in first');

    t.equal((await alice.post(`/threads/${eventId}/like`, { liked: '1' })).statusCode, 303);
    page = await alice.get(`/threads/${eventId}`);
    t.match(page.body, /aria-pressed="true"><span aria-hidden="true">♥<\/span> Liked <span class="count">\(1\)/);
    await alice.post(`/replies/${firstId}/like`, { liked: '1' });

    t.equal((await alice.get(`/replies/${firstId}/edit`)).statusCode, 404, 'only your own replies can be edited');
    const editForm = await bob.get(`/replies/${firstId}/edit`);
    t.match(editForm.body, /I will bring \*\*cake\*\*<\/textarea>/, 'the Markdown source is edited');
    t.equal((await bob.post(`/replies/${firstId}/edit`, { body: 'I will bring **scones**' })).statusCode, 303);
    t.equal((await bob.post(`/replies/${firstId}/delete`, {})).statusCode, 303);
    page = await bob.get(`/threads/${eventId}`);
    t.match(page.body, /This reply was deleted/);
    t.equal((await alice.get(`/replies/${firstId}/reply`)).statusCode, 404, 'a deleted reply takes no answers');
    t.notMatch(page.body, /scones/);
    t.match(page.body, new RegExp(`id="reply-${nestedId}"`), 'answers to a deleted reply stay');
    t.equal((await bob.get(`/replies/${nestedId}`)).headers.location, `/threads/${eventId}#reply-${nestedId}`);

    await alice.get(`/threads/${eventId}/edit`);
    const edited = await alice.post(`/threads/${eventId}/edit`, {
      kind: 'event', title: 'Street party (moved)', body: 'Bring a chair', startsAt: '2027-06-06T12:00', timeZone: 'UTC', place: 'The green',
    });
    t.equal(edited.statusCode, 303);
    page = await alice.get(`/threads/${eventId}`);
    t.match(page.body, /Street party \(moved\)/);
    t.match(page.body, /The green/);
    t.match(page.body, /edited/);

    const profile = await bob.get('/members/alice');
    t.match(profile.body, /@alice@forum\.test/);
    t.match(profile.body, /Street party \(moved\)/);
    t.equal((await bob.get('/members/nobody')).statusCode, 404);

    t.equal((await alice.post(`/threads/${eventId}/delete`, {})).headers.location, '/neighbourhoods/park-road');
    t.equal((await alice.get(`/threads/${eventId}`)).statusCode, 404);
  });

  await t.test('the live preview endpoint renders sanitized Markdown', async (t) => {
    await alice.get('/');
    const response = await alice.post('/preview', { body: '**hi** <script>alert(1)</script><img src=x onerror=alert(1)>' });
    t.equal(response.statusCode, 200);
    t.match(response.body, /<strong>hi<\/strong>/);
    t.notMatch(response.body, /<script|onerror/);
    t.equal((await alice.post('/preview', { body: 'x' }, 'forged')).statusCode, 403);
  });

  await t.test('names, titles and places from members are escaped everywhere', async (t) => {
    const payload = '<script>window.__xss=1</script><img src=x onerror="window.__xss=1">';
    await alice.get('/neighbourhoods/new');
    const created = await alice.post('/neighbourhoods', { handle: 'xss-road', name: `Evil ${payload}`, placeName: `Place ${payload}`, description: payload, rules: payload });
    t.equal(created.statusCode, 303);
    await alice.get('/neighbourhoods/xss-road/threads/new?kind=event');
    const thread = await alice.post('/neighbourhoods/xss-road/threads', {
      kind: 'event', title: `Title ${payload}`, body: `${payload}\n\n[link](javascript:window.__xss=1)`, startsAt: '2027-01-01T10:00', place: payload,
    });
    t.equal(thread.statusCode, 303);
    for (const url of ['/', '/neighbourhoods/xss-road', String(thread.headers.location), '/members/alice']) {
      const body = (await alice.get(url)).body;
      t.notMatch(body, /<script>window|<img src="?x"? onerror|javascript:/i, `${url} carries no live payload`);
      t.match(body, /&lt;script&gt;window.__xss=1&lt;\/script&gt;/, `${url} shows the text escaped`);
    }
  });

  await t.test('a network-weaver\u2019s pages with JavaScript off: follow, home feed, sets, feed URLs, digest', async (t) => {
    const erin = new Visitor(app);
    await erin.register('erin');
    const empty = await erin.get('/home');
    t.equal(empty.statusCode, 200);
    t.match(empty.body, /<a href="\/home" aria-current="page">Home<\/a>/, 'the header links home');
    t.match(empty.body, /Find neighbourhoods<\/a> and follow them/);
    t.equal((await new Visitor(app).get('/home')).headers.location, '/login?next=%2Fhome', 'sign in first');

    const park = await erin.get('/neighbourhoods/park-road');
    t.match(park.body, /<link rel="alternate" type="application\/atom\+xml" title="Park Road: threads \(Atom\)" href="\/feeds\/neighbourhoods\/park-road\/threads.atom">/);
    t.match(park.body, /<link rel="alternate" type="application\/rss\+xml"[^>]+href="\/feeds\/neighbourhoods\/park-road\/threads.rss">/);
    t.match(park.body, /<link rel="alternate" type="text\/calendar"[^>]+href="\/feeds\/neighbourhoods\/park-road\/events.ics">/);
    t.match(park.body, /<a href="\/feeds\/neighbourhoods\/park-road\/events.ics">/, 'the feeds are linked in the page too');
    t.match(park.body, /action="\/neighbourhoods\/park-road\/follow"/);
    for (const file of ['threads.atom', 'threads.rss', 'events.ics']) t.equal((await erin.get(`/feeds/neighbourhoods/park-road/${file}`)).statusCode, 200, file);
    t.equal((await erin.post('/neighbourhoods/park-road/follow', {})).statusCode, 303);
    const followed = await erin.get('/neighbourhoods/park-road');
    t.match(followed.body, /action="\/neighbourhoods\/park-road\/unfollow"/);
    t.match(followed.body, /action="\/neighbourhoods\/park-road\/join"/, 'following is not joining');
    t.notMatch(followed.body, /You are a member here/);

    // More than a page of posts, so the feed has somewhere older to go.
    const notes: string[] = [];
    for (let i = 1; i <= 21; i++) {
      const note = await bob.post('/neighbourhoods/park-road/threads', { kind: 'discussion', title: `Note ${i}`, body: `Number ${i}` });
      t.equal(note.statusCode, 303);
      notes.push(String(note.headers.location));
    }
    await alice.post(`${notes[0]}/replies`, { body: 'Replying to the _first_ note' });
    const home = await erin.get('/home');
    t.match(home.body, /class="feed-reply"[\s\S]*Re: <a href="\/threads\/\d+#reply-\d+">Note 1<\/a>[\s\S]*<em>first<\/em>/, 'replies are in the feed too');
    t.match(home.body, /<ol class="thread-list feed" data-stream="home">/, 'the list listens to the home stream');
    const firstPage = [...home.body.matchAll(/id="(thread|feed-reply)-(\d+)"/g)].map((m) => m[0]);
    t.equal(firstPage.length, 20);
    t.match(home.body, /Note 21<[\s\S]*Note 20<[\s\S]*Note 3</, 'newest first');
    const older = /<a href="(\/home\?cursor=[^"]+)" rel="next">Older<\/a>/.exec(home.body);
    t.ok(older, 'an Older link');
    const second = await erin.get(older![1]!.replaceAll('&amp;', '&'));
    const secondPage = [...second.body.matchAll(/id="(thread|feed-reply)-(\d+)"/g)].map((m) => m[0]);
    t.ok(secondPage.length > 0 && secondPage.every((id) => !firstPage.includes(id)), 'the older page carries on where the first stopped');
    t.match(second.body, /Ladder to lend/);

    const offers = await erin.get('/home?kind=offer&set=&place=');
    t.match(offers.body, /Ladder to lend/);
    t.notMatch(offers.body, /Note 21/);
    t.match(offers.body, /data-stream="home" data-kind="offer"/);
    const walkley = await erin.get('/home?place=Walkley');
    t.match(walkley.body, /Note 21/);
    t.notMatch(walkley.body, /data-stream/, 'no live updates where they could not be filtered');
    t.notMatch((await erin.get('/home?place=Nowhere')).body, /Note 21/);
    t.match((await erin.get('/home?lat=53.38&lng=-1.49&within=50')).body, /Note 21/, 'near a point');
    t.notMatch((await erin.get('/home?lat=10&lng=10&within=1')).body, /Note 21/);
    t.match((await erin.get('/home?lat=53.38&lng=-1.49')).body, /Say within how many kilometres/);
    t.match((await erin.get('/home?lat=north&lng=1&within=1')).body, /latitude between -90 and 90/);
    t.equal((await erin.get('/home?kind=party')).statusCode, 400);

    await erin.get('/following');
    const made = await erin.post('/following/sets', { name: 'Walks' });
    t.equal(made.statusCode, 303);
    const setId = /#set-(\d+)$/.exec(String(made.headers.location))![1]!;
    const parkId = /name="neighbourhoodId" value="(\d+)"|<option value="(\d+)">Park Road</.exec((await erin.get('/following')).body)!.slice(1).find(Boolean)!;
    t.equal((await erin.post(`/following/sets/${setId}/add`, { neighbourhoodId: parkId })).statusCode, 303);
    const listed = await erin.get('/following');
    t.match(listed.body, new RegExp(`id="set-${setId}"[\\s\\S]*href="/neighbourhoods/park-road">Park Road</a>[\\s\\S]*action="/following/sets/${setId}/remove"`));
    t.match(listed.body, /Private: only you see it/);
    t.equal((await erin.post('/following/sets', { name: 'Walks' })).statusCode, 409, 'a set name once per member');
    t.equal((await bob.post(`/following/sets/${setId}/add`, { neighbourhoodId: parkId })).statusCode, 404, 'another member\u2019s set is not there');
    t.match((await erin.get(`/home?set=${setId}`)).body, /Note 21/, 'the feed of one set');
    t.equal((await erin.post(`/following/sets/${setId}/share`, { shared: '1' })).statusCode, 303);
    const shareUrl = /<code class="share-url">http:\/\/forum\.test(\/shared-sets\/[^<]+)<\/code>/.exec((await erin.get('/following')).body)?.[1];
    t.ok(shareUrl, 'the shareable URL');
    const shared = await new Visitor(app).get(shareUrl!);
    t.equal(shared.statusCode, 200);
    t.match(shared.body, /shared by <a href="\/members\/erin">@erin<\/a>[\s\S]*Park Road/);
    await erin.post(`/following/sets/${setId}/share`, { shared: '0' });
    t.equal((await new Visitor(app).get(shareUrl!)).statusCode, 404, 'unshared, the link stops working');
    t.equal((await erin.post(`/following/sets/${setId}/remove`, { neighbourhoodId: parkId })).statusCode, 303);
    t.match((await erin.get('/following')).body, /No neighbourhoods in this set yet/);
    t.equal((await erin.post(`/following/sets/${setId}/delete`, {})).statusCode, 303);
    t.notMatch((await erin.get('/following')).body, new RegExp(`id="set-${setId}"`));

    const token = await erin.post('/following/feed-tokens', { label: 'my reader' });
    t.equal(token.statusCode, 200);
    t.equal(token.headers['referrer-policy'], 'no-referrer', 'the page with the secret does not leak it in a Referer');
    const feedPath = /http:\/\/forum\.test(\/feeds\/private\/[^/]+\/home\.atom)/.exec(token.body)![1]!;
    t.equal((await new Visitor(app).get(feedPath)).statusCode, 200, 'the private feed URL works');
    const tokens = await erin.get('/following');
    t.notMatch(tokens.body, /\/feeds\/private\//, 'the URL is shown only once');
    const revoke = /action="(\/following\/feed-tokens\/\d+\/revoke)"/.exec(tokens.body)![1]!;
    t.match(tokens.body, /my reader/);
    t.equal((await erin.post(revoke, {})).statusCode, 303);
    t.equal((await new Visitor(app).get(feedPath)).statusCode, 404, 'revoked, it stops working');

    const digest = await erin.get('/digest');
    t.equal(digest.statusCode, 200);
    t.match(digest.body, /<link rel="stylesheet" href="\/static\/site.css">/, 'in the site layout');
    t.match(digest.body, /<h1>Your daily digest<\/h1>[\s\S]*Note 21/);
    t.match(digest.body, /href="\/digest\?period=daily" aria-current="page"/);
    t.match((await erin.get('/digest?period=weekly')).body, /<h1>Your weekly digest<\/h1>/);
    t.equal((await erin.get('/digest?period=hourly')).statusCode, 400);
    t.equal((await new Visitor(app).get('/digest')).statusCode, 303, 'sign in first');

    const unfollowed = await erin.post('/neighbourhoods/park-road/unfollow', { back: '/following' });
    t.equal(unfollowed.headers.location, '/following', 'back where the button was');
    await erin.post('/neighbourhoods/park-road/follow', {});
    t.equal((await erin.post('/neighbourhoods/park-road/unfollow', { back: '//evil.example/' })).headers.location, '/', 'never off-site');
    t.notMatch((await erin.get('/home')).body, /Note 21/, 'unfollowed, gone from the feed');
  });

  await t.test('fragments for live updates are the pages\u2019 own markup', async (t) => {
    const list = await bob.get('/neighbourhoods/park-road');
    const threadId = /id="thread-(\d+)"/.exec(list.body)![1]!;
    const summary = await bob.get(`/fragments/threads/${threadId}`);
    t.equal(summary.statusCode, 200);
    t.match(summary.body, new RegExp(`^<li class="thread-summary kind-discussion" id="thread-${threadId}">`));
    t.equal(summary.headers['cache-control'], 'private, no-store');
    t.match(String(summary.headers['content-security-policy']), /script-src 'self'/);
    t.match((await bob.get(`/fragments/threads/${threadId}?view=feed`)).body, /in <a href="\/neighbourhoods\/park-road">Park Road<\/a>/);
    const posted = await alice.post(`/threads/${threadId}/replies`, { body: 'A **reply**' });
    const replyId = /#reply-(\d+)$/.exec(String(posted.headers.location))![1]!;
    const tree = await bob.get(`/fragments/replies/${replyId}`);
    t.match(tree.body, new RegExp(`^<li id="reply-${replyId}" class="reply">`));
    t.match(tree.body, /<strong>reply<\/strong>/);
    t.match(tree.body, /action="\/replies\/\d+\/like"/, 'the same controls as on the page');
    t.match((await alice.get(`/fragments/replies/${replyId}`)).body, /action="\/replies\/\d+\/delete"/, 'the author sees their own controls');
    t.match((await bob.get(`/fragments/replies/${replyId}?view=feed`)).body, new RegExp(`^<li class="feed-reply" id="feed-reply-${replyId}">`));
    t.equal((await bob.get('/fragments/replies/999999')).statusCode, 404);
    t.equal((await bob.get('/fragments/threads/abc')).statusCode, 400);
    t.equal((await bob.get(`/fragments/threads/${threadId}?view=other`)).statusCode, 400);
  });

  await t.test('the new pages escape what members wrote', async (t) => {
    const payload = '<script>window.__xss=1</script><img src=x onerror="window.__xss=1">';
    const frank = new Visitor(app);
    await frank.register('frank');
    await frank.get('/');
    await frank.post('/neighbourhoods/xss-road/follow', {});
    await frank.post('/neighbourhoods/park-road/follow', {});
    const made = await frank.post('/following/sets', { name: `Set ${payload}` });
    const setId = /#set-(\d+)$/.exec(String(made.headers.location))![1]!;
    await frank.post(`/following/sets/${setId}/share`, { shared: '1' });
    await frank.post('/following/feed-tokens', { label: `Label ${payload}` });
    const xssThread = /id="thread-(\d+)"/.exec((await frank.get('/neighbourhoods/xss-road')).body)![1]!;
    await alice.post(`/threads/${xssThread}/replies`, { body: `Reply ${payload}` });
    const shareUrl = /<code class="share-url">http:\/\/forum\.test(\/shared-sets\/[^<]+)<\/code>/.exec((await frank.get('/following')).body)![1]!;
    for (const url of ['/home', '/following', '/digest?period=weekly', shareUrl, `/fragments/threads/${xssThread}?view=feed`]) {
      const body = (await frank.get(url)).body;
      t.notMatch(body, /<script>window|<img src="?x"? onerror|javascript:/i, `${url} carries no live payload`);
      t.match(body, /&lt;script&gt;window.__xss=1&lt;\/script&gt;/, `${url} shows the text escaped`);
    }
  });

  await t.test('every new form refuses a post without this visitor\u2019s token and changes nothing', async (t) => {
    const grace = new Visitor(app);
    await grace.register('grace');
    await grace.post('/neighbourhoods/park-road/follow', {});
    await grace.post('/following/sets', { name: 'Mine' });
    await grace.post('/following/feed-tokens', { label: 'reader' });
    const page = (await grace.get('/following')).body;
    const setId = /id="set-(\d+)"/.exec(page)![1]!;
    const tokenId = /\/following\/feed-tokens\/(\d+)\/revoke/.exec(page)![1]!;
    const parkId = /<option value="(\d+)">Park Road</.exec(page)![1]!;
    const forms: [string, Record<string, string>][] = [
      ['/neighbourhoods/park-road/follow', {}],
      ['/neighbourhoods/park-road/unfollow', {}],
      ['/following/sets', { name: 'Other' }],
      [`/following/sets/${setId}/add`, { neighbourhoodId: parkId }],
      [`/following/sets/${setId}/remove`, { neighbourhoodId: parkId }],
      [`/following/sets/${setId}/share`, { shared: '1' }],
      [`/following/sets/${setId}/delete`, {}],
      ['/following/feed-tokens', { label: 'x' }],
      [`/following/feed-tokens/${tokenId}/revoke`, {}],
    ];
    const before = await snapshot(app.db);
    for (const [url, fields] of forms) {
      t.equal((await grace.post(url, fields, null)).statusCode, 400, `${url}: no token`);
      t.equal((await grace.post(url, fields, 'forged')).statusCode, 403, `${url}: a forged token`);
      t.equal((await grace.post(url, fields, bob.csrf)).statusCode, 403, `${url}: someone else\u2019s token`);
    }
    t.same(await snapshot(app.db), before);
  });
});
