// Prometheus metrics of one collector. Each collector owns its registry (never prom-client's
// global default), so two collectors mounted in one process keep separate numbers and do not
// clash on metric names. Served by `metricsRouter` as `GET /metrics`.
import type { RequestHandler } from 'express';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Ingest } from '../pipeline/ingest.js';
import type { QueueDepth } from '../store/types.js';
import type { DeliveryObserver } from './delivery-observer.js';

export interface MetricsOptions {
  /** Where `trakvo_queue_depth` comes from, read at each scrape. */
  store?: { queueDepth(): Promise<QueueDepth[]> };
  /**
   * Sites and their destinations: each enabled (site, destination) pair is exported with
   * queue depth 0 when nothing is pending, so the series does not vanish.
   */
  sites?: readonly { id: string; destinations: readonly { id: string; enabled: boolean }[] }[];
  /** Node process metrics (CPU, memory, event loop lag, GC); default true. */
  processMetrics?: boolean;
}

export interface Metrics {
  registry: Registry;
  eventsAccepted: Counter<'site' | 'source'>;
  eventsRejected: Counter<'reason'>;
  deliveries: Counter<'site' | 'destination' | 'outcome'>;
  queueDepth: Gauge<'site' | 'destination'>;
  dispatchDuration: Histogram<'destination'>;
  webhookNotifications: Counter<'outcome'>;
  inboundWebhooks: Counter<'platform' | 'outcome'>;
  /** Counts delivery outcomes and dispatch latency; give it to the dispatcher. */
  observer: DeliveryObserver;
  /** The exposition text, as `GET /metrics` serves it. */
  scrape(): Promise<string>;
  contentType: string;
}

