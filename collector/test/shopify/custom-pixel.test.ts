// The Shopify custom pixel, run in an emulation of the Web Pixels runtime (harness.ts) with
// event payloads shaped like shopify.dev documents them (fixtures/*.json). The expected wire
// bodies are written out from those payloads, then the captured bodies are posted to a real
// collector over HTTP, which must accept them.
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express from 'express';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SiteConfig } from '../../src/config/schema.js';
import { orderEventId } from '../../src/event/order-event-id.js';
import { createCollector, type Collector } from '../../src/http/create-collector.js';
import { createLogger } from '../../src/log.js';
import { BrowserWireSchema } from '../../src/pipeline/browser-event.js';
import { hashUserData } from '../../src/pipeline/hash-user-data.js';
import { renderShopifyCustomPixel } from '../../src/shopify/custom-pixel.js';
import {
  identifiersFromPixelProps,
  isShopifyPixelRequest,
  PIXEL_COOKIE_PROPS,
  ShopifyPixelSiteSchema,
  splitPixelCookieProps,
} from '../../src/shopify/pixel-requests.js';
import { ALL_GRANTED, pixelFixture, runCustomPixel, SHOP_COOKIES, type CustomerPrivacy, type RuntimeOptions } from './harness.js';

const SITE = 'shop';
const ORIGIN = 'https://www.shop.com';
const ENDPOINT = 'https://www.shop.com/t';
const ORDER_ID = '6138412949673';
const PURCHASE_ID = orderEventId(SITE, 'Purchase', ORDER_ID);
const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

const site = (over: Record<string, unknown> = {}): SiteConfig =>
  ({
    id: SITE,
    allowedOrigins: [ORIGIN],
    defaultCountry: 'BR',
    consentDefault: { marketing: true, analytics: true },
    honorGpc: true,
    destinations: [],
    ...over,
  }) as SiteConfig;

const script = (over: Record<string, unknown> = {}, opts: { checkoutOnly?: boolean; contentId?: 'product' | 'variant' | 'sku' } = {}) =>
  renderShopifyCustomPixel(site(over), { endpoint: ENDPOINT, ...opts });

const EVENTS = [
  'page_viewed',
  'product_viewed',
  'product_added_to_cart',
  'search_submitted',
  'checkout_started',
  'payment_info_submitted',
  'checkout_completed',
] as const;

function withPrivacy(privacy: Partial<CustomerPrivacy> | undefined): Record<string, any> {
  const init = pixelFixture('init');
  if (privacy === undefined) delete init.customerPrivacy;
  else init.customerPrivacy = { ...ALL_GRANTED, ...privacy };
  return init;
}

function withOrderId(id: unknown): Record<string, any> {
  const event = pixelFixture('checkout_completed');
  event.data.checkout.order.id = id;
  return event;
}

/** Runs the pixel and publishes the given fixtures, in order (Shopify's event ids + `idSuffix`). */
async function capture(names: readonly string[], opts: RuntimeOptions = {}, scriptText = script(), idSuffix = '') {
  const runtime = runCustomPixel(scriptText, opts);
  for (const name of names) {
    const event = pixelFixture(name);
    event.id += idSuffix;
    await runtime.publish(event);
  }
  return runtime;
}

