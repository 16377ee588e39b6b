// Four stores on one local HTTP server, each on its own host name (the browser maps them to
// 127.0.0.1), each a collector site with its own Meta pixel, and a REAL collector mounted at
// /t on every one of them, delivering to the local Graph API stand-in that enforces Meta's
// contract:
//
//   dawn  www.dawn-store.test   a Shopify store on the Dawn theme          t.shopify.js
//   woo   www.woo-store.test    a WooCommerce store on Storefront          t.woo.js
//   ga4   www.ga4-store.test    a store pushing GA4 / UA e-commerce        t.datalayer.js
//   acme  www.acme-solar.test   a custom site: landing, blog, login, …     t.js
//
// The pages are the detector tests' fixtures (snippet/test/fixtures) and this folder's own
// (e2e/fixtures), with the t.js tag of the store's build put in place of <!--TRAKVO-->. The
// fake platform endpoints those pages call (Shopify's Ajax Cart API, WooCommerce's
// ?wc-ajax=add_to_cart) answer as the platforms do and record what they got.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import express, { type Request, type RequestHandler, type Router } from 'express';
import { createCollector, type Collector } from '../../collector/src/http/create-collector.js';
import { createLogger } from '../../collector/src/log.js';
import { startMetaGraphMock, type RunningMetaGraphMock } from '../../collector/src/mocks/meta-graph.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const FIXTURE_DIRS = [join(ROOT, 'e2e/fixtures'), join(ROOT, 'snippet/test/fixtures')];

export const META_TOKEN = 'e2e-auto-detection-token';

export type StoreName = 'dawn' | 'woo' | 'ga4' | 'acme';

export interface Store {
  /** The collector site id (and data-site of the tag). */
  site: string;
  host: string;
  /** The Meta pixel the site delivers to. */
  pixelId: string;
  /** The build the store's pages load, from /t/. */
  build: string;
}

export const STORES: Record<StoreName, Store> = {
  dawn: { site: 'dawn', host: 'www.dawn-store.test', pixelId: '100000000000001', build: 't.shopify.js' },
  woo: { site: 'woo', host: 'www.woo-store.test', pixelId: '100000000000002', build: 't.woo.js' },
  ga4: { site: 'ga4', host: 'www.ga4-store.test', pixelId: '100000000000003', build: 't.datalayer.js' },
  acme: { site: 'acme', host: 'www.acme-solar.test', pixelId: '100000000000004', build: 't.js' },
};

export const STORE_HOSTS = Object.values(STORES).map((s) => s.host);

/**
 * The legacy Shopify order status page build: t.shopify.js plus the `shopify_thankyou`
 * reader, which a merchant pastes into the checkout's "additional scripts" (the standard
 * t.shopify.js leaves it out: with Checkout Extensibility theme scripts no longer run there).
 * Not one of the standard builds the collector serves, so this server serves it next to them.
 */
export const SHOPIFY_THANKYOU_BUILD = 't.shopify-thankyou.js';

/** How a page is made: a fixture (or literal HTML) with the t.js tag in place of <!--TRAKVO-->. */
export interface PageSpec {
  /** File name in e2e/fixtures or snippet/test/fixtures, or literal HTML (starting with "<"). */
  fixture: string;
  /** Defaults to the store's build. */
  build?: string;
  /** Extra attributes of the t.js tag, e.g. data-currency="EUR". */
  attrs?: string;
  /** Edits the HTML before it is served (e.g. to break its JSON-LD). */
  edit?: (html: string) => string;
}

/** A request a page made to a fake platform endpoint. */
export interface PlatformRequest {
  store: StoreName;
  method: string;
  path: string;
  query: string;
  contentType: string | undefined;
  body: string;
  /** Tells apart the browser contexts of the tests (each has its own user agent). */
  userAgent: string;
}

export interface StorePages {
  port: number;
  collector: Collector;
  meta: RunningMetaGraphMock;
  /** http://<host>:<port> of a store. */
  origin(store: StoreName): string;
  url(store: StoreName, path: string): string;
  /** Serves (or replaces) a page of a store at `path` (without the query string). */
  page(store: StoreName, path: string, spec: PageSpec): void;
  /** What the fake platform endpoints received, in arrival order. */
  platformRequests: PlatformRequest[];
  /** Holds every POST /t/e this long before the collector sees it (0: not at all). */
  delayEvents(ms: number): void;
  close(): Promise<void>;
}

function readFixture(name: string): string {
  const dir = FIXTURE_DIRS.find((d) => existsSync(join(d, name)));
  if (!dir) throw new Error(`no fixture ${name} in ${FIXTURE_DIRS.join(' or ')}`);
  return readFileSync(join(dir, name), 'utf8');
}

