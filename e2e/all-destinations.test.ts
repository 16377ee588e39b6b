// One browser Purchase, every destination: real Chromium checks out on the demo store, and
// the collector's dispatcher delivers the Purchase to a local stand-in of every platform in
// the registry (each mock enforces its platform's documented contract). The proof asked by
// the "every major ad platform" issue: the Purchase arrives exactly once everywhere, with
// the page's event_id wherever the platform deduplicates on an event id, hashed identity in
// each platform's own form, and no cleartext e-mail or phone anywhere.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDemo, type DemoServer } from '../collector/src/demo/demo-server.js';
import type { DeliveryRecord } from '../collector/src/store/types.js';
import { startGa4Mock, type RunningGa4Mock } from '../collector/src/mocks/ga4.js';
import { startLinkedinMock, type RunningLinkedinMock } from '../collector/src/mocks/linkedin.js';
import { startMetaGraphMock, type RunningMetaGraphMock } from '../collector/src/mocks/meta-graph.js';
import { startMicrosoftMock, type RunningMicrosoftMock } from '../collector/src/mocks/microsoft.js';
import { startPinterestMock, type RunningPinterestMock } from '../collector/src/mocks/pinterest.js';
import { startRedditMock, type RunningRedditMock } from '../collector/src/mocks/reddit.js';
import { startSnapchatMock, type RunningSnapchatMock } from '../collector/src/mocks/snapchat.js';
import { startTikTokMock, type RunningTikTokMock } from '../collector/src/mocks/tiktok.js';
import { startTracifyMock, type RunningTracifyMock } from '../collector/src/mocks/tracify.js';
import { startWebhookMock, type RunningWebhookMock } from '../collector/src/mocks/webhook.js';
import { captureBeacons, waitForBeacon } from './support/beacons.js';
import { launchBrowser } from './support/browser.js';
import { sha256 } from './support/hash.js';
import { metaEvents } from './support/meta-events.js';
import { waitFor } from './support/wait.js';

const HOST = 'www.shop.test';

// What the shopper types, and its normalized forms (Meta's rules, applied at ingest).
const TYPED_EMAIL = '  Buyer.All@Example.COM ';
const EMAIL = 'buyer.all@example.com';
const TYPED_PHONE = '(11) 98765-4321';
const PHONE = '5511987654321'; // digits with country code (the demo's defaultCountry is BR)
const EM = sha256(EMAIL);
const PH = sha256(PHONE); // Meta, Pinterest, Snap, Microsoft: no `+`
const PH_E164 = sha256(`+${PHONE}`); // TikTok, GA4, Reddit: E.164 with `+`

// The browser's gtag cookies: the GA4 client id and session id server events must join.
const GA_COOKIE = 'GA1.1.1234567890.1700000000';
const GA_CLIENT_ID = '1234567890.1700000000';
const GA_SESSION_COOKIE = 'GS1.1.1700000123.1.1.1700000123.0.0.0';
const GA_SESSION_ID = '1700000123';

const CREDS = {
  meta: { pixelId: '112233445566', accessToken: 'meta-e2e-token' },
  tiktok: { pixelCode: 'CE2EALLDESTS0000TEST', accessToken: 'tiktok-e2e-token' },
  ga4: { measurementId: 'G-E2EALL123', apiSecret: 'ga4-e2e-secret' },
  pinterest: { adAccountId: '549755885175', accessToken: 'pinterest-e2e-token' },
  snapchat: { pixelId: '4a018335-717f-41dd-a66e-58eb2473aa61', accessToken: 'snap-e2e-token' },
  reddit: { pixelId: 'a2_e2ealltest', accessToken: 'reddit-e2e-token' },
  linkedin: { accessToken: 'linkedin-e2e-token', rule: 'urn:lla:llaPartnerConversion:7654321' },
  microsoft: { tagId: '187000123', accessToken: 'microsoft-e2e-token' },
  tracify: { customerSiteId: '3f6c2d1e-8b7a-4c5d-9e0f-112233445566', apiToken: 'tracify-e2e-token' },
  webhook: { secret: 'whsec-e2e-all-destinations-0123456789', path: '/hooks/trakvo' },
} as const;

