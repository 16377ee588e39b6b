// t.js in real Chromium: pages and the snippet come from a local HTTP server that also
// records every POST to …/e, so each test checks what actually went over the wire.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { describe, expect, test } from 'vitest';
import { orderEventId } from '../../collector/src/event/order-event-id.js';
import { buildIfStale, COUNT_COOKIE_AND_STORAGE, gzipSize, readBody, ROOT, useServerAndBrowser, UUID_V4, type Wire } from './support.js';

const DIST = join(ROOT, 'dist/t.js');
const STUB = 'window.trakvo=window.trakvo||function(){(trakvo.q=trakvo.q||[]).push(arguments)}';

/** One event of a POST to …/e as the server received it. */
interface Arrival {
  host: string;
  path: string;
  contentType: string | undefined;
  body: Wire;
  /** How many events came in the same request. */
  batchSize: number;
}

/** One send as the page made it, recorded by the spy below (in call order). */
interface Sent {
  via: 'beacon' | 'beacon-refused' | 'fetch';
  url: string;
  body: string;
  init?: Record<string, unknown>;
}

declare global {
  interface Window {
    trakvo?: ((name: string, props?: Record<string, unknown>) => string | undefined) & { q?: unknown; getVisitorId?: () => string | undefined; getSessionId?: () => string | undefined };
    __sent: Sent[];
    __before?: string[];
    __early?: (name: string, props?: Record<string, unknown>) => unknown;
  }
}

// ---------------------------------------------------------------- server

const pages = new Map<string, string>();
const arrivals: Arrival[] = [];
let snippetJs: Buffer;

/** The local server (the pages, t.js, and the events it records) and Chromium, for this file. */
const local = useServerAndBrowser(
  async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://local');
    if (req.method === 'POST' && url.pathname.endsWith('/e')) {
      const raw = await readBody(req);
      // Events of one task arrive together as an array; each becomes one arrival.
      const parsed = JSON.parse(raw) as Wire | Wire[];
      const batch = Array.isArray(parsed) ? parsed : [parsed];
      for (const body of batch) {
        arrivals.push({ host: req.headers.host ?? '', path: url.pathname, contentType: req.headers['content-type'], body, batchSize: batch.length });
      }
      res.writeHead(204).end();
    } else if (req.method === 'GET' && url.pathname.endsWith('/t.js')) {
      res.writeHead(200, { 'content-type': 'text/javascript', 'cache-control': 'no-store' }).end(snippetJs);
    } else if (req.method === 'GET' && pages.has(url.pathname)) {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' }).end(pages.get(url.pathname));
    } else {
      res.writeHead(404).end();
    }
  },
  () => {
    buildIfStale();
    snippetJs = readFileSync(DIST);
  },
);

// ---------------------------------------------------------------- page spy

/**
 * Runs before any page script: records every sendBeacon/fetch call in order, counts reads
 * of cookies, storage and Intl.DateTimeFormat, and can make sendBeacon refuse or vanish.
 */
function spyScript(beacon: 'native' | 'refuse' | 'missing'): string {
  return `(() => {
    const sent = (window.__sent = []);
    const touched = (window.__touched = { cookie: 0, localStorage: 0, sessionStorage: 0, Intl: 0 });
    const nativeBeacon = Navigator.prototype.sendBeacon;
    if (${JSON.stringify(beacon)} === 'missing') delete Navigator.prototype.sendBeacon;
    else Navigator.prototype.sendBeacon = function (url, body) {
      const refuse = ${JSON.stringify(beacon)} === 'refuse';
      sent.push({ via: refuse ? 'beacon-refused' : 'beacon', url: String(url), body: String(body) });
      return refuse ? false : nativeBeacon.call(this, url, body);
    };
    const nativeFetch = window.fetch;
    window.fetch = function (input, init) {
      sent.push({ via: 'fetch', url: String(input), body: String(init && init.body), init: Object.assign({}, init) });
      return nativeFetch.call(this, input, init);
    };${COUNT_COOKIE_AND_STORAGE}
    const NativeDTF = Intl.DateTimeFormat;
    Intl.DateTimeFormat = function (...args) { touched.Intl++; return new NativeDTF(...args); };
  })();`;
}

