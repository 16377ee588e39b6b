// The dispatcher against a real SQLite store and the real Meta destination; only the
// network is replaced by a scripted sender so every outcome can be forced.
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../src/config/load-config.js';
import { DEFAULT_BACKOFF, retryDelayMs } from '../src/dispatch/backoff.js';
import { createDispatcher } from '../src/dispatch/dispatcher.js';
import type { DestinationRequest, DestinationResponse } from '../src/destinations/types.js';
import { createLogger } from '../src/log.js';
import { openSqliteStore } from '../src/store/sqlite.js';
import type { Store } from '../src/store/types.js';
import { makeEvent } from './fixtures/events.js';

const HOUR = 3_600_000;
const ok = (n = 1): DestinationResponse => ({ status: 200, headers: {}, body: JSON.stringify({ events_received: n, messages: [], fbtrace_id: 'x' }) });
const metaError = (status: number, code: number, message = 'err', extra: Record<string, unknown> = {}): DestinationResponse => ({
  status,
  headers: {},
  body: JSON.stringify({ error: { message, type: 'OAuthException', code, fbtrace_id: 'x', ...extra } }),
});
const idsOf = (req: DestinationRequest) => req.eventIds;

function setup(send: (req: DestinationRequest) => Promise<DestinationResponse>, pixels = ['111']) {
  const config = parseConfig({
    sites: [
      {
        id: 'shop',
        allowedOrigins: ['https://shop.com'],
        destinations: pixels.map((p, i) => ({ id: `meta${i}`, type: 'meta', pixelId: p, accessToken: 'tok' })),
      },
    ],
  });
  const store: Store = openSqliteStore({ file: ':memory:' });
  const clock = { t: Date.now() };
  const sent: DestinationRequest[] = [];
  const dispatcher = createDispatcher({
    store,
    sites: config.sites,
    send: (req) => {
      sent.push(req);
      return send(req);
    },
    logger: createLogger('silent'),
    pollMs: 60_000,
    leaseMs: 60_000,
    maxRetryMs: 24 * HOUR,
    now: () => clock.t,
    random: () => 0.5,
  });
  const insert = async (n: number, over: Parameters<typeof makeEvent>[0] = {}) => {
    const events = Array.from({ length: n }, () => makeEvent({ event_time: Math.floor(clock.t / 1000), site_id: 'shop', ...over }));
    await store.insertEvents(events.map((event) => ({ event, destinations: pixels.map((_, i) => `meta${i}`) })));
    // The store stamps inserts with the real clock; keep the test clock from lagging it.
    clock.t = Math.max(clock.t, Date.now());
    return events.map((e) => e.event_id);
  };
  const delivery = async (id: string, dest = 'meta0') => (await store.getEvent('shop', id))!.deliveries.find((d) => d.destination === dest)!;
  return { store, clock, sent, dispatcher, insert, delivery };
}

describe('retryDelayMs', () => {
  it('grows exponentially with jitter between half and the full step, capped', () => {
    expect(retryDelayMs(1, undefined, DEFAULT_BACKOFF, () => 0)).toBe(1000);
    expect(retryDelayMs(1, undefined, DEFAULT_BACKOFF, () => 1)).toBe(2000);
    expect(retryDelayMs(3, undefined, DEFAULT_BACKOFF, () => 1)).toBe(8000);
    expect(retryDelayMs(40, undefined, DEFAULT_BACKOFF, () => 1)).toBe(DEFAULT_BACKOFF.capMs);
  });
  it('uses the platform’s Retry-After when given', () => {
    expect(retryDelayMs(5, 30_000)).toBe(30_000);
  });
});

