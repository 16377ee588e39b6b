// t.js (the default build) on a custom site: Lead and Search forms, checkout links, declared
// events, switches, and the Meta / TikTok pixel bridge and mirror.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { orderEventId } from '../../collector/src/event/order-event-id.js';
import { ROOT, UUID_V4, expectNoCookieOrStorageRead, expectNoPageErrors, expectOnlyPageViewsWithoutCommerce, names, only, useHarness, type Opened } from './support.js';

const h = useHarness();
const VARIANT = 't.js';

const landing = (attrs = '', fixture = 'landing.html') => h.open({ fixture, path: '/get-a-quote', variant: VARIANT, attrs });

/** Submits the form by its button and waits for the events the page should have sent by then. */
async function submit(opened: Opened, button: string, atLeast: number) {
  await opened.page.click(button);
  return h.events(opened.site, atLeast);
}

/** Fake Meta and TikTok pixels, defined before t.js the way their base codes do, recording calls. */
const PIXELS = `<script>
  window.__fbq = [];
  !function (f) { var n = f.fbq = function () { window.__fbq.push([].slice.call(arguments)); };
    if (!f._fbq) f._fbq = n; n.push = n; n.loaded = !0; n.version = '2.0'; n.queue = []; }(window);
  fbq('init', '1234567890');
  fbq('track', 'PageView');
  window.__ttq = [];
  window.ttq = { track: function () { window.__ttq.push([].slice.call(arguments)); }, page: function () {} };
</script>`;
const withPixels = (fixture: string) => readFileSync(join(ROOT, 'snippet/test/fixtures', fixture), 'utf8').replace('<!--TRAKVO-->', PIXELS + '<!--TRAKVO-->');