/** Builds the legacy thank-you variant into a temporary folder; returns its code. */
function buildShopifyThankyou(): Buffer {
  const dir = mkdtempSync(join(tmpdir(), 'trakvo-e2e-build-'));
  try {
    const out = join(dir, SHOPIFY_THANKYOU_BUILD);
    execFileSync('npx', ['rollup', '-c', 'rollup.config.mjs', '--silent'], {
      cwd: ROOT,
      stdio: 'pipe',
      env: { ...process.env, TRAKVO_FEATURES: 'shopify,shopify_thankyou', TRAKVO_OUT: out },
    });
    return readFileSync(out);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The standard pages of each store; tests add more with `page()`. */
const STANDARD_PAGES: [StoreName, string, PageSpec][] = [
  // Shopify, Dawn theme.
  ['dawn', '/products/trail-runner', { fixture: 'shopify-product.html' }],
  ['dawn', '/cart', { fixture: 'shopify-cart.html' }],
  ['dawn', '/checkouts/c/a1b2c3/thank-you', { fixture: 'shopify-thankyou.html', build: SHOPIFY_THANKYOU_BUILD }],
  ['dawn', '/account/login', { fixture: 'login.html' }],
  // WooCommerce, Storefront theme; the order received page prints a symbol, so the tag names
  // the store currency (data-currency), as the README tells WooCommerce merchants to.
  ['woo', '/product/beanie/', { fixture: 'woo-product.html', attrs: 'data-currency="EUR"' }],
  ['woo', '/shop/', { fixture: 'woo-shop.html', attrs: 'data-currency="EUR"' }],
  ['woo', '/cart/', { fixture: 'woo-cart.html', attrs: 'data-currency="EUR"' }],
  ['woo', '/checkout/', { fixture: 'woo-checkout.html', attrs: 'data-currency="EUR"' }],
  ['woo', '/checkout/order-received/4321/', { fixture: 'woo-order-received.html', attrs: 'data-currency="EUR"' }],
  // GA4 and Universal Analytics dataLayer stores.
  ['ga4', '/products/stripy-scarf', { fixture: 'ga4-store.html' }],
  ['ga4', '/products/android-tee', { fixture: 'ua-store.html' }],
  // A custom site.
  ['acme', '/get-a-quote', { fixture: 'landing.html' }],
  ['acme', '/blog/how-we-source-our-wool', { fixture: 'blog.html' }],
  ['acme', '/account/login', { fixture: 'login.html' }],
  ['acme', '/contact', { fixture: 'contact.html' }],
  ['acme', '/checkout', { fixture: 'acme-checkout.html' }],
];

export async function startStorePages(opts: { dataDir: string; pollMs?: number }): Promise<StorePages> {
  const meta = await startMetaGraphMock({ accessToken: META_TOKEN });
  const thankyouBuild = buildShopifyThankyou();

  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', 'loopback');
  const server = await new Promise<Server>((ok) => {
    const s = app.listen(0, '127.0.0.1', () => ok(s));
  });
  const port = (server.address() as AddressInfo).port;
  const origin = (store: StoreName) => `http://${STORES[store].host}:${port}`;

  const collector = createCollector(
    {
      dataDir: opts.dataDir,
      logLevel: 'silent',
      dispatch: { pollMs: opts.pollMs ?? 50, timeoutMs: 5000, maxRetryHours: 24, leaseMs: 30_000 },
      sites: (Object.keys(STORES) as StoreName[]).map((name) => ({
        id: STORES[name].site,
        allowedOrigins: [origin(name)],
        destinations: [{ id: 'meta', type: 'meta', baseUrl: meta.url, pixelId: STORES[name].pixelId, accessToken: META_TOKEN }],
      })),
    },
    { logger: createLogger('silent') },
  );

  // ---------------------------------------------------------------- the collector, at /t
  let eventDelayMs = 0;
  app.use('/t/e', (_req, _res, next) => {
    if (eventDelayMs > 0) setTimeout(next, eventDelayMs);
    else next();
  });
  app.get(`/t/${SHOPIFY_THANKYOU_BUILD}`, (_req, res) => {
    res.type('application/javascript').set('Cache-Control', 'no-store').send(thankyouBuild);
  });
  app.use('/t', collector);

  // ---------------------------------------------------------------- the stores
  const pages = new Map<string, string>();
  const platformRequests: PlatformRequest[] = [];

  function page(store: StoreName, path: string, spec: PageSpec): void {
    const { site, build } = STORES[store];
    const tag = `<script src="/t/${spec.build ?? build}" data-site="${site}"${spec.attrs ? ' ' + spec.attrs : ''} async></script>`;
    const raw = spec.fixture.startsWith('<') ? spec.fixture : readFixture(spec.fixture);
    if (!raw.includes('<!--TRAKVO-->')) throw new Error(`${spec.fixture} has no <!--TRAKVO--> placeholder`);
    const html = raw.replace('<!--TRAKVO-->', tag);
    pages.set(`${store} ${path}`, spec.edit ? spec.edit(html) : html);
  }
  for (const [store, path, spec] of STANDARD_PAGES) page(store, path, spec);

  const storeOf = (req: Request): StoreName | undefined =>
    (Object.keys(STORES) as StoreName[]).find((name) => STORES[name].host === req.hostname);

  /** Records a request to a fake platform endpoint, with its body as text. */
  const readText = express.text({ type: () => true, limit: '1mb' });
  const record =
    (store: StoreName): RequestHandler =>
    (req, res, next) => {
      readText(req, res, (err?: unknown) => {
        if (err) return next(err);
        platformRequests.push({
          store,
          method: req.method,
          path: req.path,
          query: new URL(req.originalUrl, 'http://x').search,
          contentType: req.get('content-type'),
          body: typeof req.body === 'string' ? req.body : '',
          userAgent: req.get('user-agent') ?? '',
        });
        next();
      });
    };

  const sendPage =
    (store: StoreName): RequestHandler =>
    (req, res, next) => {
      const html = pages.get(`${store} ${req.path}`);
      if (html === undefined) return next();
      res.type('html').set('Cache-Control', 'no-store').send(html);
    };

  // Shopify's Ajax Cart API and cart form, as Dawn uses them.
  const dawn: Router = express.Router({ strict: true });
  dawn.post('/cart/add', record('dawn'), (req, res) => {
    // Dawn posts FormData by fetch (X-Requested-With): JSON. A plain form post: to the cart.
    if (req.get('x-requested-with') || /json|javascript/.test(req.get('accept') ?? '')) res.json({ id: 44000000000042, quantity: 1 });
    else res.redirect(302, '/cart');
  });
  dawn.post('/cart/add.js', record('dawn'), (req, res) => {
    if ('fail' in req.query) res.status(422).json({ status: 422, message: 'Cart Error', description: 'The product is already sold out.' });
    else res.json({ items: [{ id: 44000000000077, quantity: 2 }] });
  });
  dawn.post('/cart/update.js', record('dawn'), (_req, res) => {
    res.json({ token: 'c1-e2e', attributes: {}, item_count: 2, items: [] });
  });
  dawn.get('/cart.js', (_req, res) => {
    res.json({ token: 'c1-e2e', currency: 'EUR', item_count: 2, items: [{ id: 44000000000042, quantity: 2, price: 5490 }] });
  });
  // The cart form submitted by "Check out": Shopify sends the buyer to its checkout, where
  // theme scripts (t.js among them) do not run.
  dawn.post('/cart', record('dawn'), (_req, res) => {
    res.redirect(302, '/checkouts/cn/e2e');
  });
  dawn.get('/checkouts/cn/e2e', (_req, res) => {
    res.type('html').send('<!doctype html><title>Checkout – Trakvo Demo</title><h1>Checkout</h1>');
  });
  dawn.get(/.*/, sendPage('dawn'));

  // WooCommerce: the single product form posts to the product page (which adds and shows it
  // again), archive buttons post to ?wc-ajax=add_to_cart.
  const woo: Router = express.Router();
  const wcAjaxAdd: RequestHandler = (req, _res, next) => (req.query['wc-ajax'] === 'add_to_cart' ? next() : next('route'));
  woo.post('/', wcAjaxAdd, record('woo'), (_req, res) => {
    res.json({ fragments: { 'div.widget_shopping_cart_content': '<div class="widget_shopping_cart_content"></div>' }, cart_hash: 'e2e' });
  });
  woo.get('/woo-add-to-cart.js', (_req, res) => {
    res.type('application/javascript').send(readFixture('woo-add-to-cart.js'));
  });
  woo.post('/product/beanie/', record('woo'), sendPage('woo'));
  woo.get(/.*/, sendPage('woo'));

  const ga4: Router = express.Router();
  ga4.get(/.*/, sendPage('ga4'));

  // The custom site posts its forms by script and stays; a plain page answers any post.
  const acme: Router = express.Router();
  acme.get(/.*/, sendPage('acme'));

  const routers: Record<StoreName, Router> = { dawn, woo, ga4, acme };
  app.use((req, res, next) => {
    const store = storeOf(req);
    if (store) routers[store](req, res, next);
    else next();
  });
  app.use((_req, res) => {
    res.status(404).type('text').send('not found');
  });

  return {
    port,
    collector,
    meta,
    origin,
    url: (store, path) => origin(store) + path,
    page,
    platformRequests,
    delayEvents(ms) {
      eventDelayMs = ms;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((ok) => server.close(() => ok()));
      await collector.close();
      await meta.close();
    },
  };
}