/** What the pixel reads from `browser.cookie` and sends as props (our cookies, not Shopify's). */
const COOKIE_PROPS = {
  _fbp: SHOP_COOKIES._fbp,
  _fbc: SHOP_COOKIES._fbc,
  _tk_vid: SHOP_COOKIES._tk_vid,
  _tk_sid: SHOP_COOKIES._tk_sid,
  _tk_gclid: SHOP_COOKIES._tk_gclid,
  _ga: SHOP_COOKIES._ga,
};
/** The logged-in customer from init.data.customer. */
const CUSTOMER = {
  email: 'maria.souza@example.com',
  phone: '+5511987654321',
  first_name: 'Maria',
  last_name: 'Souza',
  external_id: '7115310627314',
};
/** The buyer as the checkout reports them once the address and contact are in. */
const BUYER = {
  email: 'Maria.Souza@Example.com',
  phone: '(11) 98765-4321',
  first_name: 'Maria',
  last_name: 'Souza',
  city: 'São Paulo',
  state: 'SP',
  zip: '01310-100',
  country: 'BR',
  external_id: '7115310627314',
};
const PRODUCT_PAGE = 'https://www.shop.com/products/cafe-especial?variant=808950810&fbclid=IwAR2xYz_abc123';
const CHECKOUT_PAGE = 'https://www.shop.com/checkouts/cn/Z2NwLXVzLWVhc3QxOjAxSE5NWTJaVjFCRVpTQkdKNzg3WFRDSEdK';
const CART_LINES = {
  content_type: 'product',
  content_ids: ['632910392', '921728736'],
  contents: [
    { id: '632910392', quantity: 1, item_price: 39.9 },
    { id: '921728736', quantity: 1, item_price: 169.5 },
  ],
  num_items: 2,
};

/** The exact bodies, one per fixture, with full consent and a logged-in customer. */
const EXPECTED: Record<(typeof EVENTS)[number], Record<string, unknown>> = {
  page_viewed: {
    s: SITE,
    n: 'PageView',
    i: 'sh-88153c5a-8F2D-4CCA-3231-EF5C032A4C3B',
    u: PRODUCT_PAGE,
    r: 'https://l.facebook.com/',
    t: 'Café especial 250 g – Torrefação Demo',
    p: { ...CUSTOMER, ...COOKIE_PROPS },
    c: { m: 1, a: 1 },
    ts: Date.parse('2026-03-10T17:20:01.120Z'),
  },
  product_viewed: {
    s: SITE,
    n: 'ViewContent',
    i: 'sh-9a0b1c2d-3E4F-4A5B-6C7D-8E9F0A1B2C3D',
    u: PRODUCT_PAGE,
    r: 'https://l.facebook.com/',
    t: 'Café especial 250 g – Torrefação Demo',
    p: {
      value: 39.9,
      currency: 'BRL',
      content_type: 'product',
      content_ids: ['632910392'],
      contents: [{ id: '632910392', quantity: 1, item_price: 39.9 }],
      num_items: 1,
      content_name: 'Café especial 250 g',
      content_category: 'Café',
      ...CUSTOMER,
      ...COOKIE_PROPS,
    },
    c: { m: 1, a: 1 },
    ts: Date.parse('2026-03-10T17:20:01.480Z'),
  },
  product_added_to_cart: {
    s: SITE,
    n: 'AddToCart',
    i: 'sh-1b2c3d4e-5F6A-4B7C-8D9E-0F1A2B3C4D5E',
    u: PRODUCT_PAGE,
    r: 'https://l.facebook.com/',
    t: 'Café especial 250 g – Torrefação Demo',
    p: {
      value: 79.8,
      currency: 'BRL',
      content_type: 'product',
      content_ids: ['632910392'],
      contents: [{ id: '632910392', quantity: 2, item_price: 39.9 }],
      num_items: 2,
      content_name: 'Café especial 250 g',
      ...CUSTOMER,
      ...COOKIE_PROPS,
    },
    c: { m: 1, a: 1 },
    ts: Date.parse('2026-03-10T17:21:12.004Z'),
  },
  search_submitted: {
    s: SITE,
    n: 'Search',
    i: 'sh-2c3d4e5f-6A7B-4C8D-9E0F-1A2B3C4D5E6F',
    u: 'https://www.shop.com/search?q=moedor&options%5Bprefix%5D=last',
    r: 'https://www.shop.com/products/cafe-especial',
    t: 'Busca: moedor – Torrefação Demo',
    p: { search_string: 'moedor', content_ids: ['921728736'], ...CUSTOMER, ...COOKIE_PROPS },
    c: { m: 1, a: 1 },
    ts: Date.parse('2026-03-10T17:22:40.300Z'),
  },
  checkout_started: {
    s: SITE,
    n: 'InitiateCheckout',
    i: 'sh-3d4e5f6a-7B8C-4D9E-0F1A-2B3C4D5E6F7A',
    u: CHECKOUT_PAGE,
    r: 'https://www.shop.com/cart',
    t: 'Checkout – Torrefação Demo',
    // No contact or address yet: the logged-in customer's details.
    p: { value: 209.4, currency: 'BRL', ...CART_LINES, ...CUSTOMER, ...COOKIE_PROPS },
    c: { m: 1, a: 1 },
    ts: Date.parse('2026-03-10T17:25:02.900Z'),
  },
  payment_info_submitted: {
    s: SITE,
    n: 'AddPaymentInfo',
    i: 'sh-4e5f6a7b-8C9D-4E0F-1A2B-3C4D5E6F7A8B',
    u: CHECKOUT_PAGE,
    r: 'https://www.shop.com/cart',
    t: 'Checkout – Torrefação Demo',
    p: { value: 229.4, currency: 'BRL', ...CART_LINES, ...BUYER, ...COOKIE_PROPS },
    c: { m: 1, a: 1 },
    ts: Date.parse('2026-03-10T17:30:41.250Z'),
  },
  checkout_completed: {
    s: SITE,
    n: 'Purchase',
    i: PURCHASE_ID,
    u: 'https://www.shop.com/checkouts/c/bd5a8aa1ecd019dd3520ff791ee3a24c/thank-you',
    r: 'https://www.shop.com/cart',
    t: 'Obrigado pela compra! – Torrefação Demo',
    p: { value: 229.4, currency: 'BRL', ...CART_LINES, order_id: ORDER_ID, ...BUYER, ...COOKIE_PROPS },
    c: { m: 1, a: 1 },
    ts: Date.parse('2026-03-10T17:31:05.123Z'),
  },
};

