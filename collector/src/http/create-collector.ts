// createCollector(config): an Express router to mount on the merchant's own domain
// (`app.use('/t', createCollector(cfg))`), owning its store and dispatcher.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import express, { type ErrorRequestHandler, type Router } from 'express';
import { parseConfig } from '../config/load-config.js';
import type { CollectorConfig, CollectorConfigInput, SiteConfig } from '../config/schema.js';
import { createDispatcher, type Dispatcher } from '../dispatch/dispatcher.js';
import { createHttpSender, type Sender } from '../dispatch/http-sender.js';
import { createLogger, type Logger } from '../log.js';
import { createIngest } from '../pipeline/ingest.js';
import { createGroupCommitter } from '../store/group-commit.js';
import { lazyStore } from '../store/lazy-store.js';
import { openStore } from '../store/open-store.js';
import { openSqliteStore } from '../store/sqlite.js';
import type { Store } from '../store/types.js';
import { apiRouter } from '../api/routes.js';
import { webhookRouter } from '../webhooks/routes.js';
import { browserEventsRoute, corsForAllowedOrigins } from './browser-events-route.js';
import type { CollectorContext } from './collector-context.js';
import { sendError } from './errors.js';
import { loadSnippet, snippetRoute } from './snippet-route.js';

export interface CollectorOptions {
  /** Defaults to SQLite in `config.dataDir`. */
  store?: Store;
  logger?: Logger;
  /** Replaces the HTTP client towards the platforms (tests). */
  send?: Sender;
  /** Start the in-process dispatcher (default true). */
  dispatch?: boolean;
  now?: () => number;
}

export type Collector = Router & {
  config: CollectorConfig;
  store: Store;
  dispatcher: Dispatcher;
  /** What the routes share; for mounting extra routes or tests. */
  ctx: CollectorContext;
  /** Stops dispatching, closes the HTTP pool and the store. */
  close(): Promise<void>;
};

/** The configured engine: SQLite in `dataDir` (opened at once) or PostgreSQL (lazily). */
export function openConfiguredStore(config: CollectorConfig): Store {
  if (config.store.engine === 'postgres') {
    const { url, schema } = config.store;
    return lazyStore(() => openStore(schema ? { engine: 'postgres', url, schema } : { engine: 'postgres', url }));
  }
  mkdirSync(config.dataDir, { recursive: true });
  return openSqliteStore({ file: join(config.dataDir, 'trakvo.db') });
}

/** Builds a collector from an already validated config (see `createCollector`). */
export function buildCollector(config: CollectorConfig, opts: CollectorOptions = {}): Collector {
  const logger = opts.logger ?? createLogger(config.logLevel);
  const store = opts.store ?? openConfiguredStore(config);
  const sender = opts.send ? undefined : createHttpSender({ timeoutMs: config.dispatch.timeoutMs });
  const dispatcher = createDispatcher({
    store,
    sites: config.sites,
    send: opts.send ?? sender!.send,
    logger,
    pollMs: config.dispatch.pollMs,
    leaseMs: config.dispatch.leaseMs,
    maxRetryMs: config.dispatch.maxRetryHours * 3_600_000,
    now: opts.now,
  });
  const committer = createGroupCommitter(store);
  const ingest = createIngest({ committer, store, onCommitted: () => dispatcher.wake(), now: opts.now });
  const sites = new Map<string, SiteConfig>(config.sites.map((s) => [s.id, s]));
  const snippet = loadSnippet();

  const router = express.Router();
  router.get('/t.js', snippetRoute(snippet));
  router.use('/e', corsForAllowedOrigins(config.sites));
  router.post(
    '/e',
    express.text({ type: () => true, limit: '64kb' }),
    browserEventsRoute({ sites, ingest, logger, now: opts.now }),
  );
  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  const ctxForRoutes = (): CollectorContext => ({ config, sites, store, ingest, dispatcher, logger, now: opts.now ?? Date.now });
  const api = apiRouter(ctxForRoutes());
  router.use(api);
  router.use(webhookRouter(ctxForRoutes()));
  const onError: ErrorRequestHandler = (err: { type?: string; status?: number }, _req, res, next) => {
    if (res.headersSent) return next(err);
    if (err.type === 'entity.too.large') return sendError(res, 413, 'payload_too_large', 'the body is larger than 64 kB');
    if (err.status && err.status >= 400 && err.status < 500) return sendError(res, err.status, 'bad_request', String((err as Error).message));
    logger.error({ err }, 'unhandled collector error');
    sendError(res, 500, 'internal', 'internal error');
  };
  router.use(onError);

  const now = opts.now ?? Date.now;
  const ctx: CollectorContext = { config, sites, store, ingest, dispatcher, logger, now };
  // Visitor signals hold IP and user agent: keep them only for the configured retention.
  const retentionMs = config.visitorSignalsRetentionDays * 86_400_000;
  const purge = setInterval(() => {
    store.purgeVisitorSignals(now() - retentionMs).catch((err: unknown) => logger.error({ err }, 'visitor signal purge failed'));
  }, 10 * 60_000);
  purge.unref();

  if (opts.dispatch !== false) dispatcher.start();
  return Object.assign(router, {
    config,
    store,
    dispatcher,
    ctx,
    async close() {
      clearInterval(purge);
      await api.close();
      await dispatcher.stop();
      await sender?.close();
      await store.close();
    },
  });
}

/** Validates `input` (errors name the bad key) and builds the collector router. */
export function createCollector(input: CollectorConfigInput, opts: CollectorOptions = {}): Collector {
  return buildCollector(parseConfig(input), opts);
}