/** How long a wait may take: ten destinations have to settle. */
const WAIT_MS = 20_000;

type Rec = Record<string, unknown>;
const obj = (v: unknown): Rec => (typeof v === 'object' && v !== null ? (v as Rec) : {});

interface Mocks {
  meta: RunningMetaGraphMock;
  tiktok: RunningTikTokMock;
  ga4: RunningGa4Mock;
  pinterest: RunningPinterestMock;
  snapchat: RunningSnapchatMock;
  reddit: RunningRedditMock;
  linkedin: RunningLinkedinMock;
  microsoft: RunningMicrosoftMock;
  tracify: RunningTracifyMock;
  webhook: RunningWebhookMock;
}

let mocks: Partial<Mocks> = {};
let demo: DemoServer;
let browser: Browser;
let context: BrowserContext | undefined;
let dataDir: string;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'trakvo-e2e-all-'));
  const [meta, tiktok, ga4, pinterest, snapchat, reddit, linkedin, microsoft, tracify, webhook] = await Promise.all([
    startMetaGraphMock({ accessToken: CREDS.meta.accessToken, pixelId: CREDS.meta.pixelId }),
    startTikTokMock({ accessToken: CREDS.tiktok.accessToken, pixelCode: CREDS.tiktok.pixelCode }),
    startGa4Mock({ measurementId: CREDS.ga4.measurementId, apiSecret: CREDS.ga4.apiSecret }),
    startPinterestMock({ accessToken: CREDS.pinterest.accessToken, adAccountId: CREDS.pinterest.adAccountId }),
    startSnapchatMock({ accessToken: CREDS.snapchat.accessToken, pixelId: CREDS.snapchat.pixelId }),
    startRedditMock({ accessToken: CREDS.reddit.accessToken, pixelId: CREDS.reddit.pixelId }),
    startLinkedinMock({ accessToken: CREDS.linkedin.accessToken, conversions: [CREDS.linkedin.rule] }),
    startMicrosoftMock({ accessToken: CREDS.microsoft.accessToken, tagId: CREDS.microsoft.tagId }),
    startTracifyMock({ apiToken: CREDS.tracify.apiToken, customerSiteId: CREDS.tracify.customerSiteId }),
    startWebhookMock({ secret: CREDS.webhook.secret }),
  ]);
  mocks = { meta, tiktok, ga4, pinterest, snapchat, reddit, linkedin, microsoft, tracify, webhook };

  demo = await startDemo({
    port: 0,
    dataDir,
    extraHosts: [HOST],
    meta: { baseUrl: meta.url, ...CREDS.meta },
    destinations: [
      { id: 'tiktok', type: 'tiktok', baseUrl: tiktok.url, pixelCode: CREDS.tiktok.pixelCode, accessToken: CREDS.tiktok.accessToken },
      { id: 'ga4', type: 'ga4', baseUrl: ga4.url, measurementId: CREDS.ga4.measurementId, apiSecret: CREDS.ga4.apiSecret },
      { id: 'pinterest', type: 'pinterest', baseUrl: pinterest.url, adAccountId: CREDS.pinterest.adAccountId, accessToken: CREDS.pinterest.accessToken },
      { id: 'snapchat', type: 'snapchat', baseUrl: snapchat.url, pixelId: CREDS.snapchat.pixelId, accessToken: CREDS.snapchat.accessToken },
      { id: 'reddit', type: 'reddit', baseUrl: reddit.url, pixelId: CREDS.reddit.pixelId, accessToken: CREDS.reddit.accessToken },
      // LinkedIn has no event names: an event reaches it only through a conversion rule.
      { id: 'linkedin', type: 'linkedin', baseUrl: linkedin.url, accessToken: CREDS.linkedin.accessToken, conversions: { Purchase: CREDS.linkedin.rule } },
      { id: 'microsoft', type: 'microsoft', baseUrl: microsoft.url, tagId: CREDS.microsoft.tagId, accessToken: CREDS.microsoft.accessToken },
      { id: 'tracify', type: 'tracify', baseUrl: tracify.url, customerSiteId: CREDS.tracify.customerSiteId, apiToken: CREDS.tracify.apiToken },
      { id: 'webhook', type: 'webhook', url: `${webhook.url}${CREDS.webhook.path}`, secret: CREDS.webhook.secret },
    ],
    dispatch: { pollMs: 50 },
  });
  browser = await launchBrowser({ hostMap: [HOST] });
});

