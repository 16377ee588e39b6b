// The collector as built by buildCollector, with metrics, notifications, request ids and
// readiness wired: a real Meta mock that refuses an event, a real receiver for notifications.
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCollector, type Collector } from '../../src/http/create-collector.js';
import { createLogger } from '../../src/log.js';
import { startMetaGraphMock, type RunningMetaGraphMock } from '../../src/mocks/meta-graph.js';
import { parseExposition, sampleValue } from '../metrics/exposition.js';
import { startReceiver, waitFor, type Receiver } from '../notify/helpers.js';

const SECRET = 'wired-secret-0123456789abcdef';
let graph: RunningMetaGraphMock;
let rx: Receiver;
let collector: Collector;
let server: Server;
let base: string;
let dir: string;
const lines: string[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'trakvo-wired-'));
  graph = await startMetaGraphMock({ accessToken: 'tok', pixelId: '111' });
  rx = await startReceiver(SECRET, () => 204);
  collector = createCollector(
    {
      dataDir: dir,
      dispatch: { pollMs: 50, timeoutMs: 5000, maxRetryHours: 1, leaseMs: 10_000 },
      sites: [{
        id: 'shop',
        allowedOrigins: ['https://shop.com'],
        destinations: [{ id: 'meta0', type: 'meta', pixelId: '111', accessToken: 'tok', baseUrl: graph.url }],
        notify: [{ url: rx.url, secret: SECRET, events: ['event.dead', 'event.delivered', 'match_quality.low'], matchQualityBelow: 4 }],
      }],
    },
    { logger: createLogger('info', { destination: { write: (s: string) => void lines.push(s) } }) },
  );
  const app = express();
  app.use('/t', collector);
  server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/t`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  await collector.close();
  await rx.close();
  await graph.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('operations, wired', () => {
  it('readyz, request ids, metrics and signed notifications for delivered / low quality / dead', async () => {
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
    const post = (id: string) =>
      fetch(`${base}/e`, {
        method: 'POST',
        body: JSON.stringify({ s: 'shop', n: 'PageView', i: id, u: 'https://shop.com/p', ts: Date.now() }),
        headers: { 'content-type': 'text/plain', origin: 'https://shop.com', 'user-agent': 'Mozilla/5.0 (Test)', 'x-request-id': `rq-${id}` },
      });
    const ok = `ok-${randomUUID()}`;
    const res = await post(ok);
    expect(res.status).toBe(200);
    expect(res.headers.get('x-request-id')).toBe(`rq-${ok}`);
    await waitFor(() => (rx.received.length >= 2 ? true : undefined));
    graph.script([{ status: 400, body: { error: { message: 'Invalid parameter', type: 'OAuthException', code: 100, fbtrace_id: 'x' } } }]);
    const bad = `bad-${randomUUID()}`;
    expect((await post(bad)).status).toBe(200);
    await waitFor(() => (rx.received.some((r) => r.body.includes('"event.dead"')) ? true : undefined));
    expect(rx.received.every((r) => r.signatureOk)).toBe(true);
    const types = rx.received.map((r) => (JSON.parse(r.body) as { type: string }).type).sort();
    // PageView with ip (loopback: an IP) + UA = 1.5 < 4: low quality for the delivered one.
    expect(types).toEqual(['event.dead', 'event.delivered', 'match_quality.low']);

    const f = parseExposition(await (await fetch(`${base}/metrics`)).text());
    expect(sampleValue(f, 'trakvo_events_accepted_total', { site: 'shop', source: 'browser' })).toBe(2);
    expect(sampleValue(f, 'trakvo_deliveries_total', { destination: 'meta0', outcome: 'delivered' })).toBe(1);
    expect(sampleValue(f, 'trakvo_deliveries_total', { destination: 'meta0', outcome: 'dead' })).toBe(1);
    expect(sampleValue(f, 'trakvo_dispatch_duration_seconds_count', { destination: 'meta0' })).toBe(2);
    expect(sampleValue(f, 'trakvo_webhook_notifications_total', { outcome: 'delivered' })).toBe(3);
    expect(sampleValue(f, 'trakvo_queue_depth', { site: 'shop', destination: 'meta0' })).toBe(0);
    expect(lines.some((l) => l.includes(`"req_id":"rq-${ok}"`))).toBe(true);
  });
});
