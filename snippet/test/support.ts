// Shared harness for the detector tests: one local HTTP server per test file that serves the
// fixture pages (snippet/test/fixtures/*.html, with the t.js tag put in place of
// <!--TRAKVO-->), every build of t.js, fake store endpoints (Shopify's /cart/add(.js) and
// /cart/update.js, WooCommerce's ?wc-ajax=add_to_cart) and the collector's POST …/e, which
// it records; plus real Chromium, one fresh context per page. snippet.test.ts, which serves
// its own pages, uses the pieces: the build check, the server and browser, the spy.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type RequestListener, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, expect } from 'vitest';
import type { Wire } from '../../e2e/support/beacons.js';
import { launchBrowser } from '../../e2e/support/browser.js';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const FIXTURES = join(ROOT, 'snippet/test/fixtures');

/** The standard builds rollup.config.mjs makes. */
export const VARIANTS = ['t.js', 't.shopify.js', 't.woo.js', 't.datalayer.js', 't.schema.js'] as const;

export type { Wire };

/** A request the page made to a fake store endpoint. */
export interface StoreRequest {
  method: string;
  path: string;
  query: string;
  contentType: string | undefined;
  body: string;
  /** The test site whose browser context made it (from a marker cookie every context gets). */
  site: string | undefined;
}

// ---------------------------------------------------------------- builds

function newestSourceMtime(): number {
  const files = [join(ROOT, 'rollup.config.mjs'), join(ROOT, 'snippet/tsconfig.json')];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else files.push(full);
    }
  };
  walk(join(ROOT, 'snippet/src'));
  return Math.max(...files.map((f) => statSync(f).mtimeMs));
}

/** Builds the standard variants when a source is newer than one of them. */
export function buildIfStale(): void {
  let oldest = 0;
  try {
    oldest = Math.min(...VARIANTS.map((v) => statSync(join(ROOT, 'dist', v)).mtimeMs));
  } catch {
    // not built yet
  }
  if (oldest < newestSourceMtime()) execFileSync('npm', ['run', '--silent', 'build:snippet'], { cwd: ROOT, stdio: 'pipe' });
}

/** A one-off build with exactly these features (see rollup.config.mjs), e.g. for tests over several detectors. */
export function buildCustom(features: string[]): Buffer {
  const out = join(mkdtempSync(join(tmpdir(), 'trakvo-t-')), 't.js');
  execFileSync('npx', ['rollup', '-c', 'rollup.config.mjs', '--silent'], {
    cwd: ROOT,
    stdio: 'pipe',
    env: { ...process.env, TRAKVO_FEATURES: features.join(','), TRAKVO_OUT: out },
  });
  return readFileSync(out);
}

export const gzipSize = (code: Buffer): number => gzipSync(code, { level: 9 }).length;

// ---------------------------------------------------------------- page spy

/**
 * Page script (for an init script, inside a function) that counts every use of document.cookie
 * and every read of localStorage and sessionStorage into `touched`, an object of counters
 * the enclosing script declares.
 */
export const COUNT_COOKIE_AND_STORAGE = `
  const cookie = Object.getOwnPropertyDescriptor(Document.prototype, 'cookie');
  Object.defineProperty(Document.prototype, 'cookie', {
    configurable: true,
    get() { touched.cookie++; return cookie.get.call(this); },
    set(v) { touched.cookie++; cookie.set.call(this, v); },
  });
  for (const name of ['localStorage', 'sessionStorage']) {
    let owner = window;
    while (owner && !Object.getOwnPropertyDescriptor(owner, name)) owner = Object.getPrototypeOf(owner);
    const d = Object.getOwnPropertyDescriptor(owner, name);
    Object.defineProperty(owner, name, { configurable: true, enumerable: d.enumerable, get() { touched[name]++; return d.get.call(this); } });
  }`;

/**
 * Runs before any page script: counts reads of cookies and storage (so a test can check what
 * t.js touches at load) and records uncaught errors and unhandled rejections.
 */
const SPY = `(() => {
  const touched = (window.__touched = { cookie: 0, localStorage: 0, sessionStorage: 0 });
  window.__errors = [];
  addEventListener('error', (e) => window.__errors.push(String(e.message)));
  addEventListener('unhandledrejection', (e) => window.__errors.push('unhandled: ' + String(e.reason)));${COUNT_COOKIE_AND_STORAGE}
})();`;

declare global {
  interface Window {
    __touched: Record<string, number>;
    __errors: string[];
    __fbq?: unknown[][];
    __ttq?: unknown[][];
  }
}

// ---------------------------------------------------------------- server

/** The body of a request, as text. */
export function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((ok, fail) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => ok(Buffer.concat(chunks).toString('utf8')));
    req.on('error', fail);
  });
}

export interface ServerAndBrowser {
  /** http://127.0.0.1:<port>, once the file's tests run. */
  readonly origin: string;
  readonly port: number;
  /** A fresh browser context, closed after the test. */
  newContext(): Promise<BrowserContext>;
}

/**
 * For this test file (vitest hooks): before its tests, runs `prepare`, serves `listener` on a
 * local port and launches Chromium; after each test closes the contexts it opened, after the
 * file the browser, then the server.
 */
