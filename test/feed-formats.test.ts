import { Readable } from 'node:stream';
import FeedParser from 'feedparser';
import ICAL from 'ical.js';
import { eachDatabase, startApp } from './helpers.ts';

/** Reads a feed back with a real feed parser, as a feed reader would. */
function parseFeed(text: string): Promise<{ meta: FeedParser.Meta; items: FeedParser.Item[] }> {
  return new Promise((resolve, reject) => {
    const parser = new FeedParser({ normalize: true });
    const items: FeedParser.Item[] = [];
    parser.on('error', reject);
    parser.on('readable', () => {
      let item: FeedParser.Item | null;
      while ((item = parser.read() as FeedParser.Item | null)) items.push(item);
    });
    parser.on('end', () => resolve({ meta: parser.meta, items }));
    Readable.from([text]).pipe(parser);
  });
}

eachDatabase('RSS, Atom and iCalendar feeds, private feed tokens, digests', async (t, database) => {
  const { client } = await startApp(t, database);
  const alice = await client.signUp('alice');
  const bob = await client.signUp('bob');
  await bob.post('/api/neighbourhoods', { handle: 'park-road', name: 'Park Road & Co', locality: { placeName: 'Walkley' } });
  await bob.post('/api/neighbourhoods', { handle: 'other', name: 'Other', locality: { placeName: 'Crookes' } });
  await alice.post('/api/follows', { neighbourhood: 'park-road' });
  const party = await bob.post('/api/neighbourhoods/park-road/threads', {
    kind: 'event',
    title: 'Street party; bring chairs, tables & <cake>',
    body: 'A long description that goes on and on, with commas, semicolons; and a line break\nand **bold** text, long enough to need folding in iCalendar: ' + 'é'.repeat(60),
    event: { startsAt: '2027-06-05T12:00:00Z', endsAt: '2027-06-05T18:00:00Z', place: 'Outside number 12, Park Road' },
  });
  await bob.post('/api/neighbourhoods/park-road/threads', { kind: 'event', title: 'Earlier event', body: 'x', event: { startsAt: '2027-01-05T12:00:00Z' } });
  const bins = await bob.post('/api/neighbourhoods/park-road/threads', { kind: 'discussion', title: 'Bins', body: 'Tuesday?' });
  await bob.post('/api/neighbourhoods/other/threads', { kind: 'discussion', title: 'Elsewhere', body: 'x' });
  const reply = await bob.post(`/api/threads/${bins.body.thread.id}/replies`, { body: 'Wednesday <script>alert(1)</script>' });
  await alice.post(`/api/threads/${party.body.thread.id}/like`);

  for (const format of ['rss', 'atom'] as const) {
    await t.test(`${format}: a neighbourhood's threads and its events`, async (t) => {
      const all = await client.get(`/feeds/neighbourhoods/park-road/threads.${format}`);
      t.equal(all.status, 200);
      t.match(all.headers['content-type'], format === 'rss' ? /application\/rss\+xml/ : /application\/atom\+xml/);
      const parsed = await parseFeed(all.body);
      t.equal(parsed.meta.title, 'Park Road & Co: threads');
      t.same(parsed.items.map((i) => i.title), ['Bins \u00b7 Park Road & Co', 'Earlier event \u00b7 Park Road & Co', 'Street party; bring chairs, tables & <cake> \u00b7 Park Road & Co']);
      t.equal(parsed.items[0]!.link, `http://forum.test/threads/${bins.body.thread.id}`);
      t.match(parsed.items[2]!.description, /<strong>bold<\/strong>/);
      t.equal(parsed.items[0]!.author, 'bob');

      const events = await parseFeed((await client.get(`/feeds/neighbourhoods/park-road/events.${format}`)).body);
      t.same(events.items.map((i) => i.categories.includes('event')), [true, true]);
      t.equal(events.items.length, 2);
      t.equal((await parseFeed((await client.get(`/feeds/neighbourhoods/park-road/offers.${format}`)).body)).items.length, 0);
    });
  }

  await t.test('the instance feed', async (t) => {
    const parsed = await parseFeed((await client.get('/feeds/public/feed.atom')).body);
    t.ok(parsed.items.some((i) => i.title.startsWith('Elsewhere')));
  });

  await t.test('bad feed addresses', async (t) => {
    t.equal((await client.get('/feeds/neighbourhoods/nowhere/threads.rss')).status, 404);
    t.equal((await client.get('/feeds/neighbourhoods/park-road/parties.rss')).status, 400);
    t.equal((await client.get('/feeds/neighbourhoods/park-road/events.json')).status, 400);
    t.equal((await client.get('/feeds/neighbourhoods/nowhere/events.ics')).status, 404);
  });

  await t.test('iCalendar: a neighbourhood\u2019s events', async (t) => {
    const response = await client.get('/feeds/neighbourhoods/park-road/events.ics');
    t.equal(response.status, 200);
    t.match(response.headers['content-type'], /text\/calendar/);
    for (const line of String(response.body).split('\r\n')) t.ok(Buffer.byteLength(line) <= 75, 'lines are folded');
    const calendar = new ICAL.Component(ICAL.parse(response.body));
    t.equal(calendar.getFirstPropertyValue('x-wr-calname'), 'Park Road & Co events');
    const events = calendar.getAllSubcomponents('vevent').map((c) => new ICAL.Event(c));
    t.same(events.map((e) => e.summary), ['Earlier event', 'Street party; bring chairs, tables & <cake>']);
    const street = events[1]!;
    t.equal(street.startDate.toJSDate().toISOString(), '2027-06-05T12:00:00.000Z');
    t.equal(street.endDate.toJSDate().toISOString(), '2027-06-05T18:00:00.000Z');
    t.equal(street.location, 'Outside number 12, Park Road');
    t.equal(street.uid, `http://forum.test/threads/${party.body.thread.id}`);
    t.match(street.description, /commas, semicolons; and a line break\nand bold text/);
    t.match(street.description, /é{60}/, 'multi-byte characters survive folding');
  });

  await t.test('a private home feed URL with a revocable token', async (t) => {
    t.equal((await client.post('/api/feed-tokens', {})).status, 401);
    const made = await alice.post('/api/feed-tokens', { label: 'my reader' });
    t.equal(made.status, 201);
    const { urls, id } = made.body.feedToken;
    for (const key of ['homeAtom', 'homeRss']) {
      const feed = await client.get(new URL(urls[key]).pathname);
      t.equal(feed.status, 200);
      const parsed = await parseFeed(feed.body);
      t.same(parsed.items.map((i) => i.title), [
        'Re: Bins \u00b7 Park Road & Co',
        'Bins \u00b7 Park Road & Co',
        'Earlier event \u00b7 Park Road & Co',
        'Street party; bring chairs, tables & <cake> \u00b7 Park Road & Co',
      ]);
      t.notMatch(parsed.items[0]!.description, /<script/, 'stored HTML is sanitised');
      t.equal(parsed.items[0]!.link, `http://forum.test/replies/${reply.body.reply.id}`);
    }
    const listed = await alice.get('/api/feed-tokens');
    t.same(listed.body.feedTokens.map((x: { label: string }) => x.label), ['my reader']);
    t.notOk('token' in listed.body.feedTokens[0]);
    t.equal((await bob.delete(`/api/feed-tokens/${id}`)).status, 404, 'only its owner can revoke it');
    t.equal((await alice.delete(`/api/feed-tokens/${id}`)).status, 204);
    t.equal((await client.get(new URL(urls.homeAtom).pathname)).status, 404, 'a revoked feed URL stops working');
    t.equal((await client.get(new URL(urls.digestAtom).pathname)).status, 404);
    t.equal((await alice.delete(`/api/feed-tokens/${id}`)).status, 404);
    t.equal((await client.get('/feeds/private/made-up-token/home.atom')).status, 404);
  });

  await t.test('the digest as JSON, a page, and a feed entry', async (t) => {
    const daily = await alice.get('/api/digest');
    t.equal(daily.status, 200);
    t.equal(daily.body.digest.period, 'daily');
    const titles = daily.body.digest.threads.map((x: { thread: { title: string } }) => x.thread.title);
    t.same(titles.slice(0, 2).sort(), ['Bins', 'Street party; bring chairs, tables & <cake>'], 'the threads with replies or likes come first');
    t.notOk(titles.includes('Elsewhere'), 'only what the member follows');
    const bins = daily.body.digest.threads.find((x: { thread: { title: string } }) => x.thread.title === 'Bins');
    t.same({ newReplies: bins.newReplies, isNew: bins.isNew }, { newReplies: 1, isNew: true });
    t.equal((await alice.get('/api/digest?period=weekly')).body.digest.period, 'weekly');
    t.equal((await alice.get('/api/digest?period=hourly')).status, 400);
    t.equal((await client.get('/api/digest')).status, 401);

    const page = await alice.get('/digest?period=weekly');
    t.equal(page.status, 200);
    t.match(page.headers['content-type'], /text\/html/);
    t.match(page.body, /Street party; bring chairs, tables &amp; &lt;cake&gt;/);
    t.match(page.body, /<link rel="stylesheet" href="\/static\/site.css">/, 'the digest is a page in the site layout');

    const token = (await alice.post('/api/feed-tokens', {})).body.feedToken;
    for (const key of ['digestAtom', 'digestRss']) {
      const parsed = await parseFeed((await client.get(`${new URL(token.urls[key]).pathname}?period=weekly`)).body);
      t.equal(parsed.items.length, 1);
      t.match(parsed.items[0]!.title, /^Your weekly digest/);
      t.match(parsed.items[0]!.description, /<a href="http:\/\/forum\.test\/threads\/\d+">Bins<\/a> in Park Road &amp; Co \(new, 1 new reply\)/);
    }
  });
});
