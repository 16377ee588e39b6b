// /metrics, /healthz and /readyz over real HTTP, on an app wired the way the collector is
// (browser route, ingest, real SQLite store, dispatcher); the exposition text is parsed.
import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load-config.js';
import type { SiteConfig } from '../../src/config/schema.js';
import { createDispatcher } from '../../src/dispatch/dispatcher.js';
import { browserEventsRoute } from '../../src/http/browser-events-route.js';
import { createLogger } from '../../src/log.js';
import { countAcceptedEvents, countInboundWebhooks, countRejectedEvents, createMetrics } from '../../src/metrics/metrics.js';
import { healthRouter, metricsRouter } from '../../src/metrics/routes.js';
import { createIngest } from '../../src/pipeline/ingest.js';
import { createGroupCommitter } from '../../src/store/group-commit.js';
import { openSqliteStore } from '../../src/store/sqlite.js';
import { makeEvent } from '../fixtures/events.js';
import { parseExposition, sampleValue } from './exposition.js';

const ORIGIN = 'https://shop.com';
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function startApp() {
  const config = parseConfig({
    sites: [
      {
        id: 'shop',
        allowedOrigins: [ORIGIN],
        destinations: [
          { id: 'meta0', type: 'meta', pixelId: '111', accessToken: 'tok' },
          { id: 'meta1', type: 'meta', pixelId: '222', accessToken: 'tok' },
        ],
      },
    ],
  });
  const logger = createLogger('silent');
  const store = openSqliteStore({ file: ':memory:' });
  const metrics = createMetrics({ store, sites: config.sites });
  const dispatcher = createDispatcher({
    store,
    sites: config.sites,
    send: async (req) => ({ status: 200, headers: {}, body: JSON.stringify({ events_received: req.eventIds.length }) }),
    logger,
    pollMs: 60_000,
    leaseMs: 60_000,
    maxRetryMs: 3_600_000,
  });
  const ingest = countAcceptedEvents(createIngest({ committer: createGroupCommitter(store), store, onCommitted: () => {} }), metrics);
  const sites = new Map<string, SiteConfig>(config.sites.map((s) => [s.id, s]));
  const ctx = { store, dispatcher, logger };

  const app = express();
  app.use(healthRouter(ctx));
  app.use(metricsRouter(ctx, metrics));
  app.use('/e', countRejectedEvents(metrics));
  app.post('/e', express.text({ type: () => true, limit: '64kb' }), browserEventsRoute({ sites, ingest, logger }));
  const server: Server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  let closed = false;
  const closeStore = async () => {
    if (!closed) await store.close();
    closed = true;
  };
  cleanups.push(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    await dispatcher.stop();
    await closeStore();
  });
  const scrape = async () => {
    const res = await fetch(`${base}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    return parseExposition(await res.text());
  };
  const postEvent = (body: unknown, origin = ORIGIN) =>
    fetch(`${base}/e`, {
      method: 'POST',
      body: typeof body === 'string' ? body : JSON.stringify(body),
      headers: { 'content-type': 'text/plain', origin, 'user-agent': 'Mozilla/5.0 (Test)' },
    });
  return { base, store, metrics, dispatcher, scrape, postEvent, closeStore };
}

const wire = () => ({ s: 'shop', n: 'PageView', i: randomUUID(), u: 'https://shop.com/p/1', ts: Date.now() });

describe('GET /metrics', () => {
  it('exposes every trakvo metric family, typed, plus process metrics', async () => {
    const app = await startApp();
    const families = await app.scrape();
    const types = Object.fromEntries([...families.values()].map((f) => [f.name, f.type]));
    expect(types).toMatchObject({
      trakvo_events_accepted_total: 'counter',
      trakvo_events_rejected_total: 'counter',
      trakvo_deliveries_total: 'counter',
      trakvo_queue_depth: 'gauge',
      trakvo_dispatch_duration_seconds: 'histogram',
      trakvo_webhook_notifications_total: 'counter',
      trakvo_inbound_webhooks_total: 'counter',
      process_cpu_user_seconds_total: 'counter',
      process_resident_memory_bytes: 'gauge',
      nodejs_eventloop_lag_seconds: 'gauge',
    });
    // Idle: queue depth is exported as 0 for every enabled destination, not left out.
    expect(sampleValue(families, 'trakvo_queue_depth', { site: 'shop', destination: 'meta0' })).toBe(0);
    expect(sampleValue(families, 'trakvo_queue_depth', { site: 'shop', destination: 'meta1' })).toBe(0);
  });

  it('values change after events: accepted, rejected by reason, queue depth, deliveries, latency', async () => {
    const app = await startApp();
    const before = await app.scrape();
    expect(sampleValue(before, 'trakvo_events_accepted_total', { site: 'shop' })).toBeUndefined();

    expect((await app.postEvent([wire(), wire()])).status).toBe(200);
    expect((await app.postEvent(wire())).status).toBe(200);
    expect((await app.postEvent('{not json')).status).toBe(400);
    expect((await app.postEvent({ s: 'shop' })).status).toBe(400);
    expect((await app.postEvent(wire(), 'https://evil.example')).status).toBe(403);

    const after = await app.scrape();
    expect(sampleValue(after, 'trakvo_events_accepted_total', { site: 'shop', source: 'browser' })).toBe(3);
    expect(sampleValue(after, 'trakvo_events_rejected_total', { reason: 'invalid_json' })).toBe(1);
    expect(sampleValue(after, 'trakvo_events_rejected_total', { reason: 'invalid_event' })).toBe(1);
    expect(sampleValue(after, 'trakvo_events_rejected_total', { reason: 'origin_not_allowed' })).toBe(1);
    // Three events, each waiting for two destinations.
    expect(sampleValue(after, 'trakvo_queue_depth', { site: 'shop', destination: 'meta0' })).toBe(3);
    expect(sampleValue(after, 'trakvo_queue_depth', { site: 'shop', destination: 'meta1' })).toBe(3);

    // The dispatcher sends them; it reports each outcome to the metrics observer.
    await app.dispatcher.drain();
    const events = [makeEvent(), makeEvent(), makeEvent()];
    await app.metrics.observer.onOutcome({ site_id: 'shop', destination: 'meta0', destinationType: 'meta', outcome: 'delivered', events, httpStatus: 200, durationMs: 120 });
    await app.metrics.observer.onOutcome({ site_id: 'shop', destination: 'meta1', destinationType: 'meta', outcome: 'retry', events, httpStatus: 503, durationMs: 2400, error: 'HTTP 503' });
    await app.metrics.observer.onOutcome({ site_id: 'shop', destination: 'meta1', destinationType: 'meta', outcome: 'dead', events: events.slice(0, 1), httpStatus: null });

    const done = await app.scrape();
    expect(sampleValue(done, 'trakvo_queue_depth', { site: 'shop', destination: 'meta0' })).toBe(0);
    expect(sampleValue(done, 'trakvo_deliveries_total', { site: 'shop', destination: 'meta0', outcome: 'delivered' })).toBe(3);
    expect(sampleValue(done, 'trakvo_deliveries_total', { site: 'shop', destination: 'meta1', outcome: 'retry' })).toBe(3);
    expect(sampleValue(done, 'trakvo_deliveries_total', { site: 'shop', destination: 'meta1', outcome: 'dead' })).toBe(1);
    expect(sampleValue(done, 'trakvo_dispatch_duration_seconds_count', { destination: 'meta0' })).toBe(1);
    expect(sampleValue(done, 'trakvo_dispatch_duration_seconds_sum', { destination: 'meta0' })).toBeCloseTo(0.12);
    expect(sampleValue(done, 'trakvo_dispatch_duration_seconds_bucket', { destination: 'meta0', le: '0.1' })).toBe(0);
    expect(sampleValue(done, 'trakvo_dispatch_duration_seconds_bucket', { destination: 'meta0', le: '0.25' })).toBe(1);
    expect(sampleValue(done, 'trakvo_dispatch_duration_seconds_bucket', { destination: 'meta1', le: '+Inf' })).toBe(1);
    // Buckets are cumulative.
    const buckets = done.get('trakvo_dispatch_duration_seconds')!.samples.filter((s) => s.name.endsWith('_bucket') && s.labels.destination === 'meta1');
    for (let i = 1; i < buckets.length; i++) expect(buckets[i]!.value).toBeGreaterThanOrEqual(buckets[i - 1]!.value);
  });

  it('two collectors in one process keep separate registries', () => {
    const a = createMetrics();
    const b = createMetrics();
    a.eventsAccepted.inc({ site: 'a', source: 'api' });
    return Promise.all([a.scrape(), b.scrape()]).then(([ta, tb]) => {
      expect(sampleValue(parseExposition(ta), 'trakvo_events_accepted_total', { site: 'a' })).toBe(1);
      expect(sampleValue(parseExposition(tb), 'trakvo_events_accepted_total', { site: 'a' })).toBeUndefined();
    });
  });

  it('an unreachable store leaves queue depth out instead of failing the scrape', async () => {
    const metrics = createMetrics({
      processMetrics: false,
      sites: [{ id: 's', destinations: [{ id: 'd', enabled: true }] }],
      store: {
        queueDepth: async () => {
          throw new Error('db gone');
        },
      },
    });
    const families = parseExposition(await metrics.scrape());
    expect(sampleValue(families, 'trakvo_queue_depth', { site: 's' })).toBeUndefined();
  });
});

describe('GET /healthz and /readyz', () => {
  it('healthz: up; readyz: 503 naming the failed check until the dispatcher runs, 503 when the store is gone', async () => {
    const app = await startApp();
    const health = await fetch(`${app.base}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok' });

    const notRunning = await fetch(`${app.base}/readyz`);
    expect(notRunning.status).toBe(503);
    expect(await notRunning.json()).toEqual({ status: 'not_ready', failed: ['dispatcher'], checks: { store: 'ok', dispatcher: 'not running' } });

    app.dispatcher.start();
    const ready = await fetch(`${app.base}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready', checks: { store: 'ok', dispatcher: 'ok' } });

    await app.dispatcher.stop();
    await app.closeStore();
    const noStore = await fetch(`${app.base}/readyz`);
    expect(noStore.status).toBe(503);
    const body = (await noStore.json()) as { failed: string[]; checks: Record<string, string> };
    expect(body.failed).toEqual(['store', 'dispatcher']);
    expect(body.checks.store).toMatch(/^unreachable: /);
    expect((await fetch(`${app.base}/healthz`)).status).toBe(200);
  });

  it('readyz: a store that hangs counts as unreachable after the ping timeout', async () => {
    const app = express();
    app.use(healthRouter({ store: { ping: () => new Promise<void>(() => {}) } as never, dispatcher: { running: true } as never }, { pingTimeoutMs: 50 }));
    const server: Server = await new Promise((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
    cleanups.push(async () => {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    });
    const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/readyz`);
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({ failed: ['store'], checks: { store: 'unreachable: no answer within 50 ms', dispatcher: 'ok' } });
  });
});

