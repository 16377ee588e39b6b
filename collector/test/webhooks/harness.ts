// A real collector for webhook tests: the config parsed by the real loader, a SQLite file,
// group commit, ingest and a dispatcher (not started), the webhook router mounted in a host
// app under /t, over real HTTP. Plus the helpers every platform's test needs.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import express from 'express';
import { parseConfig } from '../../src/config/load-config.js';
import type { SiteConfig } from '../../src/config/schema.js';
import { createDispatcher } from '../../src/dispatch/dispatcher.js';
import type { CollectorContext } from '../../src/http/collector-context.js';
import { createLogger } from '../../src/log.js';
import { createIngest } from '../../src/pipeline/ingest.js';
import { createGroupCommitter } from '../../src/store/group-commit.js';
import { openSqliteStore, type SqliteStore } from '../../src/store/sqlite.js';
import type { EventListItem, StoredEvent } from '../../src/store/types.js';
import { siteWebhooks, WebhooksConfigSchema, type WebhooksConfigInput } from '../../src/webhooks/config.js';
import { webhookRouter } from '../../src/webhooks/routes.js';

export const SITE = 'shop';
const here = dirname(fileURLToPath(import.meta.url));

/** A fixture's exact bytes (what the platform would send) and its parsed form. */
export function fixture(platform: string, name: string): { raw: string; json: Record<string, unknown> } {
  const raw = readFileSync(join(here, 'fixtures', platform, `${name}.json`), 'utf8');
  return { raw, json: JSON.parse(raw) as Record<string, unknown> };
}

export interface WebhookTestServer {
  base: string;
  store: SqliteStore;
  site: SiteConfig;
  /** Unix ms the collector believes it is (settable for clock tests). */
  clock: { now: number | undefined };
  post(path: string, body: string | Buffer, headers?: Record<string, string>): Promise<{ status: number; body: Record<string, unknown> }>;
  events(): Promise<EventListItem[]>;
  event(eventId: string): Promise<StoredEvent | null>;
  close(): Promise<void>;
}

/**
 * Starts a collector whose site `shop` has `webhooks`. Works whether or not SiteSchema
 * already carries the `webhooks` block: when the loader dropped it, the block is parsed
 * with the webhooks schema and attached, as SiteSchema will.
 */
export async function startWebhookServer(webhooks: WebhooksConfigInput, env: NodeJS.ProcessEnv = {}): Promise<WebhookTestServer> {
  const dir = mkdtempSync(join(tmpdir(), 'trakvo-webhooks-'));
  const input = {
    dataDir: dir,
    logLevel: 'silent' as const,
    sites: [
      {
        id: SITE,
        allowedOrigins: ['https://www.shop.com'],
        defaultCountry: 'BR',
        destinations: [{ id: 'meta', type: 'meta', pixelId: '123', accessToken: 'tok' }],
        webhooks,
      },
    ],
  };
  const config = parseConfig(input, env);
  const site = config.sites[0]!;
  if (siteWebhooks(site) === undefined) {
    (site as SiteConfig & { webhooks?: unknown }).webhooks = WebhooksConfigSchema.parse(resolveEnv(webhooks, env));
  }
  const store = openSqliteStore({ file: join(dir, 'trakvo.db') });
  const logger = createLogger(process.env.TRAKVO_TEST_LOG ?? 'silent');
  const clock: { now: number | undefined } = { now: undefined };
  const now = () => clock.now ?? Date.now();
  const dispatcher = createDispatcher({
    store,
    sites: config.sites,
    send: async () => ({ status: 200, headers: {}, body: '{}' }),
    logger,
    pollMs: 60_000,
    leaseMs: 60_000,
    maxRetryMs: 3_600_000,
    now,
  });
  const ingest = createIngest({ committer: createGroupCommitter(store), store, onCommitted: () => undefined });
  const ctx: CollectorContext = { config, sites: new Map([[site.id, site]]), store, ingest, dispatcher, logger, now };

  const app = express();
  app.use('/t', webhookRouter(ctx));
  const server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/t`;

  return {
    base,
    store,
    site,
    clock,
    async post(path, body, headers = {}) {
      const res = await fetch(`${base}${path}`, {
        method: 'POST',
        body: typeof body === 'string' ? body : new Uint8Array(body),
        headers: { 'content-type': 'application/json', ...headers },
      });
      const text = await res.text();
      return { status: res.status, body: (text ? JSON.parse(text) : {}) as Record<string, unknown> };
    },
    events: () => store.listEvents({ limit: 1000 }),
    event: (id) => store.getEvent(SITE, id),
    async close() {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** `env:NAME` references resolved like the config loader does (for the fallback path). */
function resolveEnv(value: unknown, env: NodeJS.ProcessEnv): unknown {
  if (typeof value === 'string') {
    const m = /^env:([A-Za-z_][A-Za-z0-9_]*)$/.exec(value);
    return m ? env[m[1]!] : value;
  }
  if (Array.isArray(value)) return value.map((v) => resolveEnv(v, env));
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolveEnv(v, env)]));
  return value;
}
