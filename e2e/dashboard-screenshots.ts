// Writes the dashboard screenshots of the README (docs/screenshots/*.png): a store with an
// hour of realistic traffic to Meta and TikTok (a TikTok outage, a few events Meta refused),
// then live events arriving while the pages are open, in real Chromium.
//
// Run (compiles into build/, which is git-ignored, so packageRoot() finds the package):
//   npx tsc e2e/dashboard-screenshots.ts --outDir build/screenshots --rootDir . --module nodenext \
//     --moduleResolution nodenext --target es2022 --lib es2023,dom --types node --skipLibCheck \
//   && node build/screenshots/e2e/dashboard-screenshots.js
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CanonicalEvent } from '../collector/src/event/schema.js';
import { startMetaGraphMock } from '../collector/src/mocks/meta-graph.js';
import { startTikTokMock } from '../collector/src/mocks/tiktok.js';
import { packageRoot } from '../collector/src/http/package-root.js';
import { openSqliteStore } from '../collector/src/store/sqlite.js';
import type { Store } from '../collector/src/store/types.js';
import { launchBrowser } from './support/browser.js';
import { CHROME_UA, startDashboardServer } from './support/dashboard-server.js';
import { sha256 } from './support/hash.js';

const PASSWORD = 'screenshot admin password';
const META = { pixelId: '1234567890', accessToken: 'meta-token' };
const TIKTOK = { pixelCode: 'CSHOPPIXEL0001', accessToken: 'tiktok-token' };
const MIN = 60_000;

/** A deterministic pseudo-random sequence, so the pictures are the same on every run. */
function seeded(seed: number): () => number {
  let x = seed;
  return () => {
    x = (x * 1_103_515_245 + 12_345) % 2 ** 31;
    return x / 2 ** 31;
  };
}

const PRODUCTS = [
  { id: 'SKU-TEE', price: 89.9 },
  { id: 'SKU-CAP', price: 59.9 },
  { id: 'SKU-BAG', price: 189 },
  { id: 'SKU-MUG', price: 39.5 },
];

function makeEvent(name: string, at: number, rnd: () => number, n: number): CanonicalEvent {
  const p = PRODUCTS[Math.floor(rnd() * PRODUCTS.length)]!;
  const identified = name === 'Purchase' || name === 'Lead' || (name === 'InitiateCheckout' && rnd() < 0.6);
  const clicked = rnd() < 0.45;
  const order = name === 'Purchase' ? `ORD-${(48_120 + n).toString()}` : undefined;
  return {
    event_id: randomUUID(),
    event_name: name,
    event_time: Math.floor(at / 1000),
    site_id: 'shop',
    source: name === 'Purchase' && rnd() < 0.3 ? 'webhook:shopify' : 'browser',
    url: name === 'Purchase' ? `https://www.shop.example/checkout/thank-you` : `https://www.shop.example/products/${p.id.toLowerCase()}`,
    ip: `198.51.100.${Math.floor(rnd() * 200) + 10}`,
    user_agent: CHROME_UA,
    user: identified ? { em: sha256(`buyer${n}@example.com`), ...(rnd() < 0.7 ? { ph: sha256(`55119${n}`) } : {}), ...(rnd() < 0.5 ? { fn: sha256('ana'), ln: sha256('souza'), zp: sha256('01310') } : {}) } : {},
    ids: {
      fbp: `fb.1.${at - 86_400_000}.${1_000_000 + n}`,
      ...(clicked ? { fbc: `fb.1.${at - 3_600_000}.IwAR${n}x`, ttclid: `E.C.P.${n}` } : {}),
      ...(rnd() < 0.7 ? { ttp: `ttp-${n}` } : {}),
      visitor_id: `v-${n % 97}`,
    },
    custom:
      name === 'Purchase'
        ? { value: p.price * 2, currency: 'BRL', order_id: order!, content_ids: [p.id], contents: [{ id: p.id, quantity: 2, item_price: p.price }], num_items: 2 }
        : name === 'AddToCart' || name === 'ViewContent'
          ? { value: p.price, currency: 'BRL', content_ids: [p.id], content_type: 'product' }
          : {},
    consent: { marketing: true, analytics: true },
  };
}

