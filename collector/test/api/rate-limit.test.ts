// Rate limits per token: 429 + Retry-After in the one error shape, per-site overrides, and
// counters shared by two collectors through a real Redis (127.0.0.1:6379).
import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiConfigSchema, type ApiConfigInput } from '../../src/api/config.js';
import { apiRouter, type ApiRouter } from '../../src/api/routes.js';
import { postJson, startHarness, type Harness } from './harness.js';
import { checkResponse, type Schema } from './json-schema.js';

const lead = { event: 'Lead' };

async function statuses(url: string, token: string, n: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push((await postJson(url, token, lead)).status);
  return out;
}

describe('memory counters', () => {
  let h: Harness;
  let doc: Schema;
  beforeAll(async () => {
    h = await startHarness({
      api: { rateLimit: { perSecond: 2, burst: 3 } },
      siteApi: { blog: { rateLimit: { perSecond: 5, burst: 5 } } },
    });
    doc = (await (await fetch(`${h.base}/v1/openapi.json`)).json()) as Schema;
  });
  afterAll(() => h.close());

  it('lets a burst through, then answers 429 with Retry-After, per token', async () => {
    const a = await h.token();
    const b = await h.token();
    const got = await statuses(`${h.base}/v1/events`, a, 3);
    expect(got).toEqual([200, 200, 200]);
    const limited = await postJson(`${h.base}/v1/events`, a, lead);
    expect(limited.status).toBe(429);
    const retryAfter = Number(limited.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(1);
    const body = await limited.json();
    expect(body).toEqual({ error: { code: 'rate_limited', message: expect.stringMatching(/too many requests/) } });
    expect(checkResponse(doc, '/v1/events', 'post', 429, body)).toEqual([]);
    // Another token of the same site has its own counter.
    expect((await postJson(`${h.base}/v1/events`, b, lead)).status).toBe(200);
    // Every endpoint counts.
    const status = await fetch(`${h.base}/v1/events/x`, { headers: { authorization: `Bearer ${a}` } });
    expect(status.status).toBe(429);
    // After the window the token may send again.
    await new Promise((r) => setTimeout(r, retryAfter * 1000 + 50));
    expect((await postJson(`${h.base}/v1/events`, a, lead)).status).toBe(200);
  });

  it("uses a site's own limit when it has one", async () => {
    const blog = await h.token({ site_id: 'blog' });
    const got = await statuses(`${h.base}/v1/events`, blog, 6);
    expect(got).toEqual([200, 200, 200, 200, 200, 429]);
  });

  it('does not count requests refused for their token', async () => {
    const bad = `trk_prod_${'Z'.repeat(43)}`;
    const got = await statuses(`${h.base}/v1/events`, bad, 5);
    expect(got.every((s) => s === 401)).toBe(true);
  });
});

describe('shared Redis counters', () => {
  const prefix = `trakvo-test:${randomUUID()}`;
  const redisUrl = 'redis://127.0.0.1:6379';
  let h: Harness;
  let second: { router: ApiRouter; server: Server; base: string };
  let redis: Redis;

  const api = (store: 'redis' | 'memory'): ApiConfigInput => ({
    rateLimit: { perSecond: 3, burst: 3, store, ...(store === 'redis' ? { redisUrl, keyPrefix: prefix } : {}) },
  });

  /** A second collector (its own API router and counters) over the same store. */
  async function secondCollector(config: ApiConfigInput) {
    const router = apiRouter(h.ctx, { api: config });
    await router.ready();
    const app = express().use('/t', router);
    const server = await new Promise<Server>((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
    return { router, server, base: `http://127.0.0.1:${(server.address() as AddressInfo).port}/t` };
  }

  beforeAll(async () => {
    h = await startHarness({ api: api('redis') });
    second = await secondCollector(api('redis'));
    redis = new Redis(redisUrl);
  });
  afterAll(async () => {
    second.server.closeAllConnections();
    await new Promise((r) => second.server.close(r));
    await second.router.close();
    await h.close();
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length) await redis.del(...keys);
    await redis.quit();
  });

  it('two collectors share one budget per token', async () => {
    const token = await h.token();
    const got = [
      (await postJson(`${h.base}/v1/events`, token, lead)).status,
      (await postJson(`${second.base}/v1/events`, token, lead)).status,
      (await postJson(`${h.base}/v1/events`, token, lead)).status,
      (await postJson(`${second.base}/v1/events`, token, lead)).status,
    ];
    expect(got).toEqual([200, 200, 200, 429]);
    expect((await redis.keys(`${prefix}*`)).length).toBeGreaterThan(0);
  });

  it('with memory counters each collector counts alone (the contrast)', async () => {
    const one = await startHarness({ api: api('memory') });
    const two = await secondCollectorFor(one);
    try {
      const token = await one.token();
      const got = [];
      for (let i = 0; i < 3; i++) got.push((await postJson(`${one.base}/v1/events`, token, lead)).status);
      for (let i = 0; i < 3; i++) got.push((await postJson(`${two.base}/v1/events`, token, lead)).status);
      expect(got).toEqual([200, 200, 200, 200, 200, 200]);
    } finally {
      two.server.closeAllConnections();
      await new Promise((r) => two.server.close(r));
      await one.close();
    }

    async function secondCollectorFor(first: Harness) {
      const router = apiRouter(first.ctx, { api: api('memory') });
      const app = express().use('/t', router);
      const server = await new Promise<Server>((resolve) => {
        const s = app.listen(0, '127.0.0.1', () => resolve(s));
      });
      return { server, base: `http://127.0.0.1:${(server.address() as AddressInfo).port}/t` };
    }
  });

  it('keeps limiting with local counters while Redis is unreachable', async () => {
    const router = apiRouter(h.ctx, {
      api: { rateLimit: { perSecond: 2, burst: 2, store: 'redis', redisUrl: 'redis://127.0.0.1:1', keyPrefix: `${prefix}:down` } },
    });
    const app = express().use('/t', router);
    const server = await new Promise<Server>((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
    try {
      const token = await h.token();
      const got = await statuses(`http://127.0.0.1:${(server.address() as AddressInfo).port}/t/v1/events`, token, 3);
      expect(got).toEqual([200, 200, 429]);
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
      await router.close();
    }
  });

  it('refuses a redis store without a URL in the config', () => {
    expect(() => ApiConfigSchema.parse({ rateLimit: { store: 'redis' } })).toThrow(/redisUrl/);
    expect(() => ApiConfigSchema.parse({ rateLimit: { perSecond: 10, burst: 5 } })).toThrow(/at least perSecond/);
    expect(ApiConfigSchema.parse({}).rateLimit).toEqual({ perSecond: 50, burst: 100, burstWindowSec: 10, store: 'memory', keyPrefix: 'trakvo:api' });
  });
});