describe('dispatcher', () => {
  it('delivers a batch in one request and marks every delivery', async () => {
    const t = setup(async (req) => ok(req.eventIds.length));
    const ids = await t.insert(3);
    await t.dispatcher.drain();
    expect(t.sent).toHaveLength(1);
    expect(idsOf(t.sent[0]!)).toEqual(ids);
    for (const id of ids) expect(await t.delivery(id)).toMatchObject({ status: 'delivered', attempts: 1, last_status: 200 });
  });

  it('retries a 5xx later with the same event_id, then delivers once', async () => {
    let fail = true;
    const t = setup(async () => (fail ? metaError(500, 2, 'temporarily unavailable', { is_transient: true }) : ok()));
    const [id] = await t.insert(1);
    await t.dispatcher.drain();
    const d = await t.delivery(id!);
    expect(d).toMatchObject({ status: 'pending', attempts: 1, last_status: 500 });
    expect(d.next_attempt_at! - t.clock.t).toBe(1500); // first step 2 s, jitter 0.5 → 1.5 s
    await t.dispatcher.drain();
    expect(t.sent).toHaveLength(1); // not due yet
    fail = false;
    t.clock.t += 1500;
    await t.dispatcher.drain();
    expect(t.sent).toHaveLength(2);
    expect(idsOf(t.sent[1]!)).toEqual([id]);
    expect(await t.delivery(id!)).toMatchObject({ status: 'delivered', attempts: 2 });
  });

  it('honours Retry-After from a 429', async () => {
    const t = setup(async () => ({ ...metaError(429, 17, 'User request limit reached'), headers: { 'retry-after': '120' } }));
    const [id] = await t.insert(1);
    await t.dispatcher.drain();
    expect((await t.delivery(id!)).next_attempt_at! - t.clock.t).toBe(120_000);
  });

  it('treats a network failure as transient', async () => {
    const t = setup(async () => {
      throw new Error('connect ECONNREFUSED');
    });
    const [id] = await t.insert(1);
    await t.dispatcher.drain();
    expect(await t.delivery(id!)).toMatchObject({ status: 'pending', last_status: null, last_error: expect.stringContaining('ECONNREFUSED') });
  });

  it('dead-letters invalid input at once, keeping Meta’s message', async () => {
    const t = setup(async () => metaError(400, 100, 'Invalid parameter', { error_user_msg: 'event_time too old' }));
    const [id] = await t.insert(1);
    await t.dispatcher.drain();
    expect(await t.delivery(id!)).toMatchObject({ status: 'dead', attempts: 1, last_status: 400, last_error: expect.stringContaining('Invalid parameter') });
  });

  it('isolates the one bad event of a rejected batch instead of failing its neighbours', async () => {
    let bad = '';
    const t = setup(async (req) => (req.eventIds.includes(bad) ? metaError(400, 100, 'Invalid parameter') : ok(req.eventIds.length)));
    const ids = await t.insert(7);
    bad = ids[4]!;
    await t.dispatcher.drain();
    for (const id of ids) expect((await t.delivery(id)).status).toBe(id === bad ? 'dead' : 'delivered');
    // Every good event was delivered exactly once.
    for (const id of ids.filter((i) => i !== bad)) {
      const deliveredIn = t.sent.filter((r) => r.eventIds.includes(id) && !r.eventIds.includes(bad));
      expect(deliveredIn).toHaveLength(1);
    }
  });

  it('pauses a destination whose token is rejected and keeps its events', async () => {
    let authOk = false;
    const t = setup(async () => (authOk ? ok() : metaError(400, 190, 'Error validating access token')));
    const [a] = await t.insert(1);
    await t.dispatcher.drain();
    expect(await t.delivery(a!)).toMatchObject({ status: 'pending', last_error: expect.stringContaining('auth') });
    const [b] = await t.insert(1);
    t.clock.t += 60_000;
    await t.dispatcher.drain();
    expect(t.sent).toHaveLength(1); // paused: nothing sent
    authOk = true;
    t.clock.t += 5 * 60_000;
    await t.dispatcher.drain();
    expect((await t.delivery(a!)).status).toBe('delivered');
    expect((await t.delivery(b!)).status).toBe('delivered');
  });

  it('never sends an event older than 7 days', async () => {
    const t = setup(async () => ok());
    const [id] = await t.insert(1, { event_time: Math.floor(Date.now() / 1000) - 8 * 86400 });
    await t.dispatcher.drain();
    expect(t.sent).toHaveLength(0);
    expect(await t.delivery(id!)).toMatchObject({ status: 'dead', last_error: expect.stringContaining('older than 7 days') });
  });

  it('gives up after the retry window and dead-letters with the last error', async () => {
    const t = setup(async () => metaError(503, 1, 'Unknown error'));
    const [id] = await t.insert(1);
    for (let i = 0; i < 60 && (await t.delivery(id!)).status === 'pending'; i++) {
      await t.dispatcher.drain();
      t.clock.t += HOUR;
    }
    const d = await t.delivery(id!);
    expect(d.status).toBe('dead');
    expect(d.last_error).toMatch(/gave up retrying after \d+ attempts: .*Unknown error/);
    expect(t.sent.length).toBeGreaterThan(10);
    expect(t.sent.length).toBeLessThan(40);
  });

  it('one hanging destination does not delay another', async () => {
    const t = setup(
      (req) => (req.url.includes('/111/') ? new Promise<DestinationResponse>(() => {}) : Promise.resolve(ok())),
      ['111', '222'],
    );
    t.dispatcher.start();
    const [id] = await t.insert(1);
    t.dispatcher.wake();
    for (let i = 0; i < 100 && (await t.delivery(id!, 'meta1')).status !== 'delivered'; i++) await new Promise((r) => setTimeout(r, 10));
    expect((await t.delivery(id!, 'meta1')).status).toBe('delivered');
    expect((await t.delivery(id!, 'meta0')).status).toBe('pending');
  });

  it('scrubs IP and user agent once every delivery has ended', async () => {
    const t = setup(async () => ok());
    const [id] = await t.insert(1, { ip: '203.0.113.9', user_agent: 'UA' });
    await t.dispatcher.drain();
    expect(await t.store.scrubFinishedEvents()).toBe(1);
    const stored = await t.store.getEvent('shop', id!);
    expect(stored!.event.ip).toBeUndefined();
    expect(stored!.event.user_agent).toBeUndefined();
  });
});
