// Demo mode: a small store with Trakvo mounted at /t on the same origin, on the embedded
// SQLite store. Without Meta credentials in the environment, events go to a built-in
// stand-in for the Graph API (at /_mock/graph) that enforces Meta's contract and shows
// what it received; with META_PIXEL_ID and META_ACCESS_TOKEN they go to Meta for real.
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import express from 'express';
import type { CollectorConfigInput } from '../config/schema.js';
import { createCollector, type Collector, type CollectorOptions } from '../http/create-collector.js';
import { createMetaGraphMock } from '../mocks/meta-graph.js';
import type { WebhooksConfigInput } from '../webhooks/config.js';
import { checkoutPage, homePage, PRODUCTS, productPage, thankYouPage } from './pages.js';

export interface DemoOptions {
  port?: number;
  host?: string;
  dataDir?: string;
  siteId?: string;
  /** Extra host names the demo is reached by (e.g. www.shop.test), allowed as origins. */
  extraHosts?: string[];
  /** Use a real or external Graph API instead of the built-in stand-in. */
  meta?: { baseUrl?: string; pixelId: string; accessToken: string; testEventCode?: string };
  dispatch?: Partial<{ pollMs: number; timeoutMs: number; maxRetryHours: number; leaseMs: number }>;
  collector?: CollectorOptions;
  /** The demo site's inbound commerce webhooks block (see the README's Order webhooks). */
  webhooks?: WebhooksConfigInput;
  /** More destination entries (`{ id, type, … }`) for the demo site, after its Meta entry. */
  destinations?: unknown[];
  /** Dashboard password (≥ 12 characters); the dashboard is off without one. */
  adminPassword?: string;
}

export interface DemoServer {
  url: string;
  port: number;
  collector: Collector;
  server: Server;
  close(): Promise<void>;
}

const DEMO_PIXEL = '1234567890';

export async function startDemo(opts: DemoOptions = {}): Promise<DemoServer> {
  const siteId = opts.siteId ?? 'demo';
  const app = express();
  app.set('trust proxy', 'loopback');
  const server = await new Promise<Server>((resolve) => {
    const s = app.listen(opts.port ?? 8080, opts.host ?? '127.0.0.1', () => resolve(s));
  });
  const port = (server.address() as AddressInfo).port;

  let meta = opts.meta;
  if (!meta) {
    const accessToken = `demo-${randomBytes(8).toString('hex')}`;
    const mock = createMetaGraphMock({ accessToken, pixelId: DEMO_PIXEL });
    app.use('/_mock/graph', mock.router);
    meta = { baseUrl: `http://127.0.0.1:${port}/_mock/graph`, pixelId: DEMO_PIXEL, accessToken };
  }

  const config: CollectorConfigInput = {
    dataDir: opts.dataDir ?? './.trakvo-data',
    // Quiet by default so the demo's URLs stay readable; LOG_LEVEL=info shows every request.
    logLevel: (process.env.LOG_LEVEL as CollectorConfigInput['logLevel']) ?? 'warn',
    ...(opts.adminPassword ? { admin: { password: opts.adminPassword } } : {}),
    dispatch: { pollMs: 1000, timeoutMs: 10_000, maxRetryHours: 24, leaseMs: 60_000, ...opts.dispatch },
    sites: [
      {
        id: siteId,
        allowedOrigins: [`http://localhost:${port}`, `http://127.0.0.1:${port}`, ...(opts.extraHosts ?? []).map((h) => `http://${h}:${port}`)],
        defaultCountry: 'BR',
        // Extra entries are validated by the config schema like any other.
        destinations: [{ id: 'meta', type: 'meta', ...meta }, ...((opts.destinations ?? []) as { id: string; type: string }[])],
        ...(opts.webhooks ? { webhooks: opts.webhooks } : {}),
      },
    ],
  };
  const collector = createCollector(config, opts.collector);
  app.use('/t', collector);

  const product = (sku: unknown) => PRODUCTS.find((p) => p.id === sku) ?? PRODUCTS[0]!;
  app.get('/', (_req, res) => {
    res.type('html').send(homePage(siteId));
  });
  app.get('/product/:id', (req, res) => {
    res.type('html').send(productPage(siteId, product(req.params.id)));
  });
  app.get('/checkout', (req, res) => {
    res.type('html').send(checkoutPage(siteId, product(req.query.sku)));
  });
  app.post('/checkout/complete', express.urlencoded({ extended: false, limit: '8kb' }), (req, res) => {
    const body = req.body as Record<string, string | undefined>;
    const order = { id: `ORD-${Date.now().toString(36).toUpperCase()}`, email: body.email ?? '', phone: body.phone || undefined };
    res.type('html').set('Cache-Control', 'no-store').send(thankYouPage(siteId, product(body.sku), order));
  });

  const url = `http://localhost:${port}`;
  return {
    url,
    port,
    collector,
    server,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await collector.close();
    },
  };
}
