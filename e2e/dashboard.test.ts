// The dashboard in real Chromium: log in, watch an event arrive live and open it, replay a
// dead letter and watch it turn delivered, and an event name full of markup stays text.
// Real collector, real SQLite, real HTTP; Meta is the local Graph API stand-in.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMetaGraphMock, type RunningMetaGraphMock } from '../collector/src/mocks/meta-graph.js';
import { launchBrowser } from './support/browser.js';
import { startDashboardServer, type DashboardServer } from './support/dashboard-server.js';
import { waitForDelivery } from './support/deliveries.js';
import { metaEventsWithId } from './support/meta-events.js';

const PIXEL = '555000111';
const TOKEN = 'dash-e2e-token';
const PASSWORD = 'e2e admin password 42';
const XSS_NAME = '<img src=x onerror="window.__xss=1">';

let mock: RunningMetaGraphMock;
let srv: DashboardServer;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let dataDir: string;

const newId = () => `e2e-${randomUUID()}`;

async function post(n: string, i: string, p: Record<string, unknown> = {}): Promise<void> {
  const res = await srv.postEvents([{ s: 'shop', n, i, p }]);
  expect(res.status).toBe(200);
}

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'trakvo-dash-e2e-'));
  mock = await startMetaGraphMock({ accessToken: TOKEN, pixelId: PIXEL });
  srv = await startDashboardServer({
    dataDir,
    password: PASSWORD,
    sites: [{ id: 'shop', destinations: [{ id: 'meta', type: 'meta', pixelId: PIXEL, accessToken: TOKEN, baseUrl: mock.url }] }],
  });
  browser = await launchBrowser();
  context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  // Any CSP violation (an inline script or style somewhere, uPlot included) is recorded.
  await context.addInitScript(() => {
    const w = window as unknown as { __csp: string[] };
    w.__csp = [];
    document.addEventListener('securitypolicyviolation', (e) => w.__csp.push(`${e.violatedDirective} ${e.blockedURI}`));
  });
  page = await context.newPage();
  page.setDefaultTimeout(10_000);
});

