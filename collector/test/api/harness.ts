// A real collector context (SQLite file, group commit, ingest, dispatcher with a mock Meta
// Graph answer) and the API router on a real HTTP server, for the API's integration tests.
import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express from 'express';
import type { Redis } from 'ioredis';
import { apiRouter, type ApiRouter } from '../../src/api/routes.js';
import type { ApiConfigInput } from '../../src/api/config.js';
import { createToken, type NewTokenInput } from '../../src/api/tokens.js';
import { parseConfig } from '../../src/config/load-config.js';
import type { CollectorConfigInput, SiteConfig } from '../../src/config/schema.js';
import type { DestinationRequest, DestinationResponse } from '../../src/destinations/types.js';
import { createDispatcher, type Dispatcher } from '../../src/dispatch/dispatcher.js';
import type { CollectorContext } from '../../src/http/collector-context.js';
import { createLogger } from '../../src/log.js';
import { createIngest } from '../../src/pipeline/ingest.js';
import { createGroupCommitter } from '../../src/store/group-commit.js';
import { openSqliteStore } from '../../src/store/sqlite.js';
import type { Store } from '../../src/store/types.js';

export const SITES: CollectorConfigInput['sites'] = [
  {
    id: 'shop',
    allowedOrigins: ['https://www.shop.com'],
    defaultCountry: 'BR',
    destinations: [
      { id: 'meta', type: 'meta', pixelId: '111', accessToken: 'meta-token', baseUrl: 'http://graph.test' },
      { id: 'meta2', type: 'meta', pixelId: '222', accessToken: 'meta-token-2', baseUrl: 'http://graph.test' },
    ],
  },
  {
    id: 'blog',
    allowedOrigins: ['https://blog.example'],
    consentDefault: { marketing: false, analytics: true },
    destinations: [{ id: 'meta', type: 'meta', pixelId: '333', accessToken: 'meta-token-3', baseUrl: 'http://graph.test' }],
  },
];

export interface HarnessOptions {
  sites?: CollectorConfigInput['sites'];
  api?: ApiConfigInput;
  redis?: Redis;
  /** Wraps the real store (to make it fail, count calls…). */
  wrapStore?: (store: Store) => Store;
  /** Answer of the mock platform; default Meta's success. */
  respond?: (req: DestinationRequest) => DestinationResponse;
  /** Per-site `api` blocks, set on the parsed sites. */
  siteApi?: Record<string, unknown>;
  now?: () => number;
}

export interface Harness {
  base: string;
  ctx: CollectorContext;
  router: ApiRouter;
  store: Store;
  dispatcher: Dispatcher;
  /** Requests the dispatcher sent to the mock platform. */
  sent: DestinationRequest[];
  token(input?: Partial<NewTokenInput>): Promise<string>;
  close(): Promise<void>;
}

export async function startHarness(opts: HarnessOptions = {}): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), 'trakvo-api-'));
  const config = parseConfig({ dataDir: dir, logLevel: 'silent', sites: opts.sites ?? SITES });
  for (const [id, api] of Object.entries(opts.siteApi ?? {})) {
    const site = config.sites.find((s) => s.id === id)!;
    site.api = api as SiteConfig['api'];
  }
  const realStore = openSqliteStore({ file: join(dir, 'trakvo.db') });
  const store = opts.wrapStore ? opts.wrapStore(realStore) : realStore;
  const logger = createLogger('silent');
  const now = opts.now ?? Date.now;
  const sent: DestinationRequest[] = [];
  const dispatcher = createDispatcher({
    store,
    sites: config.sites,
    send: async (req) => {
      sent.push(req);
      return opts.respond?.(req) ?? { status: 200, headers: {}, body: '{"events_received":1,"fbtrace_id":"x"}' };
    },
    logger,
    pollMs: 60_000,
    leaseMs: 60_000,
    maxRetryMs: 3_600_000,
    now,
  });
  const committer = createGroupCommitter(store);
  const ingest = createIngest({ committer, store, onCommitted: () => dispatcher.wake() });
  const ctx: CollectorContext = {
    config,
    sites: new Map(config.sites.map((s) => [s.id, s])),
    store,
    ingest,
    dispatcher,
    logger,
    now,
  };
  const router = apiRouter(ctx, { api: opts.api, redis: opts.redis });
  await router.ready();
  const app = express();
  app.set('trust proxy', 'loopback');
  app.use('/t', router);
  const server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/t`;
  return {
    base,
    ctx,
    router,
    store,
    dispatcher,
    sent,
    async token(input = {}) {
      const { token } = await createToken(store, { site_id: 'shop', env: 'production', ...input }, Date.now());
      return token;
    },
    async close() {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
      await router.close();
      await dispatcher.stop();
      await realStore.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** POST JSON with a Bearer token. */
export function postJson(url: string, token: string | undefined, body: unknown, headers: Record<string, string> = {}) {
  return fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...headers,
    },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

export const nowSec = () => Math.floor(Date.now() / 1000);