afterAll(async () => {
  await context?.close();
  await browser?.close();
  await demo?.close();
  await Promise.all(Object.values(mocks).map((m) => m.close()));
  rmSync(dataDir, { recursive: true, force: true });
});

describe('browser Purchase → every configured destination', () => {
  it('reaches each platform exactly once, with the page’s event_id where the platform dedups on it', { timeout: 60_000 }, async () => {
    const m = mocks as Mocks;
    const base = `http://${HOST}:${demo.port}`;
    context = await browser.newContext();
    // The gtag's cookies, set before any page loads, so GA4 gets the browser's own ids.
    await context.addCookies([
      { name: '_ga', value: GA_COOKIE, domain: '.shop.test', path: '/' },
      { name: '_ga_E2EALL123', value: GA_SESSION_COOKIE, domain: '.shop.test', path: '/' },
    ]);
    const page = await context.newPage();
    const beacons = captureBeacons(page);

    await page.goto(`${base}/product/SKU-2`);
    await page.click('#checkout');
    await page.fill('input[name=email]', TYPED_EMAIL);
    await page.fill('input[name=phone]', TYPED_PHONE);
    await page.click('#pay');
    await page.waitForSelector('#order');
    const orderId = (await page.textContent('#order'))?.trim() ?? '';
    expect(orderId).toMatch(/^ORD-/);
    const purchase = await waitForBeacon(beacons, 'Purchase', WAIT_MS);
    const eventId = purchase.i;
    const userAgent = await page.evaluate(() => navigator.userAgent);

    // Every configured destination has settled the Purchase (none left pending).
    const destinationIds = ['meta', 'tiktok', 'ga4', 'pinterest', 'snapchat', 'reddit', 'linkedin', 'microsoft', 'tracify', 'webhook'];
    const deliveries = await waitFor(async () => {
      const stored = await demo.collector.store.getEvent('demo', eventId);
      const ds = stored?.deliveries ?? [];
      return ds.length === destinationIds.length && ds.every((d) => d.status !== 'pending') ? ds : undefined;
    }, 'the Purchase to settle at every destination', WAIT_MS);
    const byDestination = new Map<string, DeliveryRecord>(deliveries.map((d) => [d.destination, d]));
    for (const id of destinationIds) {
      const d = byDestination.get(id);
      // The message names the platform and its answer when a delivery failed or was skipped.
      expect({ id, status: d?.status, error: d?.last_error ?? null }, id).toEqual({ id, status: 'delivered', error: null });
      expect(d?.attempts, `${id} attempts`).toBe(1);
    }

    // ── Meta CAPI: dedups on event_id (with the browser pixel's eventID).
    const metaPurchases = metaEvents(m.meta).filter((e) => e.event_name === 'Purchase');
    expect(metaPurchases).toHaveLength(1);
    const metaP = metaPurchases[0]!;
    expect(metaP.event_id).toBe(eventId);
    expect(obj(metaP.user_data).em).toBe(EM);
    expect(obj(metaP.user_data).ph).toBe(PH);
    expect(obj(metaP.custom_data).order_id).toBe(orderId);

    // ── TikTok Events API: dedups on event_id (pixel code + event + event_id).
    const tiktokPurchases = m.tiktok.received.flatMap((b) => b.events).filter((e) => e.event === 'Purchase');
    expect(tiktokPurchases).toHaveLength(1);
    const tiktokP = tiktokPurchases[0]!;
    expect(tiktokP.event_id).toBe(eventId);
    expect(obj(tiktokP.user).email).toBe(EM);
    expect(obj(tiktokP.user).phone).toBe(PH_E164);
    expect(obj(tiktokP.user).user_agent).toBe(userAgent);
    expect(obj(tiktokP.properties)).toMatchObject({ value: 189, currency: 'BRL', order_id: orderId });
    expect(m.tiktok.received.every((b) => b.pixelCode === CREDS.tiktok.pixelCode)).toBe(true);

    // ── GA4 Measurement Protocol: no event-id dedup; purchases dedup on transaction_id, which
    // must be the order id. Google answers 204 even to what it drops, so nothing may be rejected.
    expect(m.ga4.rejected.map((r) => r.validationMessages)).toEqual([]);
    const ga4Requests = m.ga4.received.filter((r) => r.events.some((e) => e.name === 'purchase'));
    expect(ga4Requests).toHaveLength(1);
    const ga4Request = ga4Requests[0]!;
    const ga4Purchases = ga4Request.events.filter((e) => e.name === 'purchase');
    expect(ga4Purchases).toHaveLength(1);
    const ga4P = ga4Purchases[0]!;
    expect(ga4P.params?.transaction_id).toBe(orderId);
    // Not a dedup key for Google, but sent so the hit can be joined to Trakvo's log.
    expect(ga4P.params?.event_id).toBe(eventId);
    expect(ga4P.params).toMatchObject({ value: 189, currency: 'BRL', session_id: GA_SESSION_ID });
    expect(Number(ga4P.params?.engagement_time_msec)).toBeGreaterThan(0);
    expect(ga4Request.clientId).toBe(GA_CLIENT_ID);
    expect(obj(ga4Request.body.user_data).sha256_email_address).toEqual([EM]);
    expect(obj(ga4Request.body.user_data).sha256_phone_number).toEqual([PH_E164]);

    // ── Pinterest CAPI: dedups on event_id (with the tag's event_id); Purchase is `checkout`.
    const pinterestPurchases = m.pinterest.received.flatMap((b) => b.events).filter((e) => e.event_name === 'checkout');
    expect(pinterestPurchases).toHaveLength(1);
    const pinterestP = pinterestPurchases[0]!;
    expect(pinterestP.event_id).toBe(eventId);
    expect(obj(pinterestP.user_data).em).toEqual([EM]);
    expect(obj(pinterestP.user_data).ph).toEqual([PH]);
    expect(obj(pinterestP.custom_data)).toMatchObject({ value: '189', currency: 'BRL', order_id: orderId });
    expect(m.pinterest.received.every((b) => !b.test)).toBe(true);

    // ── Snapchat CAPI: dedups event_id against the pixel's client_dedup_id.
    const snapPurchases = m.snapchat.received.flatMap((b) => b.events).filter((e) => e.event_name === 'PURCHASE');
    expect(snapPurchases).toHaveLength(1);
    const snapP = snapPurchases[0]!;
    expect(snapP.event_id).toBe(eventId);
    expect(snapP.action_source).toBe('WEB');
    expect(obj(snapP.user_data).em).toEqual([EM]);
    expect(obj(snapP.user_data).ph).toEqual([PH]);
    expect(obj(snapP.custom_data)).toMatchObject({ value: 189, currency: 'BRL', order_id: orderId });
    expect(m.snapchat.received.every((b) => !b.validate)).toBe(true);

    // ── Reddit CAPI v3: dedups on metadata.conversion_id (the pixel's conversionId).
    const redditPurchases = m.reddit.received.flatMap((b) => b.events).filter((e) => obj(e.type).tracking_type === 'PURCHASE');
    expect(redditPurchases).toHaveLength(1);
    const redditP = redditPurchases[0]!;
    expect(obj(redditP.metadata).conversion_id).toBe(eventId);
    expect(obj(redditP.metadata)).toMatchObject({ value: 189, currency: 'BRL' });
    expect(obj(redditP.user).email).toBe(EM);
    expect(obj(redditP.user).phone_number).toBe(PH_E164);
    expect(obj(redditP.user).ip_address).toBe(sha256('127.0.0.1'));
    expect(m.reddit.received.every((b) => b.testId === undefined)).toBe(true);

    // ── LinkedIn CAPI: dedups on eventId; only Purchase has a conversion rule, so it is all
    // LinkedIn receives.
    const linkedinEvents = m.linkedin.received.flatMap((r) => r.events);
    expect(m.linkedin.received.every((r) => r.rejected === 0)).toBe(true);
    expect(linkedinEvents).toHaveLength(1);
    const linkedinP = linkedinEvents[0]!;
    expect(linkedinP.eventId).toBe(eventId);
    expect(linkedinP.conversion).toBe(CREDS.linkedin.rule);
    expect(obj(linkedinP.conversionValue)).toEqual({ currencyCode: 'BRL', amount: '189' });
    expect(obj(linkedinP.user).userIds).toEqual(expect.arrayContaining([{ idType: 'SHA256_EMAIL', idValue: EM }]));

    // ── Microsoft UET CAPI: dedups on eventId (with the UET tag's event of the same action).
    expect(m.microsoft.received.every((b) => b.refused.length === 0)).toBe(true);
    const microsoftPurchases = m.microsoft.received.flatMap((b) => b.events).filter((e) => e.eventName === 'purchase');
    expect(microsoftPurchases).toHaveLength(1);
    const microsoftP = microsoftPurchases[0]!;
    expect(microsoftP.eventId).toBe(eventId);
    expect(obj(microsoftP.userData).em).toBe(EM);
    expect(obj(microsoftP.userData).ph).toBe(PH);
    expect(obj(microsoftP.customData)).toMatchObject({ value: 189, currency: 'BRL', transactionId: orderId, pageType: 'purchase' });

    // ── Tracify: no event id; it ignores a purchase whose order id it has seen, so the order
    // id is the dedup key. Its identity_data key for the e-mail is its documented
    // anonymization of our hash: sha256(sha256(email) without its last 5 hex digits).
    expect(m.tracify.received.flatMap((b) => b.duplicateOrderIds)).toEqual([]);
    const tracifyPurchases = m.tracify.received.flatMap((b) => b.events).filter((e) => e.type === 'purchase');
    expect(tracifyPurchases).toHaveLength(1);
    const tracifyP = tracifyPurchases[0]!;
    expect(obj(tracifyP.data)).toMatchObject({ order_id: orderId, currency: 'BRL', amount: '189,00', origin: base });
    expect(tracifyP.customer_site_id).toBe(CREDS.tracify.customerSiteId);
    expect(obj(tracifyP.identity_data)[sha256(EM.slice(0, -5))]).toBe(1);
    // The shopper's session: IP|UA anonymized the same way.
    expect(obj(tracifyP.identity_data)[sha256(sha256(`127.0.0.1|${userAgent}`).slice(0, -5))]).toBe(2);

    // ── Signed webhook: the receiver dedups on X-Trakvo-Delivery-Id (= the event_id for a
    // single event) and the body's event_id.
    expect(m.webhook.duplicates).toEqual([]);
    const webhookPurchases = m.webhook.received.filter((d) => d.events.some((e) => e.event_name === 'Purchase'));
    expect(webhookPurchases).toHaveLength(1);
    const webhookP = webhookPurchases[0]!;
    expect(webhookP.path).toBe(CREDS.webhook.path);
    expect(webhookP.batch).toBe(false);
    expect(webhookP.deliveryId).toBe(eventId);
    expect(webhookP.events).toHaveLength(1);
    expect(webhookP.events[0]!.event_id).toBe(eventId);
    expect(webhookP.events[0]!.user.em).toBe(EM);
    expect(webhookP.events[0]!.custom.order_id).toBe(orderId);

    // No cleartext e-mail or phone reached any platform, in any form the shopper typed it
    // or normalized (GA4's dropped and validated payloads included). Phone fragments are long
    // enough never to occur by chance in a hex hash or a timestamp.
    const everything = JSON.stringify({
      meta: m.meta.received,
      tiktok: m.tiktok.received,
      ga4: [m.ga4.received, m.ga4.rejected, m.ga4.validated],
      pinterest: m.pinterest.received,
      snapchat: m.snapchat.received,
      reddit: m.reddit.received,
      linkedin: m.linkedin.received,
      microsoft: m.microsoft.received,
      tracify: m.tracify.received,
      webhook: m.webhook.received,
    });
    for (const clear of ['buyer.all', 'example.com', '98765-4321', PHONE]) expect(everything.toLowerCase()).not.toContain(clear);
  });
});