/** Personal data and cookie props: none of these may leave without marketing consent. */
const IDENTIFYING = [...Object.keys(BUYER), ...PIXEL_COOKIE_PROPS];

describe('the rendered script', () => {
  it('inlines the site, the endpoint with the pixel key, and the content id of the order webhook', () => {
    const plain = script();
    expect(plain).toContain('const SITE = "shop";');
    expect(plain).toContain('const ENDPOINT = "https://www.shop.com/t/e";');
    expect(plain).toContain('const CONTENT_ID = "product";');
    const keyed = script({ shopifyPixel: { key: 'k3y-For_the-pixel-0001' }, webhooks: { shopify: { contentId: 'variant' } } });
    expect(keyed).toContain('const ENDPOINT = "https://www.shop.com/t/e?k=k3y-For_the-pixel-0001";');
    expect(keyed).toContain('const CONTENT_ID = "variant";');
    expect(renderShopifyCustomPixel(site(), { endpoint: 'https://t.shop.com/' })).toContain('const ENDPOINT = "https://t.shop.com/e";');
  });

  it('refuses an endpoint that is not an absolute http(s) base URL', () => {
    for (const endpoint of ['/t', 'ftp://shop.com/t', 'https://shop.com/t?x=1', 'https://shop.com/t#x', 'https://u:p@shop.com/t']) {
      expect(() => renderShopifyCustomPixel(site(), { endpoint }), endpoint).toThrow(/endpoint/);
    }
  });

  it('is plain ES2017: no later syntax, no modules, and it runs without later built-ins', () => {
    const source = script();
    const file = ts.createSourceFile('pixel.js', source, ts.ScriptTarget.Latest, true, ts.ScriptKind.JS);
    expect((file as unknown as { parseDiagnostics: unknown[] }).parseDiagnostics).toEqual([]);
    const later: string[] = [];
    const visit = (node: ts.Node): void => {
      const at = `${ts.SyntaxKind[node.kind]} "${node.getText(file).slice(0, 40)}"`;
      if (ts.isSpreadAssignment(node)) later.push(`object spread ${at}`);
      if (ts.isBindingElement(node) && node.dotDotDotToken && ts.isObjectBindingPattern(node.parent)) later.push(`object rest ${at}`);
      if ((ts.isPropertyAccessExpression(node) || ts.isElementAccessExpression(node) || ts.isCallExpression(node)) && node.questionDotToken) {
        later.push(`optional chaining ${at}`);
      }
      if (ts.isBinaryExpression(node)) {
        const op = node.operatorToken.kind;
        if (
          op === ts.SyntaxKind.QuestionQuestionToken ||
          op === ts.SyntaxKind.QuestionQuestionEqualsToken ||
          op === ts.SyntaxKind.BarBarEqualsToken ||
          op === ts.SyntaxKind.AmpersandAmpersandEqualsToken
        ) {
          later.push(`logical operator ${at}`);
        }
      }
      if (ts.isCatchClause(node) && !node.variableDeclaration) later.push(`optional catch binding ${at}`);
      if (ts.isForOfStatement(node) && node.awaitModifier) later.push(`for await ${at}`);
      if ((ts.isFunctionDeclaration(node) || ts.isFunctionExpression(node) || ts.isMethodDeclaration(node)) && node.asteriskToken) {
        if (node.modifiers?.some((m) => m.kind === ts.SyntaxKind.AsyncKeyword)) later.push(`async generator ${at}`);
      }
      if (node.kind === ts.SyntaxKind.BigIntLiteral) later.push(`BigInt ${at}`);
      if (ts.isNumericLiteral(node) && node.getText(file).includes('_')) later.push(`numeric separator ${at}`);
      if (ts.isRegularExpressionLiteral(node)) {
        const flags = node.text.slice(node.text.lastIndexOf('/') + 1);
        if (/[sdv]/.test(flags) || /\(\?<[=!A-Za-z]/.test(node.text)) later.push(`regexp feature ${at}`);
      }
      if (ts.isPrivateIdentifier(node) || ts.isPropertyDeclaration(node) || ts.isClassStaticBlockDeclaration(node)) later.push(`class field ${at}`);
      if (node.kind === ts.SyntaxKind.ImportKeyword || ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) later.push(`module ${at}`);
      ts.forEachChild(node, visit);
    };
    visit(file);
    expect(later).toEqual([]);
    expect(source).not.toMatch(/\brequire\(/);
    // The harness deletes Object.fromEntries, Array#flat, Promise#finally, … before running it.
    expect(() => runCustomPixel(source)).not.toThrow();
  });

  it('subscribes to the seven standard events, or to the checkout funnel only', () => {
    expect(runCustomPixel(script()).subscriptions().sort()).toEqual([...EVENTS].sort());
    expect(runCustomPixel(script({}, { checkoutOnly: true })).subscriptions().sort()).toEqual(
      ['checkout_completed', 'checkout_started', 'page_viewed', 'payment_info_submitted'].sort(),
    );
  });
});

describe('wire bodies', () => {
  it.each(EVENTS)('%s → its canonical event, exactly', async (name) => {
    const runtime = await capture([name]);
    expect(runtime.sent).toHaveLength(1);
    expect(runtime.sent[0]).toMatchObject({ via: 'beacon', url: 'https://www.shop.com/t/e' });
    const [wire] = runtime.wires();
    expect(wire).toEqual(EXPECTED[name]);
    expect(BrowserWireSchema.safeParse(wire).success).toBe(true);
  });

  it('reads only the cookies the collector understands, through browser.cookie', async () => {
    const runtime = await capture(['page_viewed']);
    expect([...runtime.cookieReads].sort()).toEqual([...PIXEL_COOKIE_PROPS].sort());
    expect(runtime.wires()[0]!.p).not.toHaveProperty('_shopify_y');
  });

  it('names products by variant or SKU when the site does', async () => {
    const byVariant = await capture(['checkout_completed', 'search_submitted'], {}, script({}, { contentId: 'variant' }));
    expect(byVariant.wires()[0]!.p).toMatchObject({
      content_ids: ['808950810', '457924702'],
      contents: [
        { id: '808950810', quantity: 1, item_price: 39.9 },
        { id: '457924702', quantity: 1, item_price: 169.5 },
      ],
    });
    expect(byVariant.wires()[1]!.p.content_ids).toEqual(['457924702']);
    const bySku = await capture(['checkout_completed'], {}, script({ webhooks: { shopify: { contentId: 'sku' } } }));
    expect(bySku.wires()[0]!.p.content_ids).toEqual(['CAFE-250', 'MOEDOR-1']);
  });

  it('reports only the checkout funnel in checkout-only mode, PageView only on checkout pages', async () => {
    const runtime = await capture(
      ['page_viewed', 'product_viewed', 'checkout_started', 'payment_info_submitted', 'checkout_completed'],
      {},
      script({}, { checkoutOnly: true }),
    );
    expect(runtime.wires().map((w) => w.n)).toEqual(['InitiateCheckout', 'AddPaymentInfo', 'Purchase']);
    const onCheckout = pixelFixture('page_viewed');
    onCheckout.context = pixelFixture('checkout_completed').context;
    await runtime.publish(onCheckout);
    expect(runtime.wires()[3]).toMatchObject({ n: 'PageView', u: 'https://www.shop.com/checkouts/c/bd5a8aa1ecd019dd3520ff791ee3a24c/thank-you' });
  });

  it('falls back to fetch with keepalive when sendBeacon refuses or is missing', async () => {
    for (const beacon of ['refused', 'absent'] as const) {
      const runtime = await capture(['checkout_completed'], { beacon });
      expect(runtime.sent).toHaveLength(1);
      expect(runtime.sent[0]).toMatchObject({
        via: 'fetch',
        url: 'https://www.shop.com/t/e',
        init: { method: 'POST', keepalive: true, mode: 'no-cors' },
      });
      expect(runtime.wires()[0]).toEqual(EXPECTED.checkout_completed);
    }
  });

  it('uses a fresh id when Shopify gives the event none, and skips pages that are not http(s)', async () => {
    const runtime = runCustomPixel(script());
    const event = pixelFixture('page_viewed');
    delete event.id;
    await runtime.publish(event);
    expect(runtime.wires()[0]!.i).toMatch(/^px-[a-z0-9]+-[a-z0-9]+$/);
    const sandboxed = pixelFixture('page_viewed');
    sandboxed.context.document.location.href = 'about:blank';
    await runtime.publish(sandboxed);
    expect(runtime.sent).toHaveLength(1);
  });
});

describe('Purchase event_id: the order webhook’s', () => {
  it.each([
    ['a numeric string', ORDER_ID],
    ['a number', Number(ORDER_ID)],
    ['an OrderIdentity GID', `gid://shopify/OrderIdentity/${ORDER_ID}`],
    ['an Order GID', `gid://shopify/Order/${ORDER_ID}`],
  ])('checkout.order.id as %s → orderEventId(site, "Purchase", %s)', async (_kind, id) => {
    const runtime = runCustomPixel(script());
    await runtime.publish(withOrderId(id));
    const [wire] = runtime.wires();
    expect(wire!.i).toBe(orderEventId(SITE, 'Purchase', ORDER_ID));
    expect(wire!.i).toBe('Purchase.shop.6138412949673');
    expect(wire!.p.order_id).toBe(ORDER_ID);
  });

  it('sends no Purchase without a numeric order id (the webhook reports it alone)', async () => {
    const runtime = runCustomPixel(script());
    for (const id of [null, '', 'gid://shopify/OrderIdentity/', 'not-an-order']) await runtime.publish(withOrderId(id));
    expect(runtime.sent).toEqual([]);
  });
});

describe('consent (Shopify customer privacy API)', () => {
  it('without marketing consent: c.m = 0, no personal data, no cookie read', async () => {
    const runtime = await capture(EVENTS, { init: withPrivacy({ marketingAllowed: false }) });
    expect(runtime.cookieReads).toEqual([]);
    expect(runtime.wires()).toHaveLength(EVENTS.length);
    for (const wire of runtime.wires()) {
      expect(wire.c).toEqual({ m: 0, a: 1 });
      for (const key of IDENTIFYING) expect(wire.p ?? {}, `${wire.n} ${key}`).not.toHaveProperty(key);
    }
    const purchase = runtime.wires().find((w) => w.n === 'Purchase')!;
    expect(purchase).toEqual({ ...EXPECTED.checkout_completed, p: { value: 229.4, currency: 'BRL', ...CART_LINES, order_id: ORDER_ID }, c: { m: 0, a: 1 } });
    expect(runtime.wires().find((w) => w.n === 'PageView')).not.toHaveProperty('p');
  });

  it('a refused sale of data (US opt-out) counts as no marketing consent', async () => {
    const runtime = await capture(['checkout_completed'], { init: withPrivacy({ saleOfDataAllowed: false }) });
    expect(runtime.wires()[0]!.c).toEqual({ m: 0, a: 1 });
    expect(runtime.wires()[0]!.p).not.toHaveProperty('email');
  });

  it('sends nothing when the visitor allowed neither analytics nor marketing', async () => {
    const runtime = await capture(EVENTS, { init: withPrivacy({ marketingAllowed: false, analyticsProcessingAllowed: false }) });
    expect(runtime.sent).toEqual([]);
  });

  it.each(['api', 'global'] as const)('follows visitorConsentCollected (customerPrivacy from %s)', async (privacyApi) => {
    const runtime = runCustomPixel(script(), { init: withPrivacy({ marketingAllowed: false, analyticsProcessingAllowed: false }), privacyApi });
    await runtime.publish(pixelFixture('page_viewed'));
    expect(runtime.sent).toEqual([]);
    runtime.collectConsent({ ...ALL_GRANTED, marketingAllowed: false });
    await runtime.publish(pixelFixture('product_viewed'));
    runtime.collectConsent(ALL_GRANTED);
    await runtime.publish(pixelFixture('checkout_completed'));
    const [view, purchase] = runtime.wires();
    expect(view).toMatchObject({ n: 'ViewContent', c: { m: 0, a: 1 } });
    expect(view!.p).not.toHaveProperty('email');
    expect(purchase).toEqual(EXPECTED.checkout_completed);
  });

  it('without any privacy information: no `c` (the site default applies), details included', async () => {
    const runtime = await capture(['checkout_completed'], { init: withPrivacy(undefined), privacyApi: 'none' });
    const { c: _c, ...rest } = EXPECTED.checkout_completed;
    expect(runtime.wires()[0]).toEqual(rest);
  });
});

describe('the captured bodies at a real collector', () => {
  let server: Server;
  let base: string;
  let collector: Collector;
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'trakvo-shopify-pixel-'));
    collector = createCollector(
      {
        dataDir: dir,
        sites: [{ id: SITE, allowedOrigins: [ORIGIN], defaultCountry: 'BR', destinations: [{ id: 'meta', type: 'meta', pixelId: '123', accessToken: 'tok' }] }],
      },
      { dispatch: false, logger: createLogger('silent') },
    );
    const app = express();
    app.set('trust proxy', 'loopback');
    app.use('/t', collector);
    server = await new Promise<Server>((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/t`;
  });
  afterAll(async () => {
    server?.closeAllConnections();
    await new Promise((r) => server?.close(r));
    await collector?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const post = (body: string) =>
    fetch(`${base}/e`, {
      method: 'POST',
      body,
      headers: { 'content-type': 'text/plain;charset=UTF-8', origin: ORIGIN, 'user-agent': 'Mozilla/5.0 (Macintosh) Safari/605.1.15' },
    });

  it('accepts every event the pixel sends, with and without marketing consent', async () => {
    const granted = await capture(EVENTS);
    // Other page loads: other Shopify event ids (the same id would be the same event).
    const refused = await capture(EVENTS, { init: withPrivacy({ marketingAllowed: false }) }, script(), '-b');
    for (const sent of [...granted.sent, ...refused.sent]) {
      const res = await post(sent.body);
      const wire = JSON.parse(sent.body) as { i: string; n: string };
      expect(res.status, `${wire.n}: ${await res.clone().text()}`).toBe(200);
      expect(await res.json()).toEqual({ accepted: [{ event_id: wire.i, duplicate: expect.any(Boolean) }] });
    }

    const stored = (await collector.store.getEvent(SITE, PURCHASE_ID))!.event;
    expect(stored).toMatchObject({ event_name: 'Purchase', source: 'browser', consent: { marketing: true, analytics: true } });
    expect(stored.custom).toMatchObject({
      value: 229.4,
      currency: 'BRL',
      order_id: ORDER_ID,
      content_ids: ['632910392', '921728736'],
      contents: CART_LINES.contents,
      num_items: 2,
    });
    // Hashed exactly as the order webhook hashes the same buyer.
    expect(stored.user).toMatchObject(
      hashUserData(
        { email: 'Maria.Souza@Example.com', phone: '(11) 98765-4321', first_name: 'Maria', last_name: 'Souza', city: 'São Paulo', state: 'SP', zip: '01310-100', country: 'BR', external_id: '7115310627314' },
        { defaultCountry: 'BR' },
      ),
    );
    expect(stored.user.em).toBe(sha256('maria.souza@example.com'));
    expect(JSON.stringify(stored)).not.toMatch(/Maria|98765|Paulista/);

    const noMarketing = refused.wires().find((w) => w.n === 'ViewContent')!;
    const view = (await collector.store.getEvent(SITE, noMarketing.i))!;
    expect(view.event).toMatchObject({ consent: { marketing: false, analytics: true }, user: {}, ids: {} });
    expect(view.deliveries).toEqual([expect.objectContaining({ destination: 'meta', status: 'skipped' })]);
  });
});

describe('collector side: pixel-requests', () => {
  it('turns the cookie props into identifiers, as request cookies would be read', async () => {
    const runtime = await capture(['checkout_completed']);
    const [wire] = runtime.wires();
    const { ids, props } = identifiersFromPixelProps(wire!.p, wire!.u, Date.parse('2026-03-10T17:31:06Z'));
    expect(ids).toEqual({
      fbp: SHOP_COOKIES._fbp,
      fbc: SHOP_COOKIES._fbc,
      visitor_id: SHOP_COOKIES._tk_vid,
      session_id: SHOP_COOKIES._tk_sid,
      gclid: SHOP_COOKIES._tk_gclid,
      ga_client_id: '1234567890.1741620000',
    });
    expect(props).toEqual({ value: 229.4, currency: 'BRL', ...CART_LINES, order_id: ORDER_ID, ...BUYER });
    // Malformed values are dropped, not trusted; cookie-named props never stay custom data.
    expect(identifiersFromPixelProps({ _fbp: 'not-an-fbp', _tk_vid: 'x', _fbc: 7, value: 1 }, undefined, 0)).toEqual({ ids: {}, props: { value: 1 } });
    expect(splitPixelCookieProps({ _fbp: SHOP_COOKIES._fbp, _ga: 12, currency: 'BRL' })).toEqual({
      cookies: { _fbp: SHOP_COOKIES._fbp },
      props: { currency: 'BRL' },
    });
  });

  it('recognizes the site’s pixel key, and only it', () => {
    const keyed = site({ shopifyPixel: ShopifyPixelSiteSchema.parse({ key: 'k3y-For_the-pixel-0001' }) });
    expect(isShopifyPixelRequest(keyed, 'k3y-For_the-pixel-0001')).toBe(true);
    expect(isShopifyPixelRequest(keyed, 'k3y-For_the-pixel-0002')).toBe(false);
    expect(isShopifyPixelRequest(keyed, ['k3y-For_the-pixel-0001'])).toBe(false);
    expect(isShopifyPixelRequest(keyed, undefined)).toBe(false);
    expect(isShopifyPixelRequest(site(), 'k3y-For_the-pixel-0001')).toBe(false);
    expect(ShopifyPixelSiteSchema.safeParse({ key: 'short' }).success).toBe(false);
    expect(ShopifyPixelSiteSchema.safeParse({ key: 'k3y-For_the-pixel-0001', extra: 1 }).success).toBe(false);
  });
});
