// The Store contract: every engine (SQLite, PostgreSQL, …) runs this same suite.
// Nothing here may depend on one engine. Rules the suite relies on:
//   - `open()` returns a store over an EMPTY database (nextDueAt and scrubFinishedEvents
//     look at all sites, so leftovers from another test would change their answers);
//   - `reopen(store)` closes `store` and opens the same database again (durability test);
//   - insertEvents stamps received_at and the first next_attempt_at with the wall clock
//     (Date.now()); every other time is the `now` the caller passes.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CanonicalEvent } from '../src/event/schema.js';
import type { DeliveryRecord, LeasedDelivery, NewEvent, Store } from '../src/store/types.js';
import { makeEvent } from './fixtures/events.js';

export type OpenStore = () => Promise<Store> | Store;
export type ReopenStore = (store: Store) => Promise<Store> | Store;

const LEASE = 30_000;

function byDestination(ds: DeliveryRecord[]): DeliveryRecord[] {
  return [...ds].sort((a, b) => (a.destination < b.destination ? -1 : a.destination > b.destination ? 1 : 0));
}

function withoutNetworkIdentity(e: CanonicalEvent): CanonicalEvent {
  const copy: Partial<CanonicalEvent> = { ...e };
  delete copy.ip;
  delete copy.user_agent;
  return copy as CanonicalEvent;
}

