// The whole collector on PostgreSQL (the engine for several machines): configured by URL,
// opened lazily, a browser event committed and delivered to a contract-checking Meta mock,
// and two collectors sharing one queue deliver each event exactly once.
import { randomBytes, randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCollector, type Collector } from '../src/http/create-collector.js';
import { createLogger } from '../src/log.js';
import { startMetaGraphMock, type RunningMetaGraphMock } from '../src/mocks/meta-graph.js';

const url = process.env.TRAKVO_TEST_PG_URL;
const inCI = (process.env.CI ?? '') !== '';
const ORIGIN = 'https://www.shop.com';

if (!url) {
  if (inCI) {
    it('has a PostgreSQL server to test against', () => {
      throw new Error('TRAKVO_TEST_PG_URL is not set, but CI is');
    });
  } else {
    describe.skip('collector on PostgreSQL — skipped: TRAKVO_TEST_PG_URL is not set', () => {
      it('runs', () => undefined);
    });
  }
} else {
  describe('collector on PostgreSQL', () => {
    const schema = `trakvo_collector_${randomBytes(4).toString('hex')}`;
    let mock: RunningMetaGraphMock;
    const running: { collector: Collector; server: Server; base: string }[] = [];

    async function start(): Promise<{ collector: Collector; base: string }> {
      const collector = createCollector(
        {
          store: { engine: 'postgres', url: url!, schema },
          dispatch: { pollMs: 50, timeoutMs: 5000, maxRetryHours: 1, leaseMs: 30_000 },
          sites: [{ id: 'shop', allowedOrigins: [ORIGIN], destinations: [{ id: 'meta', type: 'meta', pixelId: '42', accessToken: 'tok', baseUrl: mock.url }] }],
        },
        { logger: createLogger('silent') },
      );
      const app = express();
      app.use('/t', collector);
      const server = await new Promise<Server>((ok) => {
        const s = app.listen(0, '127.0.0.1', () => ok(s));
      });
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/t`;
      running.push({ collector, server, base });
      return { collector, base };
    }

    const post = (base: string, i: string) =>
      fetch(`${base}/e`, {
        method: 'POST',
        headers: { origin: ORIGIN, 'content-type': 'text/plain', 'user-agent': 'Mozilla/5.0 (PG test)' },
        body: JSON.stringify({ s: 'shop', n: 'Lead', i, u: `${ORIGIN}/contact`, p: { email: 'pg@example.com' } }),
      });

    async function until<T>(fn: () => Promise<T | undefined>, what: string): Promise<T> {
      for (let n = 0; n < 300; n++) {
        const v = await fn();
        if (v !== undefined) return v;
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error(`timed out waiting for ${what}`);
    }

    beforeAll(async () => {
      mock = await startMetaGraphMock({ accessToken: 'tok', pixelId: '42' });
    });
    afterAll(async () => {
      for (const r of running) {
        r.server.closeAllConnections();
        await new Promise((ok) => r.server.close(ok));
        await r.collector.close();
      }
      await mock?.close();
      const admin = new pg.Pool({ connectionString: url, max: 1 });
      await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await admin.end();
    });

    it('commits a browser event and delivers it; /readyz checks the database', async () => {
      const { collector, base } = await start();
      expect((await fetch(`${base}/readyz`)).status).toBe(200);
      const id = randomUUID();
      expect((await post(base, id)).status).toBe(200);
      const stored = await until(async () => {
        const e = await collector.store.getEvent('shop', id);
        return e?.deliveries[0]?.status === 'delivered' ? e : undefined;
      }, 'delivery');
      expect(stored.event.user.em).toMatch(/^[0-9a-f]{64}$/);
      expect(mock.received.flatMap((b) => b.body.data as { event_id: string }[]).filter((e) => e.event_id === id)).toHaveLength(1);
    });

    it('two collectors on one queue deliver each event exactly once', async () => {
      const a = running[0] ?? (await start());
      const b = await start();
      const ids = Array.from({ length: 40 }, () => randomUUID());
      await Promise.all(ids.map((id, k) => post(k % 2 ? a.base : b.base, id)));
      await until(async () => {
        const states = await Promise.all(ids.map((id) => a.collector.store.getEvent('shop', id)));
        return states.every((s) => s?.deliveries[0]?.status === 'delivered') ? true : undefined;
      }, 'all delivered');
      const sent = mock.received.flatMap((r) => r.body.data as { event_id: string }[]).map((e) => e.event_id);
      for (const id of ids) expect(sent.filter((s) => s === id)).toHaveLength(1);
    });
  });
}
