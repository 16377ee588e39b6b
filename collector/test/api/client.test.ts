// The Node SDK against a running collector: track, trackBatch, getEvent, retries of 429 (with
// Retry-After), 5xx and network errors, and no retry of other 4xx.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Trakvo, TrakvoError } from '../../src/client/index.js';
import { orderEventId } from '../../src/event/order-event-id.js';
import type { Store } from '../../src/store/types.js';
import { startHarness, type Harness } from './harness.js';

/** fetch that records each attempt's status (or 'network'), optionally failing some first. */
function recordingFetch(failFirst = 0) {
  const log: (number | 'network')[] = [];
  let calls = 0;
  const f: typeof fetch = async (input, init) => {
    calls++;
    if (calls <= failFirst) {
      log.push('network');
      throw new TypeError('fetch failed');
    }
    const res = await fetch(input, init);
    log.push(res.status);
    return res;
  };
  return { fetch: f, log };
}

let h: Harness;
let failInserts = 0;

beforeAll(async () => {
  h = await startHarness({
    api: { rateLimit: { perSecond: 1, burst: 1 } },
    wrapStore: (store: Store) =>
      new Proxy(store, {
        get(target, prop, receiver) {
          if (prop === 'insertEvents' && failInserts > 0) {
            failInserts--;
            return async () => Promise.reject(new Error('database is locked'));
          }
          const v = Reflect.get(target, prop, receiver);
          return typeof v === 'function' ? v.bind(target) : v;
        },
      }),
  });
});
afterAll(() => h.close());

/** Each test its own token, so the 1/s limit of one does not slow the others. */
async function client(opts: { failFirst?: number; maxRetries?: number } = {}) {
  const rec = recordingFetch(opts.failFirst);
  const sdk = new Trakvo({ baseUrl: `${h.base}/`, token: await h.token(), fetch: rec.fetch, retryBaseMs: 20, maxRetries: opts.maxRetries });
  return { sdk, log: rec.log };
}

describe('Trakvo SDK', () => {
  it('tracks an event, minting its event_id before the first attempt', async () => {
    const { sdk } = await client();
    const res = await sdk.track({ event: 'Lead', user: { email: 'sdk@example.com' } });
    expect(res).toMatchObject({ status: 'queued', duplicate: false, destinations: [{ id: 'meta' }, { id: 'meta2' }] });
    expect(res.event_id).toMatch(/^[0-9a-f-]{36}$/);
    expect((await h.store.getEvent('shop', res.event_id))!.event.source).toBe('api');
  });

  it("leaves a Purchase with order_id to the collector's order-derived id", async () => {
    const { sdk } = await client();
    const res = await sdk.track({ event: 'Purchase', order_id: `SDK-${randomUUID()}`, value: 1, currency: 'BRL' });
    expect(res.event_id).toMatch(/^Purchase\.shop\.SDK-/);
    expect(res.event_id).toBe(orderEventId('shop', 'Purchase', res.event_id.slice('Purchase.shop.'.length)));
  });

  it('retries a 429 after Retry-After and succeeds', async () => {
    const { sdk, log } = await client();
    await sdk.track({ event: 'Lead' });
    const started = Date.now();
    const res = await sdk.track({ event: 'Lead' });
    expect(res.status).toBe('queued');
    expect(log).toEqual([200, 429, 200]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
  });

  it('retries 5xx and network errors; the event is stored once', async () => {
    const { sdk, log } = await client({ failFirst: 1 });
    failInserts = 1;
    const res = await sdk.track({ event: 'Lead' });
    expect(log).toEqual(['network', 503, 200]);
    expect(res.duplicate).toBe(false);
    expect(await h.store.getEvent('shop', res.event_id)).not.toBeNull();
  });

  it('never retries a 400, and throws the typed error with the body', async () => {
    const { sdk, log } = await client();
    const err = await sdk.track({ event: 'Purchase', value: 1 }).catch((e: unknown) => e);
    expect(log).toEqual([400]);
    expect(err).toBeInstanceOf(TrakvoError);
    const e = err as TrakvoError;
    expect(e.status).toBe(400);
    expect(e.code).toBe('invalid_event');
    expect(e.fields).toEqual([{ field: 'currency', message: 'is required for Purchase' }]);
    expect(e.body).toEqual({ error: { code: 'invalid_event', message: 'the event is invalid', fields: e.fields } });
    expect(e.message).toMatch(/currency: is required for Purchase/);
  });

  it('never retries a 401', async () => {
    const rec = recordingFetch();
    const sdk = new Trakvo({ baseUrl: h.base, token: `trk_prod_${'Q'.repeat(43)}`, fetch: rec.fetch, retryBaseMs: 1 });
    await expect(sdk.track({ event: 'Lead' })).rejects.toMatchObject({ status: 401, code: 'unauthorized' });
    expect(rec.log).toEqual([401]);
  });

  it('gives up after maxRetries with the last error', async () => {
    const { sdk, log } = await client({ maxRetries: 0 });
    await sdk.track({ event: 'Lead' });
    const err = (await sdk.track({ event: 'Lead' }).catch((e: unknown) => e)) as TrakvoError;
    expect(err).toBeInstanceOf(TrakvoError);
    expect(err).toMatchObject({ status: 429, code: 'rate_limited', retryAfterSec: 1 });
    expect(log).toEqual([200, 429]);
  });

  it('sends a batch and gets per-event results', async () => {
    const { sdk } = await client();
    const res = await sdk.trackBatch([{ event: 'Lead' }, { event: 'Purchase', value: 3 }, { event: 'AddToCart', content_ids: ['a'] }]);
    expect(res.accepted).toBe(2);
    expect(res.rejected).toBe(1);
    expect(res.results.map((r) => r.status)).toEqual(['queued', 'rejected', 'queued']);
  });

  it('reads delivery status, and null for an unknown event', async () => {
    const { sdk } = await client({ maxRetries: 3 });
    const { event_id } = await sdk.track({ event: 'Lead', user: { email: 'status@example.com' } });
    await h.dispatcher.drain();
    const status = await sdk.getEvent(event_id);
    expect(status).toMatchObject({ event_id, event_name: 'Lead', source: 'api' });
    expect(status!.destinations.map((d) => d.status)).toEqual(['delivered', 'delivered']);
    expect(await sdk.getEvent('does-not-exist')).toBeNull();
  });

  it('checks its options', () => {
    expect(() => new Trakvo({ baseUrl: '', token: 'x' })).toThrow(/baseUrl/);
    expect(() => new Trakvo({ baseUrl: 'http://x', token: '' })).toThrow(/token/);
  });
});