afterAll(async () => {
  await context?.close();
  await browser?.close();
  await srv?.close();
  await mock?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

const cspViolations = () => page.evaluate(() => (window as unknown as { __csp: string[] }).__csp);

describe('dashboard in Chromium', () => {
  it('asks for the password, refuses a wrong one, and logs in', async () => {
    await page.goto(`${srv.base}/`);
    expect(new URL(page.url()).pathname).toBe('/t/admin/login');
    await page.fill('#password', 'not the password');
    await page.click('button[type=submit]');
    await expect.poll(() => page.textContent('.flash')).toContain('Wrong password');

    await page.fill('#password', PASSWORD);
    await page.click('button[type=submit]');
    await page.waitForURL(`${srv.base}/`);
    expect(await page.textContent('h2')).toBeTruthy();
    const cookie = (await context.cookies()).find((c) => c.name === 'trakvo_admin')!;
    expect(cookie.httpOnly).toBe(true);
    expect(cookie.sameSite).toBe('Strict');
    expect(cookie.path).toBe('/t/admin');
  });

  it('draws both charts with uPlot, within the CSP', async () => {
    await page.locator('#chart-events canvas').waitFor();
    await page.locator('#chart-deliveries canvas').waitFor();
    await page.click('[data-range="24h"]');
    await expect.poll(() => page.getAttribute('[data-range="24h"]', 'aria-pressed')).toBe('true');
    await page.locator('#chart-events canvas').waitFor();
    expect(await cspViolations()).toEqual([]);
  });

  it('shows a new event live, without reloading, with its destination turning delivered', async () => {
    await page.locator('#live-status.on').waitFor();
    await page.evaluate(() => ((window as unknown as { __same: boolean }).__same = true));
    const id = newId();
    await post('AddToCart', id, { value: 49.9, currency: 'BRL', content_ids: ['SKU-9'], email: 'live@example.com' });

    const row = page.locator(`#live tr[data-key="shop/${id}"]`);
    await row.waitFor({ timeout: 10_000 });
    expect(await row.locator('td.name a').textContent()).toBe('AddToCart');
    await row.locator('.chip.s-delivered').waitFor({ timeout: 10_000 });
    expect(await row.locator('.chip').textContent()).toBe('meta');
    expect(await page.evaluate(() => (window as unknown as { __same?: boolean }).__same)).toBe(true);
  });

  it('opens the event: every attempt and the platform’s answer, and our match quality', async () => {
    const id = (await page.locator('#live tr td.name .sub').first().textContent())!;
    await page.click(`#live tr[data-key="shop/${id}"] td.name a`);
    await page.waitForURL(/\/t\/admin\/events\/shop\//);
    expect(await page.textContent('h1')).toBe('AddToCart');
    const attempt = page.locator('#attempts tr').first();
    expect(await attempt.locator('.badge').textContent()).toBe('delivered');
    expect(await attempt.locator('td').nth(3).textContent()).toBe('200');
    await attempt.locator('summary').click();
    const answer = JSON.parse((await attempt.locator('pre').textContent())!) as { events_received: number };
    expect(answer.events_received).toBe(1);
    expect(await page.textContent('.big-score .quality')).toMatch(/^\d+\.\d$/);
    expect(await page.textContent('main')).toContain('not Meta');
    expect(await cspViolations()).toEqual([]);
  });

  it('replays a dead letter and watches it turn delivered', async () => {
    // Meta refuses the next request for good (a permanent error): the event is dead-lettered.
    mock.script([{ status: 400, body: { error: { message: '(#100) Invalid parameter', type: 'OAuthException', code: 100, fbtrace_id: 'Atrace' } } }]);
    const id = newId();
    await post('Lead', id, { email: 'dead@example.com' });
    await waitForDelivery(srv.collector.store, 'shop', id, 'dead', 'the delivery to die');

    await page.goto(`${srv.base}/dead`);
    const row = page.locator('#dead tr', { hasText: id });
    expect(await row.locator('.error-text').textContent()).toContain('Invalid parameter');
    expect(await row.locator('.badge').textContent()).toBe('dead');
    const sameDocument = await page.evaluate(() => ((window as unknown as { __same: boolean }).__same = true));
    expect(sameDocument).toBe(true);

    await row.locator('button', { hasText: 'Replay' }).click();
    await row.locator('.badge.s-delivered').waitFor({ timeout: 15_000 });
    expect(await row.locator('.badge').textContent()).toBe('delivered');
    expect(await page.evaluate(() => (window as unknown as { __same?: boolean }).__same)).toBe(true);
    // Meta got it exactly once: the refused request counted nothing.
    const atMeta = metaEventsWithId(mock, id);
    expect(atMeta).toHaveLength(1);

    // The event's page tells the whole story: dead, then delivered after the replay.
    await page.goto(`${srv.base}/events/shop/${id}`);
    const outcomes = await page.locator('#attempts .badge').allTextContents();
    expect(outcomes).toEqual(['dead', 'delivered']);
  });

  it('replays from the event’s page: its deliveries and attempts update in place', async () => {
    mock.script([{ status: 400, body: { error: { message: '(#100) Invalid parameter', type: 'OAuthException', code: 100, fbtrace_id: 'Btrace' } } }]);
    const id = newId();
    await post('Purchase', id, { value: 12, currency: 'BRL', order_id: `ORD-${id}` });
    await waitForDelivery(srv.collector.store, 'shop', id, 'dead', 'the delivery to die');

    await page.goto(`${srv.base}/events?q=ORD-${id}`);
    await page.click('#events td.name a');
    await page.waitForURL(/\/events\/shop\//);
    await page.evaluate(() => ((window as unknown as { __same: boolean }).__same = true));
    await page.locator('#attempts tr summary').first().click();
    expect(await page.locator('#attempts .badge').allTextContents()).toEqual(['dead']);

    await page.locator('#deliveries button', { hasText: 'Replay' }).click();
    await page.locator('#deliveries .badge.s-delivered').waitFor({ timeout: 15_000 });
    await expect.poll(() => page.locator('#attempts .badge').allTextContents()).toEqual(['dead', 'delivered']);
    // The answer the reader had opened is still open; the new one shows Meta's reply.
    expect(await page.locator('#attempts tr details').first().getAttribute('open')).not.toBeNull();
    await page.locator('#attempts tr summary').nth(1).click();
    expect(JSON.parse((await page.locator('#attempts tr pre').nth(1).textContent())!)).toMatchObject({ events_received: 1 });
    expect(await page.evaluate(() => (window as unknown as { __same?: boolean }).__same)).toBe(true);
  });

  it('renders an event name made of markup as text, live and on its page', async () => {
    await page.goto(`${srv.base}/`);
    await page.locator('#live-status.on').waitFor();
    const id = newId();
    await post(XSS_NAME, id);
    const row = page.locator(`#live tr[data-key="shop/${id}"]`);
    await row.waitFor({ timeout: 10_000 });
    expect(await row.locator('td.name a').textContent()).toBe(XSS_NAME);
    expect(await page.locator('main img').count()).toBe(0);

    await page.goto(`${srv.base}/events?q=${encodeURIComponent(id)}`);
    expect(await page.locator('#events td.name a').textContent()).toBe(XSS_NAME);
    await page.click('#events td.name a');
    await page.waitForURL(/\/events\/shop\//);
    expect(await page.textContent('h1')).toBe(XSS_NAME);
    expect(await page.locator('main img').count()).toBe(0);
    expect(await page.title()).toContain(XSS_NAME);
    expect(await page.evaluate(() => (window as unknown as { __xss?: number }).__xss)).toBeUndefined();
    expect(await cspViolations()).toEqual([]);
  });
});