export function useServerAndBrowser(listener: RequestListener, prepare?: () => void): ServerAndBrowser {
  const contexts: BrowserContext[] = [];
  let server: Server;
  let browser: Browser;
  let port = 0;
  let origin = '';

  beforeAll(async () => {
    prepare?.();
    server = createServer(listener);
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    port = (server.address() as AddressInfo).port;
    origin = `http://127.0.0.1:${port}`;
    browser = await launchBrowser();
  });

  afterEach(async () => {
    await Promise.all(contexts.splice(0).map((c) => c.close()));
  });

  afterAll(async () => {
    await browser?.close();
    await new Promise((r) => server?.close(r));
  });

  return {
    get origin() {
      return origin;
    },
    get port() {
      return port;
    },
    async newContext() {
      const context = await browser.newContext();
      contexts.push(context);
      return context;
    },
  };
}

// ---------------------------------------------------------------- harness

export interface OpenSpec {
  /** File in snippet/test/fixtures, or literal HTML (starting with "<"). */
  fixture: string;
  /** Where the page is served (query string allowed). */
  path: string;
  /** Build to load: a standard variant name, or the code of a custom build. */
  variant: (typeof VARIANTS)[number] | Buffer;
  /** Extra attributes of the t.js tag. */
  attrs?: string;
  /** Cookies the browser holds for the site before the page opens. */
  cookies?: Record<string, string>;
  referer?: string;
}

export interface Opened {
  page: Page;
  context: BrowserContext;
  site: string;
  url: string;
}

export interface Harness {
  readonly origin: string;
  /** Requests the pages of `site` made to the fake store endpoints, in arrival order. */
  storeRequests(site: string): StoreRequest[];
  open(spec: OpenSpec): Promise<Opened>;
  /** Opens another page of the same site in the same browser context (cookies, sessionStorage stay). */
  navigate(opened: Opened, spec: Omit<OpenSpec, 'cookies'>): Promise<void>;
  /**
   * The events of `site` once at least `atLeast` have arrived and nothing more came for
   * `quietMs` (so a duplicate would have been seen), in the order the page made them (two
   * beacons may reach the server in either order): by `ts`, then arrival.
   */
  events(site: string, atLeast?: number, quietMs?: number): Promise<Wire[]>;
  /** Registers a fixture page of `site` without opening it: where a form post or a link lands. */
  serveFixture(site: string, spec: Omit<OpenSpec, 'cookies' | 'referer'>): void;
}

let nextSite = 0;