describe('t.js (default build)', () => {
  test('Lead: a newsletter form and a quote request, with the email for the collector to hash', async () => {
    let opened = await landing();
    let events = await submit(opened, '#subscribe', 2);
    expect(only(events, 'Lead').p).toStrictEqual({ email: 'lead@example.com' });
    await expectNoPageErrors(opened.page);

    opened = await landing();
    events = await submit(opened, '#send-quote', 2);
    expect(only(events, 'Lead').p).toStrictEqual({ email: 'ana@acme.test' });
  });

  test('no Lead from search, login, cart, checkout or blog-comment forms', async () => {
    for (const button of ['#go', '#sign-in', '#update-cart', '#pay', '#post-comment']) {
      const opened = await landing();
      const events = await submit(opened, button, 1);
      expect(names(events).filter((n) => n === 'Lead'), button).toEqual([]);
    }
  });

  test('Search: a search form submit, with the term', async () => {
    const opened = await landing();
    const events = await submit(opened, '#go', 2);
    expect(names(events)).toEqual(['PageView', 'Search']);
    expect(events[1]!.p).toStrictEqual({ search_string: 'solar panels' });
  });

  test('Search: landing on a results page from another site (?q= under /search, ?s=), not from this site’s own form', async () => {
    const page = '<!doctype html><title>Results</title><!--TRAKVO-->';
    const fromGoogle = await h.open({ fixture: page, path: '/search?q=red+boots', variant: VARIANT, referer: 'https://www.google.com/' });
    expect((await h.events(fromGoogle.site, 2))[1]!.p).toStrictEqual({ search_string: 'red boots' });
    const wordpress = await h.open({ fixture: page, path: '/?s=beanie&post_type=product', variant: VARIANT });
    expect((await h.events(wordpress.site, 2))[1]!.p).toStrictEqual({ search_string: 'beanie' });
    const ownForm = await h.open({ fixture: page, path: '/search?q=red+boots', variant: VARIANT, referer: `${h.origin}/` });
    expect(names(await h.events(ownForm.site, 1))).toEqual(['PageView']);
    const notSearch = await h.open({ fixture: page, path: '/products/x?q=1', variant: VARIANT, referer: 'https://www.google.com/' });
    expect(names(await h.events(notSearch.site, 1))).toEqual(['PageView']);
  });

  test('InitiateCheckout: a click on a link to /checkout', async () => {
    const opened = await landing();
    await opened.page.evaluate(() => document.getElementById('to-checkout')!.addEventListener('click', (e) => e.preventDefault()));
    await opened.page.click('#to-checkout');
    await opened.page.click('#to-checkout');
    expect(names(await h.events(opened.site, 2))).toEqual(['PageView', 'InitiateCheckout']);
  });

  test('declared events: data-trakvo-event on a form (on submit, with its email) and on any element (on click), props from data-trakvo-*', async () => {
    const opened = await landing();
    await opened.page.click('#book-audit');
    await opened.page.click('#call span');
    await opened.page.click('#brochure');
    const events = await h.events(opened.site, 4);
    // The declared form is an email form too: still one Lead, the declared one.
    expect(names(events)).toEqual(['PageView', 'Lead', 'Contact', 'ViewContent']);
    expect(events[1]!.p).toStrictEqual({ email: 'audit@acme.test', value: '120', currency: 'EUR', content_name: 'Solar audit' });
    expect(events[2]!.p).toStrictEqual({ channel: 'phone' });
    expect(events[3]!.p).toStrictEqual({ content_ids: 'brochure-2026', content_type: 'product' });
    await expectNoPageErrors(opened.page);
  });

  test('switches: data-no-detect="Lead Search" stops those detectors; "all" stops every one; declared events still go', async () => {
    let opened = await landing('data-no-detect="Lead Search"');
    await opened.page.click('#subscribe');
    await opened.page.click('#go');
    await opened.page.click('#to-checkout');
    expect(names(await h.events(opened.site, 2))).toEqual(['PageView', 'InitiateCheckout']);

    opened = await landing('data-no-detect="all"');
    await opened.page.click('#subscribe');
    await opened.page.click('#call');
    expect(names(await h.events(opened.site, 2))).toEqual(['PageView', 'Contact']);
  });

  test('pixel bridge: each event but PageView also goes to fbq and ttq with the same id, never with personal data', async () => {
    const opened = await h.open({ fixture: withPixels('landing.html'), path: '/get-a-quote', variant: VARIANT });
    await opened.page.click('#subscribe');
    const orderId = await opened.page.evaluate(() =>
      window.trakvo!('Purchase', { order_id: 'A-77', value: 99, currency: 'EUR', email: 'ana@acme.test', phone: '+351912345678' }),
    );
    const events = await h.events(opened.site, 3);
    const lead = only(events, 'Lead');
    expect(orderId).toBe(orderEventId(opened.site, 'Purchase', 'A-77'));
    const fbq = await opened.page.evaluate(() => window.__fbq);
    expect(fbq).toEqual([
      ['init', '1234567890'],
      ['track', 'PageView'],
      ['track', 'Lead', {}, { eventID: lead.i }],
      ['track', 'Purchase', { order_id: 'A-77', value: 99, currency: 'EUR' }, { eventID: orderId }],
    ]);
    expect(await opened.page.evaluate(() => window.__ttq)).toEqual([
      ['Lead', {}, { event_id: lead.i }],
      ['Purchase', { order_id: 'A-77', value: 99, currency: 'EUR' }, { event_id: orderId }],
    ]);
    // The collector, unlike the pixels, gets the email (and hashes it).
    expect(lead.p).toStrictEqual({ email: 'lead@example.com' });
    await expectNoPageErrors(opened.page);
  });

  test('pixel bridge: nothing goes to the pixels after trakvo("consent", { marketing: false })', async () => {
    const opened = await h.open({ fixture: withPixels('landing.html'), path: '/get-a-quote', variant: VARIANT });
    await opened.page.evaluate(() => window.trakvo!('consent', { marketing: false, analytics: true }));
    await opened.page.click('#subscribe');
    const events = await h.events(opened.site, 2);
    expect(only(events, 'Lead').c).toStrictEqual({ m: 0, a: 1 });
    expect(await opened.page.evaluate(() => window.__fbq!.length)).toBe(2);
    expect(await opened.page.evaluate(() => window.__ttq)).toEqual([]);
  });

  test('fbq mirror (data-mirror-fbq="1"): the page’s own fbq("track") calls reach the collector with the eventID injected, never looping', async () => {
    const opened = await h.open({ fixture: withPixels('landing.html'), path: '/get-a-quote', variant: VARIANT, attrs: 'data-mirror-fbq="1"' });
    const fbqProps = await opened.page.evaluate(() => {
      const f = window.fbq as unknown as { loaded: boolean; version: string; queue: unknown[] };
      window.fbq!('track', 'AddToCart', { value: 9, currency: 'EUR', content_ids: ['sku-1'] });
      window.fbq!('track', 'Purchase', { value: 20, currency: 'EUR' }, { eventID: 'order-20-purchase' });
      window.fbq!('trackCustom', 'QuizDone', { score: 7 });
      window.fbq!('trackSingle', '1234567890', 'Lead');
      window.fbq!('init', '999');
      return [f.loaded, f.version, Array.isArray(f.queue)];
    });
    // The pixel's own properties are still there through the wrapper.
    expect(fbqProps).toEqual([true, '2.0', true]);
    // And an event t.js detects is given to fbq once, not mirrored back.
    await opened.page.click('#subscribe');
    const events = await h.events(opened.site, 5);
    expect(names(events)).toEqual(['PageView', 'AddToCart', 'Purchase', 'QuizDone', 'Lead']);
    const [, add, purchase, quiz, lead] = events;
    expect(add!.i).toMatch(UUID_V4);
    expect(add!.p).toStrictEqual({ value: 9, currency: 'EUR', content_ids: ['sku-1'] });
    expect(purchase!.i).toBe('order-20-purchase');
    expect(quiz!.p).toStrictEqual({ score: 7 });
    const fbq = await opened.page.evaluate(() => window.__fbq!);
    expect(fbq.slice(2)).toEqual([
      ['track', 'AddToCart', { value: 9, currency: 'EUR', content_ids: ['sku-1'] }, { eventID: add!.i }],
      ['track', 'Purchase', { value: 20, currency: 'EUR' }, { eventID: 'order-20-purchase' }],
      ['trackCustom', 'QuizDone', { score: 7 }, { eventID: quiz!.i }],
      ['trackSingle', '1234567890', 'Lead'],
      ['init', '999'],
      ['track', 'Lead', {}, { eventID: lead!.i }],
    ]);
    // ttq got t.js's own events only (the Lead), not the mirrored fbq calls.
    expect(await opened.page.evaluate(() => window.__ttq)).toEqual([['Lead', {}, { event_id: lead!.i }]]);
    await expectNoPageErrors(opened.page);
  });

  test('without data-mirror-fbq the page’s fbq calls stay the page’s', async () => {
    const opened = await h.open({ fixture: withPixels('landing.html'), path: '/get-a-quote', variant: VARIANT });
    await opened.page.evaluate(() => window.fbq!('track', 'AddToCart', { value: 9, currency: 'EUR' }));
    expect(names(await h.events(opened.site, 1))).toEqual(['PageView']);
    expect(await opened.page.evaluate(() => window.__fbq!.length)).toBe(3);
  });

  test('a pixel added after the DOM is ready (a tag manager) is mirrored once the page has loaded', async () => {
    const late = `<!doctype html><title>late pixel</title><!--TRAKVO-->
      <script>document.addEventListener('DOMContentLoaded', () => { window.__fbq = []; window.fbq = function () { window.__fbq.push([].slice.call(arguments)); }; });</script>
      <img src="/slow-image.png" alt="">`;
    const opened = await h.open({ fixture: late, path: '/late', variant: VARIANT, attrs: 'data-mirror-fbq="1"' });
    await opened.page.evaluate(() => window.fbq!('track', 'Lead', { value: 1, currency: 'EUR' }));
    const events = await h.events(opened.site, 2);
    expect(names(events)).toEqual(['PageView', 'Lead']);
    expect(await opened.page.evaluate(() => window.__fbq)).toEqual([['track', 'Lead', { value: 1, currency: 'EUR' }, { eventID: events[1]!.i }]]);
  });

  test('pages without e-commerce (blog post, login form) give only a PageView, and t.js touches no cookie or storage', async () => {
    await expectOnlyPageViewsWithoutCommerce(h, VARIANT, expectNoCookieOrStorageRead);
  });
});

declare global {
  interface Window {
    fbq?: (...args: unknown[]) => void;
  }
}
