// A collector with the dashboard mounted the way the product mounts it (collector at /t,
// dashboard at /t/admin), on real HTTP and SQLite, delivering to local platform stand-ins.
// Used by the dashboard's browser tests and by the screenshot script.
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import type { CollectorConfigInput } from '../../collector/src/config/schema.js';
import { dashboardRouter, type DashboardRouter } from '../../collector/src/dashboard/dashboard-router.js';
import { createEventFeed, type EventFeed } from '../../collector/src/dashboard/event-feed.js';
import { createCollector, type Collector } from '../../collector/src/http/create-collector.js';
import { createLogger } from '../../collector/src/log.js';

export interface DashboardServerOptions {
  dataDir: string;
  password: string;
  /** Sites of the collector config; `allowedOrigins` defaults to the server's own origin. */
  sites: (Omit<CollectorConfigInput['sites'][number], 'allowedOrigins'> & { allowedOrigins?: string[] })[];
  pollMs?: number;
  livePollMs?: number;
}

export interface DashboardServer {
  /** http://127.0.0.1:<port> */
  origin: string;
  /** The dashboard: <origin>/t/admin */
  base: string;
  collector: Collector;
  dashboard: DashboardRouter;
  feed: EventFeed;
  /** Posts browser events to /t/e as a page of this origin would. */
  postEvents(events: BrowserEventInput[], headers?: Record<string, string>): Promise<Response>;
  close(): Promise<void>;
}

export interface BrowserEventInput {
  s: string;
  n: string;
  i: string;
  u?: string;
  p?: Record<string, unknown>;
}

export const CHROME_UA = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';

export async function startDashboardServer(opts: DashboardServerOptions): Promise<DashboardServer> {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', 'loopback');
  const server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const logger = createLogger('silent');

  const collector = createCollector(
    {
      dataDir: opts.dataDir,
      logLevel: 'silent',
      dispatch: { pollMs: opts.pollMs ?? 100, timeoutMs: 5000, maxRetryHours: 24, leaseMs: 30_000 },
      sites: opts.sites.map((s) => ({ ...s, allowedOrigins: s.allowedOrigins ?? [origin] })),
    },
    { logger },
  );
  const feed = createEventFeed();
  const dashboard = dashboardRouter(
    {
      config: collector.config,
      sites: new Map(collector.config.sites.map((s) => [s.id, s])),
      store: collector.store,
      dispatcher: collector.dispatcher,
      logger,
      now: Date.now,
    },
    { feed, admin: { password: opts.password, sessionHours: 1 }, ...(opts.livePollMs ? { livePollMs: opts.livePollMs } : {}) },
  );
  app.use('/t/admin', dashboard);
  app.use('/t', collector);

  return {
    origin,
    base: `${origin}/t/admin`,
    collector,
    dashboard,
    feed,
    postEvents(events, headers = {}) {
      const body = events.map((e) => ({ u: `${origin}/shop`, ...e }));
      return fetch(`${origin}/t/e`, {
        method: 'POST',
        headers: {
          'content-type': 'text/plain',
          origin,
          'user-agent': CHROME_UA,
          'x-forwarded-for': '203.0.113.7',
          ...headers,
        },
        body: JSON.stringify(body),
      });
    },
    async close() {
      dashboard.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await collector.close();
    },
  };
}