// ---------------------------------------------------------------- helpers

let nextSite = 0;

interface PageSpec {
  /** HTML placed in <head> before the t.js tag (inline stub, early calls…). */
  before?: string;
  /** Extra attributes of the t.js tag, e.g. `data-auto="0"`; data-site is added unless `site: null`. */
  attrs?: string;
  site?: string | null;
  /** Where t.js is served from. */
  src?: string;
  title?: string;
  /** Full <script> tags to use instead of the single default one. */
  tags?: string;
}

/** Registers a page under a fresh path, opens it in a fresh context, waits for `load`. */
async function openPage(
  spec: PageSpec = {},
  opts: { beacon?: 'native' | 'refuse' | 'missing'; referer?: string; path?: string } = {},
): Promise<{ page: Page; site: string; url: string }> {
  const site = spec.site === undefined ? `site-${++nextSite}` : (spec.site ?? '');
  const path = opts.path ?? `/pages/${nextSite}-${Math.random().toString(36).slice(2, 8)}`;
  const siteAttr = spec.site === null ? '' : ` data-site="${site}"`;
  const tag = spec.tags ?? `<script src="${spec.src ?? '/t/t.js'}"${siteAttr} ${spec.attrs ?? ''} async></script>`;
  pages.set(
    path,
    `<!doctype html><html><head><meta charset="utf-8">${spec.title === undefined ? '' : `<title>${spec.title}</title>`}` +
      `${spec.before ?? ''}${tag}</head><body><a id="frag" href="#section-2">section 2</a></body></html>`,
  );
  const context = await local.newContext();
  await context.addInitScript({ content: spyScript(opts.beacon ?? 'native') });
  const page = await context.newPage();
  const url = local.origin + path;
  await page.goto(url, opts.referer ? { referer: opts.referer } : {});
  return { page, site, url };
}

/** What the page sent, in call order (only sends that went out: refused beacons excluded). */
async function sentFrom(page: Page): Promise<Sent[]> {
  return page.evaluate(() => window.__sent.filter((s) => s.via !== 'beacon-refused'));
}

/**
 * The events the page has sent so far, in call order, once every one of them has arrived
 * at the server; returns them as the server received them.
 */