export function runStoreContract(name: string, open: OpenStore, reopen?: ReopenStore): void {
  describe(`Store contract: ${name}`, () => {
    let store: Store;

    beforeEach(async () => {
      store = await open();
    });

    afterEach(async () => {
      await store.close();
    });

    /** A wall-clock `now` at which everything inserted so far is due. */
    const dueNow = (): number => Date.now() + 1_000;

    async function insertOne(event: CanonicalEvent, destinations: string[] = ['meta', 'tiktok']) {
      const [r] = await store.insertEvents([{ event, destinations }]);
      return r;
    }

    async function delivery(e: CanonicalEvent, destination: string): Promise<DeliveryRecord> {
      const stored = await store.getEvent(e.site_id, e.event_id);
      const d = stored?.deliveries.find((x) => x.destination === destination);
      if (!d) throw new Error(`no ${destination} delivery for ${e.event_id}`);
      return d;
    }

    async function leaseAll(site_id: string, destination: string, now: number, limit = 100) {
      return store.leaseDueDeliveries({ site_id, destination, limit, leaseMs: LEASE, now });
    }

    /** Leases every due delivery of (site, destination) and returns the one of `e`. */
    async function leaseOne(e: CanonicalEvent, destination: string, now: number): Promise<LeasedDelivery> {
      const leased = await leaseAll(e.site_id, destination, now);
      const mine = leased.find((l) => l.event.event_id === e.event_id);
      if (!mine) throw new Error(`could not lease ${destination} for ${e.event_id}`);
      return mine;
    }

    describe('insertEvents and getEvent', () => {
      it('round-trips the event payload and creates one pending delivery per destination', async () => {
        const e = makeEvent();
        const before = Date.now();
        const results = await store.insertEvents([{ event: e, destinations: ['meta', 'tiktok'] }]);
        const after = Date.now();
        expect(results).toEqual([{ site_id: e.site_id, event_id: e.event_id, inserted: true }]);

        const stored = await store.getEvent(e.site_id, e.event_id);
        expect(stored).not.toBeNull();
        expect(stored!.event).toEqual(e);
        expect(stored!.received_at).toBeGreaterThanOrEqual(before);
        expect(stored!.received_at).toBeLessThanOrEqual(after);
        const ds = byDestination(stored!.deliveries);
        expect(ds.map((d) => d.destination)).toEqual(['meta', 'tiktok']);
        for (const d of ds) {
          expect(d).toMatchObject({
            status: 'pending',
            attempts: 0,
            last_status: null,
            last_error: null,
            delivered_at: null,
          });
          expect(d.next_attempt_at).toBeGreaterThanOrEqual(before);
          expect(d.next_attempt_at).toBeLessThanOrEqual(after);
        }
      });

      it('round-trips a minimal event with no optional fields', async () => {
        const e = makeEvent({
          url: undefined,
          referrer: undefined,
          title: undefined,
          ip: undefined,
          user_agent: undefined,
          user: {},
          ids: {},
          custom: {},
          source: 'webhook:shopify',
          event_name: 'MyCustomEvent',
        });
        await insertOne(e, ['meta']);
        const stored = await store.getEvent(e.site_id, e.event_id);
        expect(stored!.event).toEqual(e);
      });

      it('round-trips unicode, fractional values and nested contents exactly', async () => {
        const e = makeEvent({
          title: 'Obrigado — pedido nº 42 ✓ "aspas" \\ barra',
          custom: {
            value: 0.1 + 0.2,
            currency: 'BRL',
            contents: [{ id: 'sku-ç', quantity: 3, item_price: 19.99, title: '日本語' }],
            extra: { coupon: 'DESCONTO10', first_order: true, score: -1.5 },
          },
        });
        await insertOne(e);
        expect((await store.getEvent(e.site_id, e.event_id))!.event).toEqual(e);
      });

      it('returns null for an unknown event', async () => {
        expect(await store.getEvent('shop', 'does-not-exist')).toBeNull();
      });

      it('returns an empty result for an empty batch', async () => {
        expect(await store.insertEvents([])).toEqual([]);
      });

      it('stores a whole batch and answers in input order', async () => {
        const es = [makeEvent(), makeEvent(), makeEvent()];
        const results = await store.insertEvents(es.map((event) => ({ event, destinations: ['meta'] })));
        expect(results).toEqual(es.map((e) => ({ site_id: e.site_id, event_id: e.event_id, inserted: true })));
        for (const e of es) expect((await store.getEvent(e.site_id, e.event_id))!.event).toEqual(e);
      });

      it('accepts an event with no destinations at all', async () => {
        const e = makeEvent();
        expect(await insertOne(e, [])).toMatchObject({ inserted: true });
        const stored = await store.getEvent(e.site_id, e.event_id);
        expect(stored!.deliveries).toEqual([]);
        expect(await store.nextDueAt()).toBeNull();
      });
    });

    describe('idempotency on (site_id, event_id)', () => {
      it('ignores the same event sent again in a later call and adds no deliveries', async () => {
        const e = makeEvent();
        expect(await insertOne(e, ['meta'])).toEqual({ site_id: e.site_id, event_id: e.event_id, inserted: true });
        const again = { ...e, event_name: 'Lead' };
        const [r] = await store.insertEvents([
          { event: again, destinations: ['meta', 'tiktok'], skipped: [{ destination: 'ga4', reason: 'x' }] },
        ]);
        expect(r).toEqual({ site_id: e.site_id, event_id: e.event_id, inserted: false });

        const stored = await store.getEvent(e.site_id, e.event_id);
        expect(stored!.event).toEqual(e);
        expect(stored!.deliveries.map((d) => d.destination)).toEqual(['meta']);
      });

      it('ignores a repeat inside one batch, keeping the first', async () => {
        const e = makeEvent();
        const other = makeEvent();
        const batch: NewEvent[] = [
          { event: e, destinations: ['meta'] },
          { event: other, destinations: ['meta'] },
          { event: { ...e, event_name: 'Lead' }, destinations: ['meta', 'tiktok'] },
        ];
        const results = await store.insertEvents(batch);
        expect(results.map((r) => [r.event_id, r.inserted])).toEqual([
          [e.event_id, true],
          [other.event_id, true],
          [e.event_id, false],
        ]);
        const stored = await store.getEvent(e.site_id, e.event_id);
        expect(stored!.event.event_name).toBe('Purchase');
        expect(stored!.deliveries).toHaveLength(1);
        expect(await leaseAll(e.site_id, 'meta', dueNow())).toHaveLength(2);
        expect(await leaseAll(e.site_id, 'tiktok', dueNow())).toHaveLength(0);
      });
    });

    describe('site scoping', () => {
      it('keeps the same event_id of two sites apart', async () => {
        const a = makeEvent({ site_id: 'site-a', event_id: 'same-id', event_name: 'Purchase' });
        const b = makeEvent({ site_id: 'site-b', event_id: 'same-id', event_name: 'Lead' });
        const results = await store.insertEvents([
          { event: a, destinations: ['meta'] },
          { event: b, destinations: ['meta', 'tiktok'] },
        ]);
        expect(results.map((r) => r.inserted)).toEqual([true, true]);

        const sa = await store.getEvent('site-a', 'same-id');
        const sb = await store.getEvent('site-b', 'same-id');
        expect(sa!.event).toEqual(a);
        expect(sa!.deliveries.map((d) => d.destination)).toEqual(['meta']);
        expect(sb!.event).toEqual(b);
        expect(byDestination(sb!.deliveries).map((d) => d.destination)).toEqual(['meta', 'tiktok']);
        expect(await store.getEvent('site-c', 'same-id')).toBeNull();
      });
    });

    describe('skipped deliveries', () => {
      it('records skipped destinations with their reason and never leases them', async () => {
        const e = makeEvent({ consent: { marketing: false, analytics: true } });
        await store.insertEvents([
          {
            event: e,
            destinations: ['ga4'],
            skipped: [
              { destination: 'meta', reason: 'no marketing consent' },
              { destination: 'tiktok', reason: 'no marketing consent' },
            ],
          },
        ]);
        const ds = byDestination((await store.getEvent(e.site_id, e.event_id))!.deliveries);
        expect(ds).toEqual([
          expect.objectContaining({ destination: 'ga4', status: 'pending', attempts: 0 }),
          expect.objectContaining({
            destination: 'meta',
            status: 'skipped',
            attempts: 0,
            last_error: 'no marketing consent',
            last_status: null,
            delivered_at: null,
          }),
          expect.objectContaining({ destination: 'tiktok', status: 'skipped', last_error: 'no marketing consent' }),
        ]);
        expect(await leaseAll(e.site_id, 'meta', dueNow())).toEqual([]);
        expect(await leaseAll(e.site_id, 'ga4', dueNow())).toHaveLength(1);
      });
    });

    describe('leaseDueDeliveries', () => {
      it('returns due deliveries with their event, attempts and received_at', async () => {
        const e = makeEvent();
        await insertOne(e, ['meta']);
        const stored = await store.getEvent(e.site_id, e.event_id);
        const leased = await leaseAll(e.site_id, 'meta', dueNow());
        expect(leased).toHaveLength(1);
        expect(leased[0]).toMatchObject({ destination: 'meta', attempts: 0, received_at: stored!.received_at });
        expect(typeof leased[0]!.delivery_id).toBe('number');
        expect(leased[0]!.event).toEqual(e);
      });

      it('returns nothing when nothing is due', async () => {
        expect(await leaseAll('shop', 'meta', dueNow())).toEqual([]);
      });

      it('honours the limit and never hands out the same delivery twice', async () => {
        const es = Array.from({ length: 5 }, () => makeEvent());
        await store.insertEvents(es.map((event) => ({ event, destinations: ['meta'] })));
        const now = dueNow();
        const first = await leaseAll('shop', 'meta', now, 2);
        const second = await leaseAll('shop', 'meta', now, 10);
        const third = await leaseAll('shop', 'meta', now, 10);
        expect(first).toHaveLength(2);
        expect(second).toHaveLength(3);
        expect(third).toHaveLength(0);
        const ids = new Set([...first, ...second].map((l) => l.delivery_id));
        expect(ids.size).toBe(5);
        expect(new Set([...first, ...second].map((l) => l.event.event_id))).toEqual(new Set(es.map((e) => e.event_id)));
      });

      it('gives two concurrent callers disjoint deliveries', async () => {
        const es = Array.from({ length: 6 }, () => makeEvent());
        await store.insertEvents(es.map((event) => ({ event, destinations: ['meta'] })));
        const now = dueNow();
        const [a, b] = await Promise.all([leaseAll('shop', 'meta', now, 4), leaseAll('shop', 'meta', now, 4)]);
        const ids = [...a, ...b].map((l) => l.delivery_id);
        expect(ids).toHaveLength(6);
        expect(new Set(ids).size).toBe(6);
      });

      it('hands out deliveries inserted together in insertion order', async () => {
        const es = [makeEvent(), makeEvent(), makeEvent()];
        await store.insertEvents(es.map((event) => ({ event, destinations: ['meta'] })));
        const leased = await leaseAll('shop', 'meta', dueNow());
        expect(leased.map((l) => l.event.event_id)).toEqual(es.map((e) => e.event_id));
      });

      it('hands out the oldest next_attempt_at first', async () => {
        const es = [makeEvent(), makeEvent(), makeEvent()];
        await store.insertEvents(es.map((event) => ({ event, destinations: ['meta'] })));
        const t = dueNow();
        const leased = await leaseAll('shop', 'meta', t);
        const idOf = (e: CanonicalEvent) => leased.find((l) => l.event.event_id === e.event_id)!.delivery_id;
        const info = { httpStatus: 503 };
        await store.markRetry([idOf(es[0]!)], t + 300, info, t);
        await store.markRetry([idOf(es[1]!)], t + 100, info, t);
        await store.markRetry([idOf(es[2]!)], t + 200, info, t);

        const again = await leaseAll('shop', 'meta', t + 1_000);
        expect(again.map((l) => l.event.event_id)).toEqual([es[1]!.event_id, es[2]!.event_id, es[0]!.event_id]);
        const oldestTwo = await leaseAll('shop', 'meta', t + 2_000 + LEASE, 2);
        expect(oldestTwo.map((l) => l.event.event_id)).toEqual([es[1]!.event_id, es[2]!.event_id]);
      });

      it('does not lease a delivery again while its lease holds, and does after it runs out', async () => {
        const e = makeEvent();
        await insertOne(e, ['meta']);
        const t = dueNow();
        const first = await leaseAll('shop', 'meta', t);
        expect(first).toHaveLength(1);
        expect(await leaseAll('shop', 'meta', t + 1)).toHaveLength(0);
        expect(await leaseAll('shop', 'meta', t + LEASE - 1)).toHaveLength(0);
        const second = await leaseAll('shop', 'meta', t + LEASE);
        expect(second.map((l) => l.delivery_id)).toEqual([first[0]!.delivery_id]);
        expect(second[0]!.attempts).toBe(0);
        expect(await leaseAll('shop', 'meta', t + LEASE + 1)).toHaveLength(0);
      });

      it('does not lease a delivery before its next_attempt_at', async () => {
        const e = makeEvent();
        await insertOne(e, ['meta']);
        const t = dueNow();
        const [l] = await leaseAll('shop', 'meta', t);
        await store.markRetry([l!.delivery_id], t + 5_000, { httpStatus: 500 }, t);
        expect(await leaseAll('shop', 'meta', t + 4_999)).toHaveLength(0);
        const due = await leaseAll('shop', 'meta', t + 5_000);
        expect(due.map((d) => d.delivery_id)).toEqual([l!.delivery_id]);
        expect(due[0]!.attempts).toBe(1);
      });

      it('keeps destinations and sites apart', async () => {
        const a = makeEvent({ site_id: 'site-a' });
        const b = makeEvent({ site_id: 'site-b' });
        await store.insertEvents([
          { event: a, destinations: ['meta', 'tiktok'] },
          { event: b, destinations: ['meta'] },
        ]);
        const now = dueNow();
        const aMeta = await leaseAll('site-a', 'meta', now);
        expect(aMeta.map((l) => [l.event.site_id, l.destination])).toEqual([['site-a', 'meta']]);
        expect(await leaseAll('site-a', 'ga4', now)).toHaveLength(0);
        expect(await leaseAll('site-c', 'meta', now)).toHaveLength(0);
        const aTiktok = await leaseAll('site-a', 'tiktok', now);
        expect(aTiktok.map((l) => [l.event.site_id, l.destination])).toEqual([['site-a', 'tiktok']]);
        const bMeta = await leaseAll('site-b', 'meta', now);
        expect(bMeta.map((l) => [l.event.event_id, l.destination])).toEqual([[b.event_id, 'meta']]);
      });
    });

    describe('marking outcomes', () => {
      it('markDelivered records status, attempt, HTTP status and time, and ends the delivery', async () => {
        const e = makeEvent();
        await insertOne(e);
        const t = dueNow();
        const l = await leaseOne(e, 'meta', t);
        await store.markDelivered([l.delivery_id], { httpStatus: 200 }, t + 10);
        expect(await delivery(e, 'meta')).toMatchObject({
          status: 'delivered',
          attempts: 1,
          last_status: 200,
          last_error: null,
          delivered_at: t + 10,
        });
        expect(await delivery(e, 'tiktok')).toMatchObject({ status: 'pending', attempts: 0 });
        expect(await leaseAll('shop', 'meta', t + 10 * LEASE)).toHaveLength(0);
      });

      it('markDelivered takes many ids at once', async () => {
        const es = [makeEvent(), makeEvent(), makeEvent()];
        await store.insertEvents(es.map((event) => ({ event, destinations: ['meta'] })));
        const t = dueNow();
        const leased = await leaseAll('shop', 'meta', t);
        await store.markDelivered(leased.map((l) => l.delivery_id), { httpStatus: 200 }, t);
        for (const e of es) expect((await delivery(e, 'meta')).status).toBe('delivered');
        expect(await store.nextDueAt()).toBeNull();
      });

      it('markRetry keeps the delivery pending, counts the attempt, sets the next time and clears the lease', async () => {
        const e = makeEvent();
        await insertOne(e, ['meta']);
        const t = dueNow();
        const l = await store.leaseDueDeliveries({ site_id: 'shop', destination: 'meta', limit: 1, leaseMs: 10 * LEASE, now: t });
        const id = l[0]!.delivery_id;
        await store.markRetry([id], t + 60_000, { httpStatus: 503, error: 'service unavailable' }, t + 5);
        expect(await delivery(e, 'meta')).toMatchObject({
          status: 'pending',
          attempts: 1,
          next_attempt_at: t + 60_000,
          last_status: 503,
          last_error: 'service unavailable',
          delivered_at: null,
        });
        // The lease (until t + 10 * LEASE) is gone: due again at retryAt.
        const again = await leaseAll('shop', 'meta', t + 60_000);
        expect(again.map((x) => [x.delivery_id, x.attempts])).toEqual([[id, 1]]);

        await store.markRetry([id], t + 120_000, { httpStatus: null, error: 'timeout' }, t + 60_001);
        expect(await delivery(e, 'meta')).toMatchObject({
          status: 'pending',
          attempts: 2,
          next_attempt_at: t + 120_000,
          last_status: null,
          last_error: 'timeout',
        });
      });

      it('markDead dead-letters the delivery with the platform answer', async () => {
        const e = makeEvent();
        await insertOne(e, ['meta']);
        const t = dueNow();
        const l = await leaseOne(e, 'meta', t);
        await store.markRetry([l.delivery_id], t + 1_000, { httpStatus: 429 }, t);
        await leaseOne(e, 'meta', t + 1_000);
        await store.markDead([l.delivery_id], { httpStatus: 400, error: 'Invalid parameter: fbc' }, t + 1_001);
        expect(await delivery(e, 'meta')).toMatchObject({
          status: 'dead',
          attempts: 2,
          last_status: 400,
          last_error: 'Invalid parameter: fbc',
          delivered_at: null,
        });
        expect(await leaseAll('shop', 'meta', t + 100 * LEASE)).toHaveLength(0);
        expect(await store.nextDueAt()).toBeNull();
      });

      it('markSkipped ends the delivery with a reason and does not count an attempt', async () => {
        const e = makeEvent();
        await insertOne(e, ['meta']);
        const t = dueNow();
        const l = await leaseOne(e, 'meta', t);
        await store.markRetry([l.delivery_id], t + 1_000, { httpStatus: 502, error: 'bad gateway' }, t);
        await leaseOne(e, 'meta', t + 1_000);
        await store.markSkipped([l.delivery_id], 'event older than 7 days', t + 1_001);
        expect(await delivery(e, 'meta')).toMatchObject({
          status: 'skipped',
          attempts: 1,
          last_error: 'event older than 7 days',
          delivered_at: null,
        });
        expect(await leaseAll('shop', 'meta', t + 100 * LEASE)).toHaveLength(0);
      });

      it('does not reopen a finished delivery when a late worker reports on it', async () => {
        const e = makeEvent();
        await insertOne(e, ['meta']);
        const t = dueNow();
        const l = await leaseOne(e, 'meta', t);
        await store.markDelivered([l.delivery_id], { httpStatus: 200 }, t + 1);
        await store.markRetry([l.delivery_id], t + 5_000, { httpStatus: null, error: 'timeout' }, t + 2);
        await store.markDead([l.delivery_id], { httpStatus: 400 }, t + 3);
        expect(await delivery(e, 'meta')).toMatchObject({ status: 'delivered', attempts: 1, last_status: 200 });
        expect(await store.nextDueAt()).toBeNull();
      });

      it('accepts empty id lists', async () => {
        await store.markDelivered([], { httpStatus: 200 }, 1);
        await store.markRetry([], 2, { httpStatus: 500 }, 1);
        await store.markDead([], { httpStatus: 400 }, 1);
        await store.markSkipped([], 'x', 1);
      });
    });

    describe('nextDueAt', () => {
      it('is null with nothing pending', async () => {
        expect(await store.nextDueAt()).toBeNull();
        const e = makeEvent();
        await store.insertEvents([{ event: e, destinations: [], skipped: [{ destination: 'meta', reason: 'no consent' }] }]);
        expect(await store.nextDueAt()).toBeNull();
      });

      it('is the insert time of a fresh delivery', async () => {
        const before = Date.now();
        await insertOne(makeEvent(), ['meta']);
        const after = Date.now();
        const next = await store.nextDueAt();
        expect(next).toBeGreaterThanOrEqual(before);
        expect(next).toBeLessThanOrEqual(after);
      });

      it('is the earliest next_attempt_at across sites and destinations', async () => {
        const a = makeEvent({ site_id: 'site-a' });
        const b = makeEvent({ site_id: 'site-b' });
        await store.insertEvents([
          { event: a, destinations: ['meta'] },
          { event: b, destinations: ['tiktok'] },
        ]);
        const t = dueNow();
        const la = await leaseOne(a, 'meta', t);
        const lb = await leaseOne(b, 'tiktok', t);
        await store.markRetry([la.delivery_id], t + 9_000, { httpStatus: 500 }, t);
        await store.markRetry([lb.delivery_id], t + 4_000, { httpStatus: 500 }, t);
        expect(await store.nextDueAt()).toBe(t + 4_000);
        await store.markDelivered([lb.delivery_id], { httpStatus: 200 }, t);
        expect(await store.nextDueAt()).toBe(t + 9_000);
        await store.markDead([la.delivery_id], { httpStatus: 400 }, t);
        expect(await store.nextDueAt()).toBeNull();
      });

      it('counts a leased delivery as due when its lease runs out', async () => {
        const e = makeEvent();
        await insertOne(e, ['meta']);
        const t = dueNow();
        await leaseOne(e, 'meta', t);
        expect(await store.nextDueAt()).toBe(t + LEASE);
      });
    });

    describe('scrubFinishedEvents', () => {
      it('drops ip and user agent only once every delivery has ended, keeping the rest', async () => {
        const e = makeEvent();
        expect(e.ip).toBeDefined();
        expect(e.user_agent).toBeDefined();
        await insertOne(e, ['meta', 'tiktok']);
        expect(await store.scrubFinishedEvents()).toBe(0);

        const t = dueNow();
        const meta = await leaseOne(e, 'meta', t);
        await store.markDelivered([meta.delivery_id], { httpStatus: 200 }, t);
        const tiktok = await leaseOne(e, 'tiktok', t);
        await store.markRetry([tiktok.delivery_id], t + 1_000, { httpStatus: 500 }, t);
        expect(await store.scrubFinishedEvents()).toBe(0);
        expect((await store.getEvent(e.site_id, e.event_id))!.event).toEqual(e);

        await leaseOne(e, 'tiktok', t + 1_000);
        await store.markDead([tiktok.delivery_id], { httpStatus: 400 }, t + 1_000);
        expect(await store.scrubFinishedEvents()).toBe(1);
        const stored = await store.getEvent(e.site_id, e.event_id);
        expect(stored!.event).toEqual(withoutNetworkIdentity(e));
        expect(stored!.event).not.toHaveProperty('ip');
        expect(stored!.event).not.toHaveProperty('user_agent');
        expect(byDestination(stored!.deliveries).map((d) => d.status)).toEqual(['delivered', 'dead']);

        expect(await store.scrubFinishedEvents()).toBe(0);
      });

      it('scrubs events whose deliveries were all skipped, or that had none', async () => {
        const skippedOnly = makeEvent({ consent: { marketing: false, analytics: false } });
        const noDestinations = makeEvent({ user_agent: undefined });
        const pending = makeEvent();
        await store.insertEvents([
          { event: skippedOnly, destinations: [], skipped: [{ destination: 'meta', reason: 'no marketing consent' }] },
          { event: noDestinations, destinations: [] },
          { event: pending, destinations: ['meta'] },
        ]);
        expect(await store.scrubFinishedEvents()).toBe(2);
        expect((await store.getEvent(skippedOnly.site_id, skippedOnly.event_id))!.event).toEqual(
          withoutNetworkIdentity(skippedOnly),
        );
        expect((await store.getEvent(noDestinations.site_id, noDestinations.event_id))!.event).toEqual(
          withoutNetworkIdentity(noDestinations),
        );
        expect((await store.getEvent(pending.site_id, pending.event_id))!.event).toEqual(pending);
      });

      it('does not count events that never had an ip or user agent', async () => {
        const e = makeEvent({ ip: undefined, user_agent: undefined });
        await insertOne(e, []);
        expect(await store.scrubFinishedEvents()).toBe(0);
        expect((await store.getEvent(e.site_id, e.event_id))!.event).toEqual(e);
      });

      it('scrubs only the finished event of a site when another site reuses its id', async () => {
        const a = makeEvent({ site_id: 'site-a', event_id: 'shared' });
        const b = makeEvent({ site_id: 'site-b', event_id: 'shared' });
        await store.insertEvents([
          { event: a, destinations: ['meta'] },
          { event: b, destinations: ['meta'] },
        ]);
        const t = dueNow();
        const la = await leaseOne(a, 'meta', t);
        await store.markDelivered([la.delivery_id], { httpStatus: 200 }, t);
        expect(await store.scrubFinishedEvents()).toBe(1);
        expect((await store.getEvent('site-a', 'shared'))!.event).toEqual(withoutNetworkIdentity(a));
        expect((await store.getEvent('site-b', 'shared'))!.event).toEqual(b);
      });
    });

    describe('liveness', () => {
      it('answers ping', async () => {
        await expect(store.ping()).resolves.toBeUndefined();
      });
    });

    if (reopen) {
      describe('durability', () => {
        it('keeps events, deliveries, outcomes and leases across a reopen', async () => {
          const e1 = makeEvent();
          const e2 = makeEvent();
          await store.insertEvents([
            { event: e1, destinations: ['meta', 'tiktok'], skipped: [{ destination: 'ga4', reason: 'r' }] },
            { event: e2, destinations: ['meta'] },
          ]);
          const t = dueNow();
          const leased = await leaseAll('shop', 'meta', t);
          const l1 = leased.find((l) => l.event.event_id === e1.event_id)!;
          const l2 = leased.find((l) => l.event.event_id === e2.event_id)!; // leased, never marked
          await store.markDelivered([l1.delivery_id], { httpStatus: 200 }, t);
          const before1 = await store.getEvent(e1.site_id, e1.event_id);
          const before2 = await store.getEvent(e2.site_id, e2.event_id);
          const nextBefore = await store.nextDueAt();

          store = await reopen(store);

          expect(await store.getEvent(e1.site_id, e1.event_id)).toEqual(before1);
          expect(await store.getEvent(e2.site_id, e2.event_id)).toEqual(before2);
          expect(await store.nextDueAt()).toBe(nextBefore);
          expect(await leaseAll('shop', 'meta', t + 1)).toHaveLength(0);
          const after = await leaseAll('shop', 'meta', t + LEASE);
          expect(after.map((l) => l.delivery_id)).toEqual([l2.delivery_id]);
          expect((await leaseAll('shop', 'tiktok', t)).map((l) => l.event)).toEqual([e1]);
          expect((await store.insertEvents([{ event: e1, destinations: ['meta'] }]))[0]!.inserted).toBe(false);
        });
      });
    }
  });
}