/** Starts the server and the browser for this test file (vitest hooks), and stops them after. */
export function useHarness(): Harness {
  const pages = new Map<string, string>();
  const builds = new Map<string, Buffer>();
  const arrivals: Wire[] = [];
  const storeRequests: StoreRequest[] = [];

  const json = (res: ServerResponse, status: number, body: unknown) =>
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://local');
    const body = req.method === 'POST' ? await readBody(req) : '';
    const record = () =>
      storeRequests.push({
        method: req.method!,
        path: url.pathname,
        query: url.search,
        contentType: req.headers['content-type'],
        body,
        site: /(?:^|; )tk_test_site=([^;]*)/.exec(req.headers.cookie ?? '')?.[1],
      });
    if (req.method === 'POST' && url.pathname.endsWith('/e')) {
      const parsed = JSON.parse(body) as Wire | Wire[];
      arrivals.push(...(Array.isArray(parsed) ? parsed : [parsed]));
      res.writeHead(204).end();
    } else if (req.method === 'GET' && url.pathname.startsWith('/t/') && builds.has(url.pathname)) {
      res.writeHead(200, { 'content-type': 'text/javascript', 'cache-control': 'no-store' }).end(builds.get(url.pathname));
    } else if (url.pathname === '/cart/add.js' || url.pathname === '/cart/add') {
      record();
      // The form post redirects to the cart; ?fail answers as Shopify does for a sold-out variant.
      const ajax = req.headers['x-requested-with'] || /json|javascript/.test(req.headers.accept ?? '');
      if (url.pathname === '/cart/add' && !ajax) res.writeHead(302, { location: '/cart' }).end();
      else if (url.searchParams.has('fail')) json(res, 422, { status: 422, message: 'Cart Error', description: 'sold out' });
      else json(res, 200, { id: 1, quantity: 1, title: 'added' });
    } else if (req.method === 'POST' && url.pathname === '/cart' && /(^|&)checkout=/.test(body)) {
      // The cart form submitted by its "Check out" button: Shopify sends the buyer to checkout.
      record();
      res.writeHead(302, { location: '/checkouts/cn/demo' }).end();
    } else if (url.pathname.startsWith('/checkouts/') && !pages.has(url.pathname)) {
      res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>Checkout</title>');
    } else if (url.pathname === '/cart/update.js') {
      record();
      json(res, 200, { token: 'c1-abc', attributes: {} });
    } else if (url.searchParams.get('wc-ajax') === 'add_to_cart') {
      record();
      json(res, 200, { fragments: { 'div.widget_shopping_cart_content': '<div></div>' }, cart_hash: 'abc' });
    } else if (req.method === 'GET' && /^\/[\w-]+\.js$/.test(url.pathname) && existsSync(join(FIXTURES, url.pathname))) {
      res.writeHead(200, { 'content-type': 'text/javascript' }).end(readFileSync(join(FIXTURES, url.pathname)));
    } else if (pages.has(url.pathname)) {
      if (req.method === 'POST') record();
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' }).end(pages.get(url.pathname));
    } else {
      res.writeHead(404).end();
    }
  }

  const local = useServerAndBrowser(
    (req, res) => {
      handle(req, res).catch((err: unknown) => res.writeHead(500).end(String(err)));
    },
    () => {
      buildIfStale();
      for (const v of VARIANTS) builds.set(`/t/${v}`, readFileSync(join(ROOT, 'dist', v)));
    },
  );

  function pageHtml(spec: OpenSpec, site: string): string {
    let src: string;
    if (Buffer.isBuffer(spec.variant)) {
      src = `/t/custom-${builds.size}.js`;
      builds.set(src, spec.variant);
    } else src = `/t/${spec.variant}`;
    const tag = `<script src="${src}" data-site="${site}" ${spec.attrs ?? ''} async></script>`;
    const html = spec.fixture.startsWith('<') ? spec.fixture : readFileSync(join(FIXTURES, spec.fixture), 'utf8');
    if (!html.includes('<!--TRAKVO-->')) throw new Error(`${spec.fixture} has no <!--TRAKVO--> placeholder`);
    return html.replace('<!--TRAKVO-->', tag);
  }

  async function goto(page: Page, spec: Omit<OpenSpec, 'cookies'>, site: string): Promise<string> {
    const path = spec.path.split('?')[0]!;
    pages.set(path, pageHtml(spec, site));
    const url = local.origin + spec.path;
    await page.goto(url, spec.referer ? { referer: spec.referer } : {});
    return url;
  }

  return {
    get origin() {
      return local.origin;
    },
    storeRequests: (site) => storeRequests.filter((r) => r.site === site),
    serveFixture: (site, spec) => void pages.set(spec.path.split('?')[0]!, pageHtml(spec, site)),
    async open(spec) {
      const site = `site-${++nextSite}`;
      const context = await local.newContext();
      await context.addInitScript({ content: SPY });
      const cookies = { ...spec.cookies, tk_test_site: site };
      await context.addCookies(Object.entries(cookies).map(([name, value]) => ({ name, value, url: local.origin })));
      const page = await context.newPage();
      const url = await goto(page, spec, site);
      return { page, context, site, url };
    },
    async navigate(opened, spec) {
      opened.url = await goto(opened.page, spec, opened.site);
    },
    async events(site, atLeast = 1, quietMs = 400) {
      const mine = () => arrivals.filter((a) => a.s === site);
      const deadline = Date.now() + 8000;
      let count = -1;
      let stableSince = Date.now();
      for (;;) {
        const now = mine().length;
        if (now !== count) {
          count = now;
          stableSince = Date.now();
        }
        if (count >= atLeast && Date.now() - stableSince >= quietMs) return mine().sort((a, b) => a.ts - b.ts);
        if (Date.now() > deadline) {
          throw new Error(`expected at least ${atLeast} events for ${site}, got ${count}: ${mine().map((e) => e.n).join(', ')}`);
        }
        await new Promise((r) => setTimeout(r, 25));
      }
    },
  };
}

/** Names of the events, in arrival order. */
export const names = (events: Wire[]): string[] => events.map((e) => e.n);

/** The one event named `name`; fails if there are none or several. */
export function only(events: Wire[], name: string): Wire {
  const found = events.filter((e) => e.n === name);
  expect(found.map((e) => e.n), `exactly one ${name} in ${names(events).join(', ')}`).toEqual([name]);
  return found[0]!;
}

/** No uncaught error or unhandled rejection happened in the page. */
export async function expectNoPageErrors(page: Page): Promise<void> {
  expect(await page.evaluate(() => window.__errors)).toEqual([]);
}

/** Nothing in the page has used document.cookie or read localStorage or sessionStorage (so far). */
export async function expectNoCookieOrStorageRead(page: Page): Promise<void> {
  expect(await page.evaluate(() => ({ ...window.__touched }))).toStrictEqual({ cookie: 0, localStorage: 0, sessionStorage: 0 });
}

/**
 * The pages without e-commerce, with `variant`: a blog post, and a login form (submitted).
 * Each gives only a PageView, passes `check` when given, and has no page error.
 */
export async function expectOnlyPageViewsWithoutCommerce(h: Harness, variant: OpenSpec['variant'], check?: (page: Page) => Promise<void>): Promise<void> {
  for (const fixture of ['blog.html', 'login.html']) {
    const { page, site } = await h.open({ fixture, path: `/pages/${fixture}`, variant });
    if (fixture === 'login.html') await page.click('#sign-in');
    expect(names(await h.events(site, 1))).toEqual(['PageView']);
    await check?.(page);
    await expectNoPageErrors(page);
  }
}

export const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