async function delivered(page: Page, site: string): Promise<Arrival[]> {
  const sent = await sentFrom(page);
  const ids = sent.flatMap((s) => {
    const parsed = JSON.parse(s.body) as Wire | Wire[];
    return (Array.isArray(parsed) ? parsed : [parsed]).map((w) => w.i);
  });
  const deadline = Date.now() + 5000;
  for (;;) {
    const mine = arrivals.filter((a) => a.body.s === site);
    if (ids.every((id) => mine.some((a) => a.body.i === id))) {
      expect(mine).toHaveLength(ids.length);
      return ids.map((id) => mine.find((a) => a.body.i === id)!);
    }
    if (Date.now() > deadline) throw new Error(`events never arrived: sent ${ids.length}, arrived ${mine.length}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const names = (events: Arrival[]) => events.map((e) => e.body.n);
const urls = (events: Arrival[]) => events.map((e) => e.body.u);

async function navigateBack(page: Page): Promise<void> {
  await page.evaluate(
    () =>
      new Promise<void>((done) => {
        window.addEventListener('popstate', () => done(), { once: true });
        history.back();
      }),
  );
}

// ---------------------------------------------------------------- suite

describe('t.js', () => {
  test('stays within the size budget (2,048 B gzip)', () => {
    const gzip = gzipSize(snippetJs);
    expect(gzip).toBeLessThanOrEqual(2048);
  });

  test('sends a PageView on load with the exact wire keys, as text/plain', async () => {
    const before = Date.now();
    const { page, site, url } = await openPage(
      { title: 'Blue Shoe – Shop' },
      { referer: 'https://search.example/q?x=shoes' },
    );
    const [event, ...rest] = await delivered(page, site);
    const after = Date.now();
    expect(rest).toEqual([]);
    expect(event!.path).toBe('/t/e');
    expect(event!.contentType).toBe('text/plain;charset=UTF-8');
    expect(event!.body).toStrictEqual({
      s: site,
      n: 'PageView',
      i: expect.stringMatching(UUID_V4),
      u: url,
      r: 'https://search.example/q?x=shoes',
      t: 'Blue Shoe – Shop',
      ts: expect.any(Number),
    });
    expect(event!.body.ts).toBeGreaterThanOrEqual(before);
    expect(event!.body.ts).toBeLessThanOrEqual(after);
    const sent = await sentFrom(page);
    expect(sent.map((s) => [s.via, s.url])).toEqual([['beacon', `${local.origin}/t/e`]]);
  });

  test('omits empty referrer, title and props; ids are fresh v4 UUIDs', async () => {
    const { page, site, url } = await openPage();
    const returned = await page.evaluate(() => [window.trakvo!('Lead'), window.trakvo!('Lead', {}), window.trakvo!('Lead')]);
    const events = await delivered(page, site);
    expect(names(events)).toEqual(['PageView', 'Lead', 'Lead', 'Lead']);
    for (const e of events) {
      expect(Object.keys(e.body).sort()).toEqual(['i', 'n', 's', 'ts', 'u']);
      expect(e.body.u).toBe(url);
      expect(e.body.i).toMatch(UUID_V4);
    }
    expect(events.slice(1).map((e) => e.body.i)).toEqual(returned);
    expect(new Set(events.map((e) => e.body.i)).size).toBe(4);
  });

  test('trakvo(name, props) returns the event_id it sent; props.event_id wins and leaves props', async () => {
    const { page, site } = await openPage();
    const [own, minted] = await page.evaluate(() => {
      const props = { event_id: 'order-1001-purchase', value: 49.9, currency: 'EUR', contents: [{ id: 'sku-1', quantity: 2 }] };
      const own = window.trakvo!('Purchase', props);
      if (!('event_id' in props)) throw new Error("the merchant's props object was changed");
      const minted = window.trakvo!('AddToCart', { event_id: 42, value: 1 });
      const onlyId = window.trakvo!('Lead', { event_id: 'lead-00000001' });
      return [own, minted, onlyId];
    });
    expect(own).toBe('order-1001-purchase');
    expect(minted).toMatch(UUID_V4);
    const [, purchase, cart, lead] = await delivered(page, site);
    expect(purchase!.body.i).toBe('order-1001-purchase');
    expect(purchase!.body.p).toStrictEqual({ value: 49.9, currency: 'EUR', contents: [{ id: 'sku-1', quantity: 2 }] });
    expect(cart!.body.i).toBe(minted);
    expect(cart!.body.p).toStrictEqual({ value: 1 });
    expect(lead!.body.i).toBe('lead-00000001');
    expect('p' in lead!.body).toBe(false);
  });

  test('a Purchase or Refund with order_id gets the order-derived event_id the collector computes', async () => {
    const { page, site } = await openPage();
    const orders: [string, unknown][] = [
      ['Purchase', 'ORD-1'],
      ['Purchase', 5012345678901],
      ['Refund', ' #1001/é '],
      ['Purchase', 'x'.repeat(300)],
    ];
    const ids = await page.evaluate((calls) => calls.map(([n, o]) => window.trakvo!(n, { order_id: o, value: 1, currency: 'BRL' })), orders);
    expect(ids).toEqual(orders.map(([n, o]) => orderEventId(site, n, o as string)));
    const other = await page.evaluate(() => window.trakvo!('AddToCart', { order_id: 'ORD-1' }));
    expect(other).toMatch(UUID_V4); // only order-bound events derive their id
    const sent = await delivered(page, site);
    expect(sent.slice(1, 5).map((e) => e.body.i)).toEqual(ids);
  });

  test('getVisitorId/getSessionId read the collector’s first-party cookies on call', async () => {
    const { page } = await openPage();
    expect(await page.evaluate(() => window.trakvo!.getVisitorId!())).toBeUndefined();
    await page.evaluate(() => {
      document.cookie = '_tk_vid=4b9c1f5e-0000-4000-8000-00000000abcd; path=/';
      document.cookie = '_tk_sid=1763800000; path=/';
    });
    expect(await page.evaluate(() => [window.trakvo!.getVisitorId!(), window.trakvo!.getSessionId!()])).toEqual([
      '4b9c1f5e-0000-4000-8000-00000000abcd',
      '1763800000',
    ]);
  });

  test('replays calls queued by the inline stub, in order, before taking over', async () => {
    const before =
      `<script>${STUB}</script><script>` +
      `window.__early = trakvo;` +
      `trakvo('Lead', { plan: 'pro' });` +
      `trakvo('ViewContent', { content_ids: ['sku-1'], event_id: 'vc-0000001' });` +
      `trakvo('AddToCart', { value: 9.5, currency: 'EUR' });` +
      `</script>`;
    const { page, site } = await openPage({ before });
    const queued = await delivered(page, site);
    expect(queued.map((e) => [e.body.n, e.body.p])).toEqual([
      ['PageView', undefined],
      ['Lead', { plan: 'pro' }],
      ['ViewContent', { content_ids: ['sku-1'] }],
      ['AddToCart', { value: 9.5, currency: 'EUR' }],
    ]);
    expect(queued[2]!.body.i).toBe('vc-0000001');
    // The load-time PageView and the replayed queue travel in one request (one _fbp for all).
    expect(queued.map((e) => e.batchSize)).toEqual([4, 4, 4, 4]);
    expect((await sentFrom(page)).length).toBe(1);

    // After load: the real function, sending at once and returning the id on the wire.
    const id = await page.evaluate(() => window.trakvo!('Purchase', { value: 20, currency: 'EUR' }));
    expect(id).toMatch(UUID_V4);
    const afterLoad = (await delivered(page, site)).slice(4);
    expect(afterLoad.map((e) => [e.body.n, e.body.i])).toEqual([['Purchase', id]]);
    expect(afterLoad[0]!.batchSize).toBe(1); // a lone call after load is a single object

    // A page that kept the stub still delivers through trakvo.q.
    await page.evaluate(() => window.__early!('Subscribe', { plan: 'yearly' }));
    const late = (await delivered(page, site)).slice(5);
    expect(late.map((e) => [e.body.n, e.body.p])).toEqual([['Subscribe', { plan: 'yearly' }]]);
  });

  test('consent: absent until declared, then sent with every event; declared before load it covers the PageView', async () => {
    const { page, site } = await openPage();
    const result = await page.evaluate(() => {
      const r = window.trakvo!('consent', { marketing: false, analytics: true });
      window.trakvo!('Lead');
      window.trakvo!('consent', { marketing: true, analytics: false });
      window.trakvo!('Purchase', { value: 1 });
      return r;
    });
    expect(result).toBeUndefined();
    const events = await delivered(page, site);
    expect(events.map((e) => [e.body.n, e.body.c])).toEqual([
      ['PageView', undefined],
      ['Lead', { m: 0, a: 1 }],
      ['Purchase', { m: 1, a: 0 }],
    ]);
    expect('c' in events[0]!.body).toBe(false);

    const queued = await openPage({
      before: `<script>${STUB}</script><script>trakvo('Lead'); trakvo('consent', { marketing: true, analytics: true });</script>`,
    });
    const early = await delivered(queued.page, queued.site);
    expect(early.map((e) => [e.body.n, e.body.c])).toEqual([
      ['PageView', { m: 1, a: 1 }],
      ['Lead', { m: 1, a: 1 }],
    ]);
  });

  test('SPA: one PageView per distinct URL via pushState, replaceState and popstate; none for hash-only moves', async () => {
    const { page, site } = await openPage({}, { path: '/spa/a' });
    await page.evaluate(() => {
      history.pushState({}, '', '/spa/b');
      history.replaceState({ step: 2 }, '', '/spa/b');
      history.pushState({}, '', '/spa/b');
      history.replaceState({}, '', '/spa/c');
      history.pushState({}, '', '/spa/c#reviews');
      history.replaceState({}, '', '/spa/c#specs');
    });
    await page.click('#frag'); // a plain in-page anchor: hash only
    let events = await delivered(page, site);
    expect(urls(events)).toEqual([`${local.origin}/spa/a`, `${local.origin}/spa/b`, `${local.origin}/spa/c`]);
    expect(names(events)).toEqual(['PageView', 'PageView', 'PageView']);

    await navigateBack(page); // → /spa/c#specs (hash only)
    await navigateBack(page); // → /spa/c (hash only)
    await navigateBack(page); // → /spa/b
    await navigateBack(page); // → /spa/a
    await page.evaluate(() => history.pushState({}, '', '/spa/a?page=2'));
    events = await delivered(page, site);
    expect(urls(events)).toEqual([
      `${local.origin}/spa/a`,
      `${local.origin}/spa/b`,
      `${local.origin}/spa/c`,
      `${local.origin}/spa/b`,
      `${local.origin}/spa/a`,
      `${local.origin}/spa/a?page=2`,
    ]);
  });

  test('SPA with data-hash-pageviews="1": hash changes are new pages, still never twice in a row', async () => {
    const { page, site } = await openPage({ attrs: 'data-hash-pageviews="1"' }, { path: '/hash/app' });
    await page.evaluate(() => {
      history.pushState({}, '', '#/cart');
      history.replaceState({}, '', '#/cart');
    });
    await page.click('#frag');
    await navigateBack(page); // → #/cart
    await page.evaluate(() => history.pushState({}, '', '/hash/app#/cart'));
    const events = await delivered(page, site);
    expect(urls(events)).toEqual([
      `${local.origin}/hash/app`,
      `${local.origin}/hash/app#/cart`,
      `${local.origin}/hash/app#section-2`,
      `${local.origin}/hash/app#/cart`,
    ]);
  });

  test('posts to data-endpoint (trailing slash tolerated), on another origin', async () => {
    const { page, site } = await openPage({ attrs: `data-endpoint="http://localhost:${local.port}/collect/"` });
    const [event] = await delivered(page, site);
    expect(event!.host).toBe(`localhost:${local.port}`);
    expect(event!.path).toBe('/collect/e');
    expect(event!.contentType).toBe('text/plain;charset=UTF-8');
  });

  test('default endpoint is the folder t.js came from, ignoring its query string', async () => {
    const { page, site } = await openPage({ src: '/shop/tracking/t.js?v=1.2/3' });
    const [event] = await delivered(page, site);
    expect(event!.path).toBe('/shop/tracking/e');
  });

  test('without document.currentScript (loaded as a module) it reads the last script[data-site]', async () => {
    const site = `site-${++nextSite}`;
    const { page } = await openPage({
      site,
      tags:
        `<script type="text/plain" data-site="wrong-site"></script>` +
        `<script type="text/plain" data-site="${site}" data-endpoint="/fallback"></script>` +
        `<script type="module">import '/t/t.js';</script>`,
    });
    const [event, ...rest] = await delivered(page, site);
    expect(rest).toEqual([]);
    expect(event!.path).toBe('/fallback/e');
    expect(event!.body.n).toBe('PageView');
  });

  test('data-auto="0": no automatic PageViews, manual calls still work', async () => {
    const { page, site } = await openPage({ attrs: 'data-auto="0"' });
    await page.evaluate(() => history.pushState({}, '', '/elsewhere'));
    expect(await page.evaluate(() => typeof window.trakvo)).toBe('function');
    expect(await sentFrom(page)).toEqual([]);
    await page.evaluate(() => window.trakvo!('PageView'));
    const events = await delivered(page, site);
    expect(urls(events)).toEqual([`${local.origin}/elsewhere`]);
  });

  test('without data-site it does nothing', async () => {
    const { page } = await openPage({ site: null });
    expect(await page.evaluate(() => typeof window.trakvo)).toBe('undefined');
    expect(await sentFrom(page)).toEqual([]);
  });

  test('loaded twice: the second copy does nothing (one PageView, one event per call)', async () => {
    const site = `site-${++nextSite}`;
    const { page } = await openPage({
      site,
      before: `<script>${STUB}</script><script>trakvo('Lead')</script>`,
      tags: `<script src="/t/t.js" data-site="${site}" async></script><script src="/t/t.js?copy=2" data-site="${site}" async></script>`,
    });
    await page.evaluate(() => {
      window.trakvo!('Purchase');
      history.pushState({}, '', '/twice/next');
    });
    const events = await delivered(page, site);
    expect(names(events)).toEqual(['PageView', 'Lead', 'Purchase', 'PageView']);
  });

  test('falls back to fetch (keepalive, credentials, no custom headers) when sendBeacon refuses', async () => {
    const { page, site } = await openPage({}, { beacon: 'refuse' });
    const [event] = await delivered(page, site);
    expect(event!.path).toBe('/t/e');
    expect(event!.contentType).toBe('text/plain;charset=UTF-8');
    const calls = await page.evaluate(() => window.__sent);
    expect(calls.map((c) => c.via)).toEqual(['beacon-refused', 'fetch']);
    expect(calls[1]!.url).toBe(`${local.origin}/t/e`);
    expect(calls[1]!.init).toStrictEqual({ method: 'POST', body: calls[0]!.body, keepalive: true, credentials: 'include' });
  });

  test('falls back to fetch when sendBeacon does not exist', async () => {
    const { page, site } = await openPage({}, { beacon: 'missing' });
    const id = await page.evaluate(() => window.trakvo!('Lead'));
    const events = await delivered(page, site);
    expect(names(events)).toEqual(['PageView', 'Lead']);
    expect(events[1]!.body.i).toBe(id);
    expect((await sentFrom(page)).map((s) => s.via)).toEqual(['fetch', 'fetch']);
  });

  test('touches no cookies, storage or Intl, and adds nothing to window but trakvo', async () => {
    const { page, site } = await openPage(
      { before: '<script>window.__before = Object.getOwnPropertyNames(window)</script>' },
      { path: '/quiet/a' },
    );
    await page.evaluate(() => {
      window.trakvo!('consent', { marketing: true, analytics: true });
      window.trakvo!('AddToCart', { value: 3 });
      history.pushState({}, '', '/quiet/b');
    });
    await delivered(page, site);
    const touched = await page.evaluate(() => ({ ...window.__touched }));
    expect(touched).toStrictEqual({ cookie: 0, localStorage: 0, sessionStorage: 0, Intl: 0 });
    const added = await page.evaluate(() =>
      Object.getOwnPropertyNames(window).filter((k) => k !== '__before' && !window.__before!.includes(k)),
    );
    expect(added).toEqual(['trakvo']);
    // The spy itself works: reading them now is counted.
    const counted = await page.evaluate(() => {
      void document.cookie;
      void localStorage.length;
      void new Intl.DateTimeFormat();
      return { ...window.__touched };
    });
    expect(counted).toStrictEqual({ cookie: 1, localStorage: 1, sessionStorage: 0, Intl: 1 });
  });
});
