// A dashboard on real HTTP over a real SQLite store, without a running dispatcher: tests
// put events and outcomes into the store directly and read the pages like a browser would.
import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express from 'express';
import { parseConfig } from '../../src/config/load-config.js';
import type { CollectorConfig } from '../../src/config/schema.js';
import type { AdminConfig } from '../../src/dashboard/config.js';
import { dashboardRouter, type DashboardRouter } from '../../src/dashboard/dashboard-router.js';
import { createEventFeed, type EventFeed } from '../../src/dashboard/event-feed.js';
import type { Dispatcher } from '../../src/dispatch/dispatcher.js';
import { createLogger } from '../../src/log.js';
import { openSqliteStore } from '../../src/store/sqlite.js';
import type { Store } from '../../src/store/types.js';

export const PASSWORD = 'correct horse battery staple';

export interface TestDashboard {
  url: string;
  /** <url>/t/admin */
  base: string;
  store: Store;
  feed: EventFeed;
  config: CollectorConfig;
  router: DashboardRouter;
  wakes: number;
  /** Logs in and returns the Cookie header value. */
  login(): Promise<string>;
  /** GET/POST with the session cookie, no redirects followed. */
  request(path: string, init?: RequestInit & { cookie?: string }): Promise<Response>;
  close(): Promise<void>;
}

export async function startTestDashboard(opts: { admin?: Partial<AdminConfig> | null; livePollMs?: number; extraConfig?: Record<string, unknown> } = {}): Promise<TestDashboard> {
  const dir = mkdtempSync(join(tmpdir(), 'trakvo-dash-'));
  const store = openSqliteStore({ file: join(dir, 'trakvo.db') });
  const config = parseConfig({
    sites: [
      {
        id: 'shop',
        allowedOrigins: ['https://shop.example'],
        destinations: [{ id: 'meta', type: 'meta', pixelId: '123456', accessToken: 'token' }],
      },
      { id: 'blog', allowedOrigins: ['https://blog.example'], destinations: [] },
    ],
    ...opts.extraConfig,
  });
  const feed = createEventFeed();
  const state = { wakes: 0 };
  const dispatcher: Dispatcher = {
    start() {},
    async stop() {},
    wake() {
      state.wakes += 1;
    },
    async drain() {},
    running: false,
  };
  const admin = opts.admin === null ? null : { password: PASSWORD, sessionSecret: 's'.repeat(40), sessionHours: 1, ...opts.admin };
  const router = dashboardRouter(
    { config, sites: new Map(config.sites.map((s) => [s.id, s])), store, dispatcher, logger: createLogger('silent'), now: Date.now },
    { feed, admin: admin as AdminConfig | null, ...(opts.livePollMs ? { livePollMs: opts.livePollMs } : {}) },
  );
  const app = express();
  app.set('trust proxy', 'loopback');
  app.use('/t/admin', router);
  const server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const base = `${url}/t/admin`;

  const t: TestDashboard = {
    url,
    base,
    store,
    feed,
    config,
    router,
    get wakes() {
      return state.wakes;
    },
    async login() {
      const res = await fetch(`${base}/login`, {
        method: 'POST',
        redirect: 'manual',
        headers: { 'content-type': 'application/x-www-form-urlencoded', origin: url },
        body: new URLSearchParams({ password: PASSWORD, next: '/' }),
      });
      if (res.status !== 303) throw new Error(`login failed: ${res.status}`);
      return res.headers.getSetCookie()[0]!.split(';')[0]!;
    },
    request(path, init = {}) {
      const { cookie, headers, ...rest } = init;
      return fetch(`${base}${path}`, {
        redirect: 'manual',
        ...rest,
        headers: { ...(cookie ? { cookie } : {}), ...(headers as Record<string, string> | undefined) },
      });
    },
    async close() {
      router.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return t;
}

/** The page's CSRF token (from its meta tag). */
export function csrfOf(html: string): string {
  const m = /<meta name="csrf-token" content="([^"]+)">/.exec(html);
  if (!m) throw new Error('no csrf token in the page');
  return m[1]!;
}
