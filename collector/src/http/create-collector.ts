// createCollector(config): an Express router to mount on the merchant's own domain
// (`app.use('/t', createCollector(cfg))`), owning its store, dispatcher and notifier.
// Every entry point is its own router over one shared context; this file only wires them.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import express, { type ErrorRequestHandler, type Router } from 'express';
import { apiRouter } from '../api/routes.js';
import { parseConfig } from '../config/load-config.js';
import type { CollectorConfig, CollectorConfigInput, SiteConfig } from '../config/schema.js';
import { dashboardRouter } from '../dashboard/dashboard-router.js';
import { createEventFeed, feedDeliveryObserver, type EventFeed } from '../dashboard/event-feed.js';
import { createDispatcher, type Dispatcher } from '../dispatch/dispatcher.js';
import { createHttpSender, type Sender } from '../dispatch/http-sender.js';
import { createLogger, type Logger } from '../log.js';
import { observeAll } from '../metrics/delivery-observer.js';
import { countAcceptedEvents, countInboundWebhooks, countRejectedEvents, createMetrics, type Metrics } from '../metrics/metrics.js';
import { healthRouter, metricsRouter } from '../metrics/routes.js';
import { createNotifier, type Notifier } from '../notify/notifier.js';
import { createIngest } from '../pipeline/ingest.js';
import { shopifyPixelRouter } from '../shopify/routes.js';
import { createGroupCommitter } from '../store/group-commit.js';
import { lazyStore } from '../store/lazy-store.js';
import { openStore } from '../store/open-store.js';
import { openSqliteStore } from '../store/sqlite.js';
import type { Store } from '../store/types.js';
import { webhookPlatform } from '../webhooks/registry.js';
import { webhookRouter } from '../webhooks/routes.js';
import { browserEventsRoute, corsForAllowedOrigins } from './browser-events-route.js';
import type { CollectorContext } from './collector-context.js';
import { sendError } from './errors.js';
import { requestId } from './request-id.js';
import { loadSnippets, snippetRoute } from './snippet-route.js';

export interface CollectorOptions {
  /** Defaults to the configured engine (SQLite in `config.dataDir`). */
  store?: Store;
  logger?: Logger;
  /** Replaces the HTTP client towards the platforms (tests). */
  send?: Sender;
  /** Start the in-process dispatcher and notifier (default true). */
  dispatch?: boolean;
  now?: () => number;
}

export type Collector = Router & {
  config: CollectorConfig;
  store: Store;
  dispatcher: Dispatcher;
  notifier: Notifier;
  metrics: Metrics;
  /** Committed events and delivery outcomes, as they happen (the dashboard's live view). */
  feed: EventFeed;
  /** What the routes share; for mounting extra routes or tests. */
  ctx: CollectorContext;
  /** Stops dispatching and notifying, closes live streams, HTTP pools and the store. */
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
  const now = opts.now ?? Date.now;
  const logger = opts.logger ?? createLogger(config.logLevel);
  const store = opts.store ?? openConfiguredStore(config);
  const sites = new Map<string, SiteConfig>(config.sites.map((s) => [s.id, s]));
  const sender = opts.send ? undefined : createHttpSender({ timeoutMs: config.dispatch.timeoutMs });
  const metrics = createMetrics({ store, sites: config.sites });
  const notifier = createNotifier({ store, sites: config.sites, logger, now, metrics });
  const feed = createEventFeed();
  const dispatcher = createDispatcher({
    store,
    sites: config.sites,
    send: opts.send ?? sender!.send,
    logger,
    pollMs: config.dispatch.pollMs,
    leaseMs: config.dispatch.leaseMs,
    maxRetryMs: config.dispatch.maxRetryHours * 3_600_000,
    now,
    observer: observeAll(metrics.observer, notifier.observer, feedDeliveryObserver(feed)),
  });
  const committer = createGroupCommitter(store);
  const ingest = countAcceptedEvents(
    createIngest({
      committer,
      store,
      now,
      onCommitted: (event) => {
        dispatcher.wake();
        feed.publish({ kind: 'event', site_id: event.site_id, event_id: event.event_id });
      },
    }),
    metrics,
  );
  const ctx: CollectorContext = { config, sites, store, ingest, dispatcher, logger, now };

  const router = express.Router();
  router.use(requestId({ logger }));
  // Browser: the snippet and its events.
  router.get('/:file', snippetRoute(loadSnippets()));
  router.use('/e', countRejectedEvents(metrics), corsForAllowedOrigins(config.sites));
  router.post('/e', express.text({ type: () => true, limit: '64kb' }), browserEventsRoute({ sites, ingest, logger, now }));
  // Server-to-server API.
  router.use('/v1/events', countRejectedEvents(metrics));
  const api = apiRouter(ctx);
  router.use(api);
  // Commerce platforms' order webhooks (raw body: signatures cover the exact bytes).
  router.use('/webhooks/:platform', countInboundWebhooks(metrics, (p) => webhookPlatform(p) !== undefined));
  router.use(webhookRouter(ctx));
  router.use(shopifyPixelRouter(ctx));
  // Operations.
  router.use(healthRouter({ store, dispatcher }, { requireDispatcher: opts.dispatch !== false }));
  router.use(metricsRouter({ logger }, metrics));
  const dashboard = dashboardRouter(ctx, { feed, notifier });
  router.use('/admin', dashboard);

  const onError: ErrorRequestHandler = (err: { type?: string; status?: number }, _req, res, next) => {
    if (res.headersSent) return next(err);
    if (err.type === 'entity.too.large') return sendError(res, 413, 'payload_too_large', 'the body is too large');
    if (err.status && err.status >= 400 && err.status < 500) return sendError(res, err.status, 'bad_request', String((err as Error).message));
    logger.error({ err }, 'unhandled collector error');
    sendError(res, 500, 'internal', 'internal error');
  };
  router.use(onError);

  // Visitor signals hold IP and user agent: keep them only for the configured retention.
  const retentionMs = config.visitorSignalsRetentionDays * 86_400_000;
  const purge = setInterval(() => {
    store.purgeVisitorSignals(now() - retentionMs).catch((err: unknown) => logger.error({ err }, 'visitor signal purge failed'));
  }, 10 * 60_000);
  purge.unref();

  if (opts.dispatch !== false) {
    dispatcher.start();
    notifier.start();
  }
  return Object.assign(router, {
    config,
    store,
    dispatcher,
    notifier,
    metrics,
    feed,
    ctx,
    async close() {
      clearInterval(purge);
      dashboard.close();
      await api.close();
      await dispatcher.stop();
      await notifier.stop();
      await sender?.close();
      await store.close();
    },
  });
}

/** Validates `input` (errors name the bad key) and builds the collector router. */
export function createCollector(input: CollectorConfigInput, opts: CollectorOptions = {}): Collector {
  return buildCollector(parseConfig(input), opts);
}