/** Seconds; platform APIs answer in tens to hundreds of ms, timeouts are at 10 s. */
const DISPATCH_BUCKETS = [0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export function createMetrics(opts: MetricsOptions = {}): Metrics {
  const registry = new Registry();
  const registers = [registry];
  if (opts.processMetrics !== false) collectDefaultMetrics({ register: registry });

  const eventsAccepted = new Counter({
    name: 'trakvo_events_accepted_total',
    help: 'Events durably stored (acknowledged), by site and source (browser, api, webhook:<platform>).',
    labelNames: ['site', 'source'] as const,
    registers,
  });
  const eventsRejected = new Counter({
    name: 'trakvo_events_rejected_total',
    help: 'Event requests refused, by the error code answered (invalid_event, origin_not_allowed, …).',
    labelNames: ['reason'] as const,
    registers,
  });
  const deliveries = new Counter({
    name: 'trakvo_deliveries_total',
    help: 'Delivery outcomes per event: delivered, retry, dead, auth (credentials rejected).',
    labelNames: ['site', 'destination', 'outcome'] as const,
    registers,
  });
  const store = opts.store;
  const pairs = (opts.sites ?? []).flatMap((s) => s.destinations.filter((d) => d.enabled).map((d) => ({ site: s.id, destination: d.id })));
  const queueDepth = new Gauge({
    name: 'trakvo_queue_depth',
    help: 'Deliveries waiting to be sent (pending: new or retrying), per site and destination.',
    labelNames: ['site', 'destination'] as const,
    registers,
    async collect() {
      if (!store) return;
      let rows: QueueDepth[];
      try {
        rows = await store.queueDepth();
      } catch {
        // Store unreachable: export nothing rather than a wrong 0 (readyz says why).
        this.reset();
        return;
      }
      this.reset();
      for (const p of pairs) this.set(p, 0);
      for (const r of rows) this.set({ site: r.site_id, destination: r.destination }, r.pending);
    },
  });
  const dispatchDuration = new Histogram({
    name: 'trakvo_dispatch_duration_seconds',
    help: 'Time from sending a request to a platform to its answer (or timeout).',
    labelNames: ['destination'] as const,
    buckets: DISPATCH_BUCKETS,
    registers,
  });
  const webhookNotifications = new Counter({
    name: 'trakvo_webhook_notifications_total',
    help: 'Outbound notification attempts: delivered, retry, dead.',
    labelNames: ['outcome'] as const,
    registers,
  });
  const inboundWebhooks = new Counter({
    name: 'trakvo_inbound_webhooks_total',
    help: 'Platform webhooks received (Shopify, …), by platform and outcome.',
    labelNames: ['platform', 'outcome'] as const,
    registers,
  });

  const observer: DeliveryObserver = {
    onOutcome(o) {
      deliveries.inc({ site: o.site_id, destination: o.destination, outcome: o.outcome }, o.events.length);
      if (o.durationMs !== undefined) dispatchDuration.observe({ destination: o.destination }, o.durationMs / 1000);
    },
  };

  return {
    registry,
    eventsAccepted,
    eventsRejected,
    deliveries,
    queueDepth,
    dispatchDuration,
    webhookNotifications,
    inboundWebhooks,
    observer,
    scrape: () => registry.metrics(),
    contentType: registry.contentType,
  };
}

/** Wraps the ingest step so every acknowledged event (new or duplicate) is counted. */
export function countAcceptedEvents(ingest: Ingest, metrics: Pick<Metrics, 'eventsAccepted'>): Ingest {
  return {
    async ingest(event, site) {
      const result = await ingest.ingest(event, site);
      metrics.eventsAccepted.inc({ site: event.site_id, source: event.source });
      return result;
    },
  };
}

/**
 * Middleware for event routes (`/e`, `/v1/events…`): counts each 4xx/5xx JSON error they
 * answer (`{ error: { code } }`, see http/errors.ts) as a rejection, labelled by its code.
 */
export function countRejectedEvents(metrics: Pick<Metrics, 'eventsRejected'>): RequestHandler {
  return (_req, res, next) => {
    const json = res.json.bind(res);
    res.json = (body?: unknown) => {
      if (res.statusCode >= 400) {
        const code = (body as { error?: { code?: unknown } } | undefined)?.error?.code;
        metrics.eventsRejected.inc({ reason: typeof code === 'string' ? code : `http_${res.statusCode}` });
      }
      return json(body);
    };
    next();
  };
}

/** What an inbound webhook answer meant, from the JSON the route sent. */
function webhookOutcome(status: number, body: unknown): string {
  const b = (body ?? {}) as { error?: { code?: unknown }; duplicate?: unknown; ignored?: unknown; ping?: unknown };
  if (status >= 400) return typeof b.error?.code === 'string' ? b.error.code : `http_${status}`;
  if (b.duplicate === true) return 'duplicate';
  if (b.ping === true) return 'ping';
  if (b.ignored !== undefined) return 'ignored';
  return 'accepted';
}

/**
 * Middleware for `/webhooks/:platform/…`: counts each answer by platform and outcome
 * (`accepted`, `duplicate`, `ignored`, `ping`, or the error code). A platform name that
 * `isPlatform` does not know is labelled `unknown`, so callers cannot invent label values.
 */
export function countInboundWebhooks(metrics: Pick<Metrics, 'inboundWebhooks'>, isPlatform: (name: string) => boolean): RequestHandler {
  return (req, res, next) => {
    const name = String(req.params.platform ?? '');
    const platform = isPlatform(name) ? name : 'unknown';
    let counted = false;
    const json = res.json.bind(res);
    res.json = (body?: unknown) => {
      if (!counted) metrics.inboundWebhooks.inc({ platform, outcome: webhookOutcome(res.statusCode, body) });
      counted = true;
      return json(body);
    };
    res.on('finish', () => {
      // Answers without JSON (an empty 204, a plain-text error) still count.
      if (!counted) metrics.inboundWebhooks.inc({ platform, outcome: res.statusCode >= 400 ? `http_${res.statusCode}` : 'accepted' });
      counted = true;
    });
    next();
  };
}