describe('countInboundWebhooks', () => {
  it('counts each answer by platform and outcome; unknown platform names are not labels', async () => {
    const metrics = createMetrics({ processMetrics: false });
    const app = express();
    app.use('/webhooks/:platform', countInboundWebhooks(metrics, (p) => p === 'shopify' || p === 'stripe'));
    app.post('/webhooks/:platform/:site', (req, res) => {
      const kind = String(req.query.kind);
      if (kind === 'dup') res.json({ duplicate: true });
      else if (kind === 'ignored') res.json({ ignored: 'refund' });
      else if (kind === 'bad') res.status(401).json({ error: { code: 'invalid_signature', message: 'x' } });
      else if (kind === 'empty') res.status(204).end();
      else res.json({ accepted: [] });
    });
    app.use((_req, res) => void res.status(404).json({ error: { code: 'unknown_platform', message: 'x' } }));
    const server: Server = await new Promise((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
    cleanups.push(async () => {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    });
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    for (const path of ['shopify/shop', 'shopify/shop?kind=dup', 'shopify/shop?kind=ignored', 'stripe/shop?kind=bad', 'stripe/shop?kind=empty', 'shopify/shop']) {
      await (await fetch(`${base}/webhooks/${path}`, { method: 'POST' })).text();
    }
    await (await fetch(`${base}/webhooks/made-up-${randomUUID()}`, { method: 'GET' })).text();
    const f = parseExposition(await metrics.scrape());
    expect(sampleValue(f, 'trakvo_inbound_webhooks_total', { platform: 'shopify', outcome: 'accepted' })).toBe(2);
    expect(sampleValue(f, 'trakvo_inbound_webhooks_total', { platform: 'shopify', outcome: 'duplicate' })).toBe(1);
    expect(sampleValue(f, 'trakvo_inbound_webhooks_total', { platform: 'shopify', outcome: 'ignored' })).toBe(1);
    expect(sampleValue(f, 'trakvo_inbound_webhooks_total', { platform: 'stripe', outcome: 'invalid_signature' })).toBe(1);
    expect(sampleValue(f, 'trakvo_inbound_webhooks_total', { platform: 'stripe', outcome: 'accepted' })).toBe(1);
    expect(sampleValue(f, 'trakvo_inbound_webhooks_total', { platform: 'unknown', outcome: 'unknown_platform' })).toBe(1);
    const platforms = new Set(f.get('trakvo_inbound_webhooks_total')!.samples.map((s) => s.labels.platform));
    expect([...platforms].sort()).toEqual(['shopify', 'stripe', 'unknown']);
  });
});