/** An hour of traffic written straight into the store, with the clock moved for each insert. */
async function seedHistory(store: Store, now: number): Promise<void> {
  const rnd = seeded(7);
  const realNow = Date.now;
  let n = 0;
  try {
    for (let m = 59; m >= 1; m--) {
      const minuteStart = now - m * MIN;
      const wave = 6 + Math.round(5 * Math.sin((59 - m) / 8) + rnd() * 5);
      for (let k = 0; k < wave; k++) {
        n++;
        const at = minuteStart + Math.floor(rnd() * MIN * 0.9);
        const r = rnd();
        const name = r < 0.5 ? 'PageView' : r < 0.72 ? 'ViewContent' : r < 0.86 ? 'AddToCart' : r < 0.93 ? 'InitiateCheckout' : r < 0.975 ? 'Purchase' : 'Lead';
        const event = makeEvent(name, at, rnd, n);
        Date.now = () => at;
        await store.insertEvents([{ event, destinations: ['meta', 'tiktok'] }]);
        const stored = (await store.getEvent('shop', event.event_id))!;
        const id = (d: string) => stored.deliveries.find((x) => x.destination === d)!.delivery_id;

        const metaLatency = 120 + Math.floor(rnd() * 500);
        if (rnd() < 0.015) {
          await store.markDead([id('meta')], {
            httpStatus: 400,
            error: 'HTTP 400 (#100) Invalid parameter: user_data.ph must be a lowercase hex SHA-256 hash',
            durationMs: 180,
            response: JSON.stringify({ error: { message: '(#100) Invalid parameter', type: 'OAuthException', code: 100, error_subcode: 2804019, fbtrace_id: 'AxYz3kQ' } }),
          }, at + metaLatency);
        } else {
          await store.markDelivered([id('meta')], { httpStatus: 200, durationMs: metaLatency - 40, response: JSON.stringify({ events_received: 1, messages: [], fbtrace_id: `A${n}trace` }) }, at + metaLatency);
        }

        // TikTok was down from 26 to 17 minutes ago: retries, then success; a few gave up.
        const outage = m <= 26 && m >= 17;
        const tt = id('tiktok');
        if (outage) {
          await store.markRetry([tt], at + 30_000, { httpStatus: 503, error: 'HTTP 503: Service Unavailable', durationMs: 2100, response: '<html><body>503 Service Unavailable</body></html>' }, at + 400);
          if (rnd() < 0.08) {
            await store.markDead([tt], { httpStatus: 200, error: 'code 40002: Invalid value for parameter event_source_id', durationMs: 260 }, now - 16 * MIN + Math.floor(rnd() * 50_000));
          } else {
            const back = now - 16 * MIN + Math.floor(rnd() * 50_000);
            await store.markDelivered([tt], { httpStatus: 200, durationMs: 310, response: JSON.stringify({ code: 0, message: 'OK', request_id: `2025${n}` }) }, back);
          }
        } else if (m <= 2 && rnd() < 0.5) {
          // Failing again right now: waiting for the next try.
          await store.markRetry([tt], now + 10 * MIN, { httpStatus: 429, error: 'HTTP 429: Too many requests, retry after 600 s', durationMs: 95 }, at + 300);
        } else {
          const lat = 200 + Math.floor(rnd() * 900);
          await store.markDelivered([tt], { httpStatus: 200, durationMs: lat - 50, response: JSON.stringify({ code: 0, message: 'OK', request_id: `2025${n}` }) }, at + lat);
        }
      }
    }
  } finally {
    Date.now = realNow;
  }
}

async function main(): Promise<void> {
  const out = join(packageRoot(), 'docs', 'screenshots');
  mkdirSync(out, { recursive: true });
  const dataDir = mkdtempSync(join(tmpdir(), 'trakvo-shots-'));
  const meta = await startMetaGraphMock({ accessToken: META.accessToken, pixelId: META.pixelId });
  const tiktok = await startTikTokMock({ accessToken: TIKTOK.accessToken, pixelCode: TIKTOK.pixelCode });

  const seedStore = openSqliteStore({ file: join(dataDir, 'trakvo.db') });
  await seedHistory(seedStore, Date.now());
  await seedStore.close();

  const srv = await startDashboardServer({
    dataDir,
    password: PASSWORD,
    sites: [
      {
        id: 'shop',
        defaultCountry: 'BR',
        destinations: [
          { id: 'meta', type: 'meta', ...META, baseUrl: meta.url },
          { id: 'tiktok', type: 'tiktok', ...TIKTOK, baseUrl: tiktok.url },
        ],
      },
    ],
  });
  const browser = await launchBrowser();
  try {
    const context = await browser.newContext({ viewport: { width: 1440, height: 900 }, deviceScaleFactor: 1 });
    const page = await context.newPage();
    await page.goto(`${srv.base}/login`);
    await page.fill('#password', PASSWORD);
    await page.click('button[type=submit]');
    await page.waitForURL(`${srv.base}/`);
    await page.locator('#live-status.on').waitFor();

    // A few events arrive while the overview is open.
    let purchaseId = '';
    for (const [i, name] of ['PageView', 'ViewContent', 'AddToCart', 'Purchase'].entries()) {
      const id = randomUUID();
      if (name === 'Purchase') purchaseId = id;
      await srv.postEvents([
        {
          s: 'shop',
          n: name,
          i: id,
          u: `${srv.origin}/products/sku-bag`,
          p:
            name === 'Purchase'
              ? { value: 378, currency: 'BRL', order_id: 'ORD-48391', email: 'ana.souza@example.com', phone: '+55 11 98765-4321', contents: [{ id: 'SKU-BAG', quantity: 2, item_price: 189 }] }
              : { value: 189, currency: 'BRL', content_ids: ['SKU-BAG'] },
        },
      ], { cookie: `_fbp=fb.1.${Date.now() - 3_600_000}.42424242; _fbc=fb.1.${Date.now() - 600_000}.IwAR0live${i}` });
      await page.waitForTimeout(250);
    }
    await page.locator(`#live tr[data-key="shop/${purchaseId}"] .chip.s-delivered`).first().waitFor({ timeout: 15_000 });
    await page.locator('#chart-deliveries canvas').waitFor();
    await page.waitForTimeout(600);
    await page.screenshot({ path: join(out, 'dashboard-overview.png'), fullPage: true });

    await page.click(`#live tr[data-key="shop/${purchaseId}"] td.name a`);
    await page.waitForURL(/\/events\/shop\//);
    await page.locator('#attempts tr').first().locator('summary').click();
    await page.screenshot({ path: join(out, 'dashboard-event.png'), fullPage: true });

    await page.goto(`${srv.base}/dead`);
    await page.screenshot({ path: join(out, 'dashboard-dead-letters.png'), fullPage: true });

    await page.goto(`${srv.base}/setup`);
    await page.screenshot({ path: join(out, 'dashboard-setup.png'), fullPage: true });
    console.log(`screenshots written to ${out}`);
  } finally {
    await browser.close();
    await srv.close();
    await meta.close();
    await tiktok.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
