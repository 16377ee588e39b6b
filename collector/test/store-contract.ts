// The Store contract: every engine (SQLite, PostgreSQL, …) runs this same suite.
// Nothing here may depend on one engine. Rules the suite relies on:
//   - `open()` returns a store over an EMPTY database (nextDueAt and scrubFinishedEvents
//     look at all sites, so leftovers from another test would change their answers);
//   - `reopen(store)` closes `store` and opens the same database again (durability test);
//   - insertEvents stamps received_at and the first next_attempt_at with the wall clock
//     (Date.now()), and so does scrubFinishedEvents for its own bookkeeping; every other
//     time is the `now` the caller passes.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CanonicalEvent } from '../src/event/schema.js';
import type {
  ApiTokenRecord,
  DeliveryRecord,
  LeasedDelivery,
  NewEvent,
  NewNotification,
  NotificationRecord,
  Store,
} from '../src/store/types.js';
import { makeEvent, sha256Hex } from './fixtures/events.js';

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

    // ── everything below came with the attempt log, replay, dashboard, tokens, visitor
    // signals, identity merge and notifications. Times there are chosen by the test: a base
    // far enough ahead of the wall clock that inserts (stamped with Date.now()) sort before it.

    /** Leases every due delivery of (site, destination) at `now`: event_id → delivery_id. */
    async function leaseMap(site_id: string, destination: string, now: number): Promise<Map<string, number>> {
      const leased = await leaseAll(site_id, destination, now);
      return new Map(leased.map((l) => [l.event.event_id, l.delivery_id]));
    }

    function idOf(m: Map<string, number>, e: CanonicalEvent): number {
      const id = m.get(e.event_id);
      if (id === undefined) throw new Error(`${e.event_id} was not leased`);
      return id;
    }

    async function receivedAt(e: CanonicalEvent): Promise<number> {
      const stored = await store.getEvent(e.site_id, e.event_id);
      if (!stored) throw new Error(`no event ${e.event_id}`);
      return stored.received_at;
    }

    /** A time well after every insert of this test, on a multiple of `align`. */
    const future = (align = 1): number => Math.ceil((Date.now() + 10_000_000) / align) * align;

    describe('attempt log', () => {
      it('appends one row per delivery for every outcome, with its details, oldest first', async () => {
        const e = makeEvent();
        await insertOne(e, ['meta', 'tiktok']);
        const t = dueNow();
        const meta = await leaseOne(e, 'meta', t);
        const tiktok = await leaseOne(e, 'tiktok', t);
        await store.markRetry(
          [meta.delivery_id],
          t + 1_000,
          { httpStatus: 503, error: 'service unavailable', durationMs: 120.4, response: '{"error":"busy"}' },
          t + 1,
        );
        await store.markRetry(
          [tiktok.delivery_id],
          t + 5_000,
          { httpStatus: 401, error: 'auth: invalid access token', outcome: 'auth', durationMs: 30, response: 'denied' },
          t + 2,
        );
        await leaseOne(e, 'meta', t + 1_000);
        await store.markDelivered([meta.delivery_id], { httpStatus: 200, durationMs: 80, response: '{"events_received":1}' }, t + 1_001);
        await leaseOne(e, 'tiktok', t + 5_000);
        await store.markDead([tiktok.delivery_id], { httpStatus: 400, error: 'Invalid pixel' }, t + 5_001);

        expect(await store.listAttempts(e.site_id, e.event_id)).toEqual([
          {
            delivery_id: meta.delivery_id,
            destination: 'meta',
            at: t + 1,
            outcome: 'retry',
            http_status: 503,
            error: 'service unavailable',
            response: '{"error":"busy"}',
            duration_ms: 120,
          },
          {
            delivery_id: tiktok.delivery_id,
            destination: 'tiktok',
            at: t + 2,
            outcome: 'auth',
            http_status: 401,
            error: 'auth: invalid access token',
            response: 'denied',
            duration_ms: 30,
          },
          {
            delivery_id: meta.delivery_id,
            destination: 'meta',
            at: t + 1_001,
            outcome: 'delivered',
            http_status: 200,
            error: null,
            response: '{"events_received":1}',
            duration_ms: 80,
          },
          {
            delivery_id: tiktok.delivery_id,
            destination: 'tiktok',
            at: t + 5_001,
            outcome: 'dead',
            http_status: 400,
            error: 'Invalid pixel',
            response: null,
            duration_ms: null,
          },
        ]);
        // The delivery record itself still follows the mark that was called.
        expect(await delivery(e, 'tiktok')).toMatchObject({ status: 'dead', attempts: 2, last_status: 400 });
        expect((await delivery(e, 'meta')).delivery_id).toBe(meta.delivery_id);
      });

      it('logs auth as outcome of a dead-lettering too, and a row for each id of a batch', async () => {
        const es = [makeEvent(), makeEvent(), makeEvent()];
        await store.insertEvents(es.map((event) => ({ event, destinations: ['meta'] })));
        const t = dueNow();
        const m = await leaseMap('shop', 'meta', t);
        await store.markDelivered([idOf(m, es[0]!), idOf(m, es[1]!)], { httpStatus: 200 }, t + 1);
        await store.markDead([idOf(m, es[2]!)], { httpStatus: 403, error: 'auth: revoked', outcome: 'auth' }, t + 2);
        for (const e of es.slice(0, 2)) {
          expect(await store.listAttempts(e.site_id, e.event_id)).toEqual([
            expect.objectContaining({ delivery_id: idOf(m, e), outcome: 'delivered', at: t + 1, http_status: 200 }),
          ]);
        }
        expect(await store.listAttempts('shop', es[2]!.event_id)).toEqual([
          expect.objectContaining({ outcome: 'auth', http_status: 403, error: 'auth: revoked' }),
        ]);
        expect(await delivery(es[2]!, 'meta')).toMatchObject({ status: 'dead' });
      });

      it('logs nothing for skips, for marks that did not apply, or for unknown events', async () => {
        const e = makeEvent();
        await insertOne(e, ['meta', 'tiktok']);
        const t = dueNow();
        const meta = await leaseOne(e, 'meta', t);
        const tiktok = await leaseOne(e, 'tiktok', t);
        await store.markSkipped([tiktok.delivery_id], 'too old', t);
        await store.markDelivered([meta.delivery_id], { httpStatus: 200 }, t + 1);
        // A late worker reporting on finished deliveries changes nothing, logs nothing.
        await store.markRetry([meta.delivery_id, tiktok.delivery_id], t + 9, { httpStatus: null, error: 'timeout' }, t + 2);
        await store.markDead([meta.delivery_id], { httpStatus: 400 }, t + 3);
        const rows = await store.listAttempts(e.site_id, e.event_id);
        expect(rows.map((r) => [r.destination, r.outcome])).toEqual([['meta', 'delivered']]);
        expect(await store.listAttempts(e.site_id, 'does-not-exist')).toEqual([]);
      });

      it('keeps the attempts of two sites reusing an event_id apart, and caps the response', async () => {
        const a = makeEvent({ site_id: 'site-a', event_id: 'same' });
        const b = makeEvent({ site_id: 'site-b', event_id: 'same' });
        await store.insertEvents([
          { event: a, destinations: ['meta'] },
          { event: b, destinations: ['meta'] },
        ]);
        const t = dueNow();
        const la = await leaseOne(a, 'meta', t);
        const lb = await leaseOne(b, 'meta', t);
        await store.markDelivered([la.delivery_id], { httpStatus: 200, response: 'x'.repeat(5_000) }, t);
        await store.markRetry([lb.delivery_id], t + 10, { httpStatus: 500 }, t);
        const ra = await store.listAttempts('site-a', 'same');
        expect(ra.map((r) => r.outcome)).toEqual(['delivered']);
        expect(ra[0]!.response).toBe('x'.repeat(2048));
        expect((await store.listAttempts('site-b', 'same')).map((r) => [r.outcome, r.error])).toEqual([['retry', null]]);
      });
    });

    describe('requeueDeliveries and the retry window', () => {
      it('starts the retry window at received_at for a fresh delivery', async () => {
        const e = makeEvent();
        await insertOne(e, ['meta']);
        const [l] = await leaseAll('shop', 'meta', dueNow());
        expect(l!.retry_window_start).toBe(await receivedAt(e));
      });

      it('puts dead deliveries back to pending, due now, keeping attempts and the attempt log', async () => {
        const e = makeEvent();
        await insertOne(e, ['meta', 'tiktok']);
        const t = future();
        const meta = await leaseOne(e, 'meta', t);
        await store.markDead([meta.delivery_id], { httpStatus: 400, error: 'Invalid parameter' }, t + 1);
        const tiktok = await leaseOne(e, 'tiktok', t);
        await store.markDelivered([tiktok.delivery_id], { httpStatus: 200 }, t + 1);

        expect(await store.requeueDeliveries({ status: 'dead' }, t + 100)).toBe(1);
        expect(await delivery(e, 'meta')).toMatchObject({
          status: 'pending',
          attempts: 1,
          next_attempt_at: t + 100,
          delivered_at: null,
        });
        expect(await delivery(e, 'tiktok')).toMatchObject({ status: 'delivered', attempts: 1 });
        expect(await store.nextDueAt()).toBe(t + 100);
        expect(await leaseAll('shop', 'meta', t + 99)).toEqual([]);
        const again = await leaseAll('shop', 'meta', t + 100);
        expect(again.map((l) => [l.delivery_id, l.attempts])).toEqual([[meta.delivery_id, 1]]);
        expect(again[0]!.received_at).toBe(await receivedAt(e));
        expect(again[0]!.retry_window_start).toBe(t + 100);
        expect((await store.listAttempts(e.site_id, e.event_id)).map((r) => r.outcome)).toEqual(['dead', 'delivered']);

        await store.markDelivered([meta.delivery_id], { httpStatus: 200 }, t + 101);
        expect(await delivery(e, 'meta')).toMatchObject({ status: 'delivered', attempts: 2, delivered_at: t + 101 });
        expect(await store.requeueDeliveries({ status: 'dead' }, t + 200)).toBe(0);
      });

      it('requeues only dead rows, filtered by ids, site and destination', async () => {
        const a1 = makeEvent({ site_id: 'site-a' });
        const a2 = makeEvent({ site_id: 'site-a' });
        const b1 = makeEvent({ site_id: 'site-b' });
        await store.insertEvents([
          { event: a1, destinations: ['meta', 'tiktok'], skipped: [{ destination: 'ga4', reason: 'no consent' }] },
          { event: a2, destinations: ['meta'] },
          { event: b1, destinations: ['meta'] },
        ]);
        const t = future();
        const am = await leaseMap('site-a', 'meta', t);
        const at = await leaseMap('site-a', 'tiktok', t);
        const bm = await leaseMap('site-b', 'meta', t);
        await store.markDead([idOf(am, a1), idOf(am, a2)], { httpStatus: 400 }, t);
        await store.markDead([idOf(at, a1)], { httpStatus: 400 }, t);
        await store.markDead([idOf(bm, b1)], { httpStatus: 400 }, t);

        expect(await store.requeueDeliveries({ status: 'dead', deliveryIds: [] }, t + 1)).toBe(0);
        expect(await store.requeueDeliveries({ status: 'dead', deliveryIds: [idOf(am, a2)] }, t + 1)).toBe(1);
        expect((await delivery(a2, 'meta')).status).toBe('pending');
        expect((await delivery(a1, 'meta')).status).toBe('dead');
        // Already pending: not counted again.
        expect(await store.requeueDeliveries({ status: 'dead', deliveryIds: [idOf(am, a2)] }, t + 2)).toBe(0);
        expect(await store.requeueDeliveries({ status: 'dead', site_id: 'site-a', destination: 'tiktok' }, t + 3)).toBe(1);
        expect((await delivery(a1, 'tiktok')).status).toBe('pending');
        expect((await delivery(a1, 'meta')).status).toBe('dead');
        expect(await store.requeueDeliveries({ status: 'dead', site_id: 'site-b' }, t + 4)).toBe(1);
        expect((await delivery(b1, 'meta')).status).toBe('pending');
        expect((await delivery(a1, 'meta')).status).toBe('dead');
        expect((await delivery(a1, 'ga4')).status).toBe('skipped');
        expect(await store.requeueDeliveries({ status: 'dead' }, t + 5)).toBe(1);
        expect((await delivery(a1, 'meta')).status).toBe('pending');
        expect((await delivery(a1, 'ga4')).status).toBe('skipped');
      });
    });

    describe('listEvents', () => {
      async function insertSeparately(es: CanonicalEvent[]) {
        for (const e of es) await insertOne(e, ['meta']);
      }

      /** The order the store must list `es` in: received_at, event_id, site_id, all descending. */
      async function expectedOrder(es: CanonicalEvent[]): Promise<string[]> {
        const withTime = await Promise.all(es.map(async (e) => ({ e, r: await receivedAt(e) })));
        withTime.sort(
          (x, y) =>
            y.r - x.r ||
            (x.e.event_id < y.e.event_id ? 1 : x.e.event_id > y.e.event_id ? -1 : 0) ||
            (x.e.site_id < y.e.site_id ? 1 : x.e.site_id > y.e.site_id ? -1 : 0),
        );
        return withTime.map((x) => `${x.e.site_id}/${x.e.event_id}`);
      }

      it('lists newest first with summary fields and deliveries, paging with a cursor', async () => {
        const es = Array.from({ length: 5 }, (_, i) => makeEvent({ event_id: `ev-${i}-${Math.random().toString(36).slice(2)}` }));
        await insertSeparately(es.slice(0, 3));
        await new Promise((r) => setTimeout(r, 3));
        // Two in one batch share received_at: the event_id breaks the tie.
        await store.insertEvents(es.slice(3).map((event) => ({ event, destinations: ['meta', 'tiktok'] })));
        const all = await store.listEvents({ limit: 100 });
        const want = await expectedOrder(es);
        expect(all.map((x) => `${x.site_id}/${x.event_id}`)).toEqual(want);

        const first = all.find((x) => x.event_id === es[0]!.event_id)!;
        expect(first).toEqual({
          site_id: 'shop',
          event_id: es[0]!.event_id,
          event_name: 'Purchase',
          source: 'browser',
          event_time: es[0]!.event_time,
          received_at: await receivedAt(es[0]!),
          order_id: es[0]!.custom.order_id,
          deliveries: [expect.objectContaining({ destination: 'meta', status: 'pending', attempts: 0 })],
        });
        expect(all.find((x) => x.event_id === es[4]!.event_id)!.deliveries.map((d) => d.destination).sort()).toEqual([
          'meta',
          'tiktok',
        ]);

        const pages: string[] = [];
        let before: { received_at: number; event_id: string } | undefined;
        for (let i = 0; i < 5; i++) {
          const page = await store.listEvents(before ? { limit: 2, before } : { limit: 2 });
          if (page.length === 0) break;
          expect(page.length).toBeLessThanOrEqual(2);
          pages.push(...page.map((x) => `${x.site_id}/${x.event_id}`));
          const last = page[page.length - 1]!;
          before = { received_at: last.received_at, event_id: last.event_id };
        }
        expect(pages).toEqual(want);
        expect(await store.listEvents({ limit: 0 })).toEqual([]);
      });

      it('finds an event by exact event_id or exact order_id, within a site when asked', async () => {
        const a = makeEvent({ custom: { order_id: 'ORD-1001', value: 10, currency: 'BRL' } });
        const webhook = makeEvent({ site_id: 'other', source: 'webhook:shopify', custom: { order_id: 'ORD-1001' } });
        const noOrder = makeEvent({ custom: {} });
        const unrelated = makeEvent({ custom: { order_id: 'ORD-10010' } });
        await insertSeparately([a, webhook, noOrder, unrelated]);

        const byId = await store.listEvents({ search: a.event_id, limit: 10 });
        expect(byId.map((x) => x.event_id)).toEqual([a.event_id]);
        const byOrder = await store.listEvents({ search: 'ORD-1001', limit: 10 });
        expect(byOrder.map((x) => `${x.site_id}/${x.event_id}`).sort()).toEqual(
          [`shop/${a.event_id}`, `other/${webhook.event_id}`].sort(),
        );
        expect((await store.listEvents({ search: 'ORD-1001', site_id: 'other', limit: 10 })).map((x) => x.event_id)).toEqual([
          webhook.event_id,
        ]);
        expect(await store.listEvents({ search: 'ORD-100', limit: 10 })).toEqual([]);
        expect(await store.listEvents({ search: a.event_id.slice(0, -1), limit: 10 })).toEqual([]);
        expect((await store.listEvents({ search: noOrder.event_id, limit: 10 }))[0]!.order_id).toBeNull();
        expect((await store.listEvents({ search: webhook.event_id, limit: 10 }))[0]).toMatchObject({
          source: 'webhook:shopify',
          order_id: 'ORD-1001',
        });
      });

      it('filters by site and keeps two sites sharing an event_id apart when paging', async () => {
        const a = makeEvent({ site_id: 'site-a', event_id: 'shared' });
        const b = makeEvent({ site_id: 'site-b', event_id: 'shared' });
        const c = makeEvent({ site_id: 'site-a' });
        await store.insertEvents([
          { event: a, destinations: ['meta'] },
          { event: b, destinations: [] },
        ]);
        await insertOne(c, ['meta']);
        const onlyA = await store.listEvents({ site_id: 'site-a', limit: 10 });
        expect(onlyA.map((x) => x.event_id).sort()).toEqual(['shared', c.event_id].sort());
        expect(onlyA.every((x) => x.site_id === 'site-a')).toBe(true);
        const bShared = (await store.listEvents({ site_id: 'site-b', limit: 10 }))[0]!;
        expect(bShared.deliveries).toEqual([]);

        const want = await expectedOrder([a, b, c]);
        const pages: string[] = [];
        let before: { received_at: number; event_id: string; site_id: string } | undefined;
        for (let i = 0; i < 5; i++) {
          const page = await store.listEvents(before ? { limit: 1, before } : { limit: 1 });
          if (page.length === 0) break;
          pages.push(...page.map((x) => `${x.site_id}/${x.event_id}`));
          const last = page[0]!;
          before = { received_at: last.received_at, event_id: last.event_id, site_id: last.site_id };
        }
        expect(pages).toEqual(want);
      });
    });

    describe('listDeliveries', () => {
      it('lists one status, most recently updated first, filtered by site, destination and error text', async () => {
        const a1 = makeEvent({ site_id: 'site-a', event_name: 'Lead' });
        const a2 = makeEvent({ site_id: 'site-a' });
        const b1 = makeEvent({ site_id: 'site-b' });
        await store.insertEvents([
          { event: a1, destinations: ['meta', 'tiktok'] },
          { event: a2, destinations: ['meta'] },
          { event: b1, destinations: ['meta'] },
        ]);
        const t = future();
        const am = await leaseMap('site-a', 'meta', t);
        const at = await leaseMap('site-a', 'tiktok', t);
        const bm = await leaseMap('site-b', 'meta', t);
        await store.markDead([idOf(am, a1)], { httpStatus: 400, error: 'Invalid parameter: fbc' }, t + 1);
        await store.markDead([idOf(at, a1)], { httpStatus: 400, error: 'Invalid pixel code' }, t + 2);
        await store.markDead([idOf(bm, b1)], { httpStatus: 401, error: 'token invalid' }, t + 3);
        await store.markRetry([idOf(am, a2)], t + 60_000, { httpStatus: 500, error: 'server error' }, t + 4);

        const dead = await store.listDeliveries({ status: 'dead', limit: 50, offset: 0 });
        expect(dead.map((d) => [d.site_id, d.event_id, d.destination])).toEqual([
          ['site-b', b1.event_id, 'meta'],
          ['site-a', a1.event_id, 'tiktok'],
          ['site-a', a1.event_id, 'meta'],
        ]);
        expect(dead[2]).toEqual({
          delivery_id: idOf(am, a1),
          site_id: 'site-a',
          event_id: a1.event_id,
          event_name: 'Lead',
          received_at: await receivedAt(a1),
          destination: 'meta',
          status: 'dead',
          attempts: 1,
          next_attempt_at: expect.any(Number),
          last_status: 400,
          last_error: 'Invalid parameter: fbc',
          delivered_at: null,
          updated_at: t + 1,
        });

        const ids = async (q: Partial<Parameters<Store['listDeliveries']>[0]>) =>
          (await store.listDeliveries({ status: 'dead', limit: 50, offset: 0, ...q })).map((d) => `${d.site_id}/${d.destination}`);
        expect(await ids({ site_id: 'site-a' })).toEqual(['site-a/tiktok', 'site-a/meta']);
        expect(await ids({ destination: 'meta' })).toEqual(['site-b/meta', 'site-a/meta']);
        expect(await ids({ site_id: 'site-a', destination: 'meta' })).toEqual(['site-a/meta']);
        expect(await ids({ errorContains: 'INVALID' })).toEqual(['site-b/meta', 'site-a/tiktok', 'site-a/meta']);
        expect(await ids({ errorContains: 'pixel' })).toEqual(['site-a/tiktok']);
        expect(await ids({ errorContains: '50%_' })).toEqual([]);
        expect(await ids({ limit: 1, offset: 1 })).toEqual(['site-a/tiktok']);
        expect(await ids({ limit: 2, offset: 2 })).toEqual(['site-a/meta']);
        expect(await ids({ limit: 0 })).toEqual([]);

        const pending = await store.listDeliveries({ status: 'pending', limit: 50, offset: 0 });
        expect(pending.map((d) => [d.event_id, d.destination, d.attempts, d.last_error])).toEqual([
          [a2.event_id, 'meta', 1, 'server error'],
        ]);
        expect(await store.listDeliveries({ status: 'delivered', limit: 50, offset: 0 })).toEqual([]);
      });
    });

    describe('destinationSummary', () => {
      it('counts per site and destination what changed since `since`, with latency and the last error', async () => {
        const T = future();
        // Delivered long before `since`: counts nowhere.
        const old = makeEvent();
        await insertOne(old, ['meta']);
        const oldLease = await leaseOne(old, 'meta', T - 1_000_000);
        await store.markDelivered([oldLease.delivery_id], { httpStatus: 200 }, T - 999_000);
        await store.markRetry([], T, { httpStatus: 500 }, T); // no-op

        const es = [makeEvent(), makeEvent(), makeEvent(), makeEvent()];
        const other = makeEvent({ site_id: 'other' });
        await store.insertEvents([
          ...es.map((event) => ({ event, destinations: ['meta', 'tiktok'] })),
          { event: other, destinations: ['meta'] },
        ]);
        const meta = await leaseMap('shop', 'meta', T);
        const tiktok = await leaseMap('shop', 'tiktok', T);
        const om = await leaseMap('other', 'meta', T);
        const [e1, e2, e3] = es as [CanonicalEvent, CanonicalEvent, CanonicalEvent, CanonicalEvent];
        await store.markDelivered([idOf(meta, e1)], { httpStatus: 200 }, T + 100);
        await store.markDelivered([idOf(meta, e2)], { httpStatus: 200 }, T + 300);
        await store.markRetry([idOf(meta, e3)], T + 9_000, { httpStatus: null, error: 'timeout' }, T + 50);
        await store.markDead([idOf(tiktok, e1)], { httpStatus: 400, error: 'Invalid pixel' }, T + 200);
        await store.markRetry([idOf(tiktok, e2)], T + 9_000, { httpStatus: 500, error: 'oops' }, T + 20);
        await store.markSkipped([idOf(tiktok, e2)], 'too old', T + 30);
        await store.markDelivered([idOf(om, other)], { httpStatus: 200 }, T + 400);

        const lat = async (e: CanonicalEvent, at: number) => at - (await receivedAt(e));
        const l1 = await lat(e1, T + 100);
        const l2 = await lat(e2, T + 300);
        const l5 = await lat(other, T + 400);

        const summary = await store.destinationSummary({ since: T });
        expect(summary).toEqual([
          {
            site_id: 'other',
            destination: 'meta',
            delivered: 1,
            retrying: 0,
            pending: 0,
            dead: 0,
            skipped: 0,
            avg_latency_ms: l5,
            p95_latency_ms: l5,
            last_error: null,
            last_error_at: null,
          },
          {
            site_id: 'shop',
            destination: 'meta',
            delivered: 2,
            retrying: 1,
            pending: 1,
            dead: 0,
            skipped: 0,
            avg_latency_ms: Math.round((l1 + l2) / 2),
            p95_latency_ms: Math.max(l1, l2),
            last_error: 'timeout',
            last_error_at: T + 50,
          },
          {
            site_id: 'shop',
            destination: 'tiktok',
            delivered: 0,
            retrying: 0,
            pending: 2,
            dead: 1,
            skipped: 1,
            avg_latency_ms: null,
            p95_latency_ms: null,
            last_error: 'Invalid pixel',
            last_error_at: T + 200,
          },
        ]);

        expect((await store.destinationSummary({ since: T, site_id: 'other' })).map((s) => s.site_id)).toEqual(['other']);
        const late = await store.destinationSummary({ since: T + 250 });
        expect(late).toEqual([
          expect.objectContaining({ site_id: 'other', destination: 'meta', delivered: 1 }),
          expect.objectContaining({
            site_id: 'shop',
            destination: 'meta',
            delivered: 1,
            retrying: 0,
            pending: 0,
            avg_latency_ms: l2,
            p95_latency_ms: l2,
            last_error: null,
          }),
        ]);
        expect(await store.destinationSummary({ since: T + 1_000 })).toEqual([]);
      });

      it('reports the nearest-rank 95th percentile latency', async () => {
        const es = Array.from({ length: 20 }, () => makeEvent());
        await store.insertEvents(es.map((event) => ({ event, destinations: ['meta'] })));
        const T = future();
        const m = await leaseMap('shop', 'meta', T);
        const latencies: number[] = [];
        for (const [i, e] of es.entries()) {
          const at = T + (i * i * 37) % 1_000;
          await store.markDelivered([idOf(m, e)], { httpStatus: 200 }, at);
          latencies.push(at - (await receivedAt(e)));
        }
        latencies.sort((a, b) => a - b);
        const [s] = await store.destinationSummary({ since: T });
        expect(s!.delivered).toBe(20);
        expect(s!.p95_latency_ms).toBe(latencies[18]); // ceil(0.95 × 20) = 19th
        expect(s!.avg_latency_ms).toBe(Math.round(latencies.reduce((a, b) => a + b, 0) / 20));
      });
    });

    describe('timelines', () => {
      it('buckets delivered by delivered_at and dead by when they died', async () => {
        const MIN = 60_000;
        const T = future(10 * MIN); // so T … T + 3 min also share one 10-minute bucket
        const old = makeEvent();
        await insertOne(old, ['meta']);
        const ol = await leaseOne(old, 'meta', T - 10 * MIN);
        await store.markDelivered([ol.delivery_id], { httpStatus: 200 }, T - 10 * MIN);

        const es = [makeEvent(), makeEvent(), makeEvent()];
        const other = makeEvent({ site_id: 'other' });
        await store.insertEvents([
          ...es.map((event) => ({ event, destinations: ['meta', 'tiktok'] })),
          { event: other, destinations: ['meta'] },
        ]);
        const meta = await leaseMap('shop', 'meta', T);
        const tiktok = await leaseMap('shop', 'tiktok', T);
        const om = await leaseMap('other', 'meta', T);
        await store.markDelivered([idOf(meta, es[0]!)], { httpStatus: 200 }, T + 1_000);
        await store.markDelivered([idOf(meta, es[1]!)], { httpStatus: 200 }, T + MIN - 1);
        await store.markDelivered([idOf(meta, es[2]!)], { httpStatus: 200 }, T + MIN);
        await store.markDead([idOf(tiktok, es[0]!)], { httpStatus: 400 }, T + MIN + 1_000);
        await store.markRetry([idOf(tiktok, es[1]!)], T + 10 * MIN, { httpStatus: 500 }, T + 5);
        await store.markDelivered([idOf(om, other)], { httpStatus: 200 }, T + 2 * MIN + 5);

        expect(await store.deliveryTimeline({ since: T, bucketMs: MIN })).toEqual([
          { bucket_start: T, destination: 'meta', status: 'delivered', count: 2 },
          { bucket_start: T + MIN, destination: 'meta', status: 'delivered', count: 1 },
          { bucket_start: T + MIN, destination: 'tiktok', status: 'dead', count: 1 },
          { bucket_start: T + 2 * MIN, destination: 'meta', status: 'delivered', count: 1 },
        ]);
        expect(await store.deliveryTimeline({ since: T, bucketMs: MIN, site_id: 'other' })).toEqual([
          { bucket_start: T + 2 * MIN, destination: 'meta', status: 'delivered', count: 1 },
        ]);
        expect(await store.deliveryTimeline({ since: T, bucketMs: 10 * MIN, site_id: 'shop' })).toEqual([
          { bucket_start: T, destination: 'meta', status: 'delivered', count: 3 },
          { bucket_start: T, destination: 'tiktok', status: 'dead', count: 1 },
        ]);
        expect(await store.deliveryTimeline({ since: T + 3 * MIN, bucketMs: MIN })).toEqual([]);
        await expect(store.deliveryTimeline({ since: T, bucketMs: 0 })).rejects.toThrow();
      });

      it('buckets received events by received_at', async () => {
        const es = [makeEvent(), makeEvent(), makeEvent({ site_id: 'other' })];
        for (const e of es) await insertOne(e, []);
        const B = 1_000;
        const times = await Promise.all(es.map(receivedAt));
        const since = Math.min(...times);
        const expected = (ts: number[]) => {
          const m = new Map<number, number>();
          for (const t of ts) m.set(t - (t % B), (m.get(t - (t % B)) ?? 0) + 1);
          return [...m].sort((a, b) => a[0] - b[0]).map(([bucket_start, count]) => ({ bucket_start, count }));
        };
        expect(await store.eventTimeline({ since, bucketMs: B })).toEqual(expected(times));
        expect(await store.eventTimeline({ since, bucketMs: B, site_id: 'shop' })).toEqual(expected(times.slice(0, 2)));
        expect(await store.eventTimeline({ since: Math.max(...times) + 1, bucketMs: B })).toEqual([]);
      });
    });

    describe('queueDepth and countPending', () => {
      it('counts pending deliveries (leased ones too) per site and destination', async () => {
        expect(await store.queueDepth()).toEqual([]);
        expect(await store.countPending()).toBe(0);
        const e1 = makeEvent();
        const e2 = makeEvent();
        const o = makeEvent({ site_id: 'other' });
        await store.insertEvents([
          { event: e1, destinations: ['meta', 'tiktok'] },
          { event: e2, destinations: ['meta'] },
          { event: o, destinations: ['meta'], skipped: [{ destination: 'ga4', reason: 'no consent' }] },
        ]);
        expect(await store.queueDepth()).toEqual([
          { site_id: 'other', destination: 'meta', pending: 1 },
          { site_id: 'shop', destination: 'meta', pending: 2 },
          { site_id: 'shop', destination: 'tiktok', pending: 1 },
        ]);
        expect(await store.countPending()).toBe(4);
        const t = dueNow();
        const m = await leaseMap('shop', 'meta', t);
        expect(await store.countPending()).toBe(4);
        await store.markDelivered([idOf(m, e1)], { httpStatus: 200 }, t);
        await store.markDead([idOf(m, e2)], { httpStatus: 400 }, t);
        expect(await store.queueDepth()).toEqual([
          { site_id: 'other', destination: 'meta', pending: 1 },
          { site_id: 'shop', destination: 'tiktok', pending: 1 },
        ]);
        expect(await store.countPending()).toBe(2);
      });
    });

    describe('API tokens', () => {
      const token = (over: Partial<ApiTokenRecord>): ApiTokenRecord => ({
        id: `tok_${Math.random().toString(36).slice(2)}`,
        site_id: 'shop',
        env: 'production',
        name: null,
        scope: 'events',
        token_hash: sha256Hex(Math.random().toString(36)),
        prefix: 'trk_live_ab',
        created_at: 1_000,
        revoked_at: null,
        last_used_at: null,
        ...over,
      });

      it('stores tokens by hash, lists them per site, revokes and touches them', async () => {
        const a = token({ name: 'backend', created_at: 1_000 });
        const b = token({ env: 'staging', scope: 'pixel', prefix: 'trk_test_cd', created_at: 2_000 });
        const c = token({ site_id: 'other', env: 'development', created_at: 1_500 });
        for (const r of [b, a, c]) await store.createApiToken(r);

        expect(await store.findApiTokenByHash(a.token_hash)).toEqual(a);
        expect(await store.findApiTokenByHash(sha256Hex('unknown'))).toBeNull();
        expect(await store.listApiTokens('shop')).toEqual([a, b]);
        expect(await store.listApiTokens('nobody')).toEqual([]);
        expect((await store.listApiTokens()).map((r) => r.id)).toEqual([a.id, c.id, b.id]);

        expect(await store.revokeApiToken(a.id, 5_000)).toBe(true);
        expect(await store.revokeApiToken(a.id, 6_000)).toBe(false);
        expect(await store.revokeApiToken('tok_unknown', 6_000)).toBe(false);
        expect(await store.findApiTokenByHash(a.token_hash)).toEqual({ ...a, revoked_at: 5_000 });
        expect((await store.findApiTokenByHash(b.token_hash))!.revoked_at).toBeNull();

        await store.touchApiToken(b.id, 7_000);
        expect((await store.findApiTokenByHash(b.token_hash))!.last_used_at).toBe(7_000);
        await store.touchApiToken(b.id, 6_500); // never moves back
        expect((await store.findApiTokenByHash(b.token_hash))!.last_used_at).toBe(7_000);
        await store.touchApiToken('tok_unknown', 8_000);
      });

      it('refuses a second token with the same hash or id', async () => {
        const a = token({});
        await store.createApiToken(a);
        await expect(store.createApiToken(token({ token_hash: a.token_hash }))).rejects.toThrow();
        await expect(store.createApiToken(token({ id: a.id }))).rejects.toThrow();
        expect(await store.listApiTokens()).toEqual([a]);
      });
    });

    describe('visitor signals', () => {
      it('merges signals: newer non-empty values win, older ones only fill gaps', async () => {
        expect(await store.getVisitorSignals('shop', 'v-1')).toBeNull();
        await store.upsertVisitorSignals(
          'shop',
          'v-1',
          { ids: { fbp: 'fb.1.1.111', fbc: 'fb.1.1.old' }, ip: '203.0.113.7', user_agent: 'UA1', url: 'https://shop.example/a' },
          1_000,
        );
        expect(await store.getVisitorSignals('shop', 'v-1')).toEqual({
          ids: { fbp: 'fb.1.1.111', fbc: 'fb.1.1.old' },
          ip: '203.0.113.7',
          user_agent: 'UA1',
          url: 'https://shop.example/a',
          updated_at: 1_000,
        });

        await store.upsertVisitorSignals('shop', 'v-1', { ids: { fbc: 'fb.1.1.new', ttp: '' }, ip: '', user_agent: 'UA2' }, 2_000);
        expect(await store.getVisitorSignals('shop', 'v-1')).toEqual({
          ids: { fbp: 'fb.1.1.111', fbc: 'fb.1.1.new' },
          ip: '203.0.113.7',
          user_agent: 'UA2',
          url: 'https://shop.example/a',
          updated_at: 2_000,
        });

        // Arrives late (older than what is stored): fills gaps only.
        await store.upsertVisitorSignals('shop', 'v-1', { ids: { fbc: 'fb.1.1.stale', gclid: 'g-1' }, ip: '198.51.100.1' }, 1_500);
        expect(await store.getVisitorSignals('shop', 'v-1')).toEqual({
          ids: { fbp: 'fb.1.1.111', fbc: 'fb.1.1.new', gclid: 'g-1' },
          ip: '203.0.113.7',
          user_agent: 'UA2',
          url: 'https://shop.example/a',
          updated_at: 2_000,
        });

        expect(await store.getVisitorSignals('other', 'v-1')).toBeNull();
        await store.upsertVisitorSignals('other', 'v-2', { ids: {}, ip: '', url: '' }, 3_000); // nothing to keep
        expect(await store.getVisitorSignals('other', 'v-2')).toBeNull();
        await store.upsertVisitorSignals('other', 'v-2', { ids: { ttclid: 't' } }, 3_000);
        expect(await store.getVisitorSignals('other', 'v-2')).toEqual({ ids: { ttclid: 't' }, updated_at: 3_000 });
      });

      it('insertEvents writes a batch’s visitor signals in its own transaction, duplicates included', async () => {
        const e = makeEvent({ site_id: 'shop' });
        const signals = { ids: { fbp: 'fb.1.1.222' }, ip: '203.0.113.9', user_agent: 'UA9', url: 'https://shop.example/p' };
        await store.insertEvents([{ event: e, destinations: [], visitor: { visitor_id: 'v-9', signals } }]);
        expect(await store.getVisitorSignals('shop', 'v-9')).toMatchObject(signals);
        // The same event again (a duplicate) still refreshes the visitor's signals.
        await store.insertEvents([{ event: e, destinations: [], visitor: { visitor_id: 'v-9', signals: { ids: { gclid: 'g-9' } } } }]);
        expect((await store.getVisitorSignals('shop', 'v-9'))!.ids).toEqual({ fbp: 'fb.1.1.222', gclid: 'g-9' });
      });

      it('purges signals not updated since a cutoff', async () => {
        await store.upsertVisitorSignals('shop', 'old', { ids: { fbp: 'a' }, ip: '203.0.113.1' }, 1_000);
        await store.upsertVisitorSignals('shop', 'new', { ids: { fbp: 'b' }, ip: '203.0.113.2' }, 5_000);
        await store.upsertVisitorSignals('shop', 'refreshed', { ids: { fbp: 'c' } }, 1_000);
        await store.upsertVisitorSignals('shop', 'refreshed', { user_agent: 'UA', ids: {} }, 4_000);
        expect(await store.purgeVisitorSignals(3_000)).toBe(1);
        expect(await store.getVisitorSignals('shop', 'old')).toBeNull();
        expect(await store.getVisitorSignals('shop', 'new')).not.toBeNull();
        expect(await store.getVisitorSignals('shop', 'refreshed')).toEqual({ ids: { fbp: 'c' }, user_agent: 'UA', updated_at: 4_000 });
        expect(await store.purgeVisitorSignals(3_000)).toBe(0);
        expect(await store.purgeVisitorSignals(10_000)).toBe(2);
      });
    });

    describe('mergeEventIdentity', () => {
      it('fills only missing keys, never overwrites, and pending deliveries send the richer event', async () => {
        const webhook = makeEvent({
          source: 'webhook:shopify',
          url: undefined,
          ip: undefined,
          user_agent: undefined,
          user: { em: sha256Hex('buyer@example.com') },
          ids: {},
        });
        await insertOne(webhook, ['meta']);
        const patch = {
          user: { em: sha256Hex('someone-else@example.com'), ph: sha256Hex('5511999999999') },
          ids: { fbp: 'fb.1.1.123', fbc: 'fb.1.1.IwAR', visitor_id: '' },
          ip: '203.0.113.9',
          user_agent: 'Mozilla/5.0 test',
          url: 'https://shop.example/thanks',
        };
        expect(await store.mergeEventIdentity(webhook.site_id, webhook.event_id, patch)).toBe(true);
        const richer: CanonicalEvent = {
          ...webhook,
          url: 'https://shop.example/thanks',
          ip: '203.0.113.9',
          user_agent: 'Mozilla/5.0 test',
          user: { em: sha256Hex('buyer@example.com'), ph: sha256Hex('5511999999999') },
          ids: { fbp: 'fb.1.1.123', fbc: 'fb.1.1.IwAR' },
        };
        expect((await store.getEvent(webhook.site_id, webhook.event_id))!.event).toEqual(richer);
        expect(await store.mergeEventIdentity(webhook.site_id, webhook.event_id, patch)).toBe(false);
        expect(await store.mergeEventIdentity(webhook.site_id, webhook.event_id, { ids: { fbp: 'fb.1.1.999' }, ip: '1.2.3.4' })).toBe(
          false,
        );
        expect(await store.mergeEventIdentity(webhook.site_id, webhook.event_id, {})).toBe(false);
        expect(await store.mergeEventIdentity(webhook.site_id, 'unknown', patch)).toBe(false);

        const [l] = await leaseAll('shop', 'meta', dueNow());
        expect(l!.event).toEqual(richer);
        // The ip it gained is dropped again once delivery ends.
        await store.markDelivered([l!.delivery_id], { httpStatus: 200 }, dueNow());
        expect(await store.scrubFinishedEvents()).toBe(1);
        expect((await store.getEvent(webhook.site_id, webhook.event_id))!.event).toEqual(withoutNetworkIdentity(richer));
      });

      it('never gives a scrubbed event its ip or user agent back', async () => {
        const e = makeEvent({ user: {} });
        await insertOne(e, ['meta']);
        const t = future();
        const l = await leaseOne(e, 'meta', t);
        await store.markDead([l.delivery_id], { httpStatus: 400 }, t);
        expect(await store.scrubFinishedEvents()).toBe(1);
        const network = { ip: '203.0.113.50', user_agent: 'UA' };
        expect(await store.mergeEventIdentity(e.site_id, e.event_id, network)).toBe(false);
        // Replayed after fixing the config: pending again, still no ip.
        expect(await store.requeueDeliveries({ status: 'dead' }, t + 1)).toBe(1);
        expect(await store.mergeEventIdentity(e.site_id, e.event_id, network)).toBe(false);
        expect(await store.mergeEventIdentity(e.site_id, e.event_id, { ...network, user: { em: sha256Hex('x@y.z') } })).toBe(true);
        const stored = (await store.getEvent(e.site_id, e.event_id))!.event;
        expect(stored).not.toHaveProperty('ip');
        expect(stored).not.toHaveProperty('user_agent');
        expect(stored.user).toEqual({ em: sha256Hex('x@y.z') });
        expect(await store.scrubFinishedEvents()).toBe(0);
      });

      it('adds no ip to an event whose deliveries all ended, even before the scrub ran', async () => {
        const e = makeEvent({ ip: undefined, user_agent: undefined });
        await insertOne(e, ['meta']);
        const t = dueNow();
        const l = await leaseOne(e, 'meta', t);
        await store.markDelivered([l.delivery_id], { httpStatus: 200 }, t);
        expect(await store.mergeEventIdentity(e.site_id, e.event_id, { ip: '203.0.113.1', user_agent: 'UA' })).toBe(false);
        expect((await store.getEvent(e.site_id, e.event_id))!.event).toEqual(e);
      });
    });

    describe('notifications outbox', () => {
      const note = (over: Partial<NewNotification> = {}): NewNotification => ({
        site_id: 'shop',
        kind: 'conversion.delivered',
        url: 'https://merchant.example/hooks/trakvo',
        body: '{"event_id":"e1"}',
        idempotency_id: `n-${Math.random().toString(36).slice(2)}`,
        ...over,
      });

      it('is idempotent on (site, idempotency_id)', async () => {
        const a = note({ idempotency_id: 'same' });
        expect(await store.insertNotifications([a, note(), { ...a, body: 'changed' }], 1_000)).toBe(2);
        expect(await store.insertNotifications([{ ...a, body: 'again' }], 2_000)).toBe(0);
        expect(await store.insertNotifications([], 2_000)).toBe(0);
        expect(await store.insertNotifications([{ ...a, site_id: 'other' }], 2_000)).toBe(1);
        const all = await store.listNotifications({ limit: 10 });
        expect(all).toHaveLength(3);
        const first = all.find((n) => n.site_id === 'shop' && n.idempotency_id === 'same')!;
        expect(first).toEqual({
          id: expect.any(Number),
          ...a,
          status: 'pending',
          attempts: 0,
          next_attempt_at: 1_000,
          last_status: null,
          last_error: null,
          created_at: 1_000,
          updated_at: 1_000,
          delivered_at: null,
        });
      });

      it('leases due notifications once per lease, records outcomes and requeues dead ones', async () => {
        await store.insertNotifications([note({ idempotency_id: 'a' }), note({ idempotency_id: 'b' })], 1_000);
        await store.insertNotifications([note({ idempotency_id: 'c', site_id: 'other' })], 1_100);
        expect(await store.leaseDueNotifications({ limit: 10, leaseMs: 30_000, now: 999 })).toEqual([]);
        const first = await store.leaseDueNotifications({ limit: 2, leaseMs: 30_000, now: 2_000 });
        expect(first.map((n) => n.idempotency_id)).toEqual(['a', 'b']);
        expect(first[0]).toMatchObject({ status: 'pending', attempts: 0, url: 'https://merchant.example/hooks/trakvo' });
        const second = await store.leaseDueNotifications({ limit: 10, leaseMs: 30_000, now: 2_000 });
        expect(second.map((n) => n.idempotency_id)).toEqual(['c']);
        expect(await store.leaseDueNotifications({ limit: 10, leaseMs: 30_000, now: 2_001 })).toEqual([]);
        const [a, b] = first as [NotificationRecord, NotificationRecord];
        const c = second[0]!;

        await store.markNotification(a.id, { status: 'delivered', httpStatus: 200 }, 2_100);
        await store.markNotification(b.id, { status: 'retry', retryAt: 3_100, httpStatus: 503, error: 'busy' }, 2_100);
        await store.markNotification(c.id, { status: 'dead', httpStatus: 410, error: 'gone' }, 2_200);
        // A late report on a finished notification changes nothing.
        await store.markNotification(a.id, { status: 'dead', httpStatus: 500 }, 2_300);

        const byKey = async () => new Map((await store.listNotifications({ limit: 10 })).map((n) => [n.idempotency_id, n]));
        let m = await byKey();
        expect(m.get('a')).toMatchObject({ status: 'delivered', attempts: 1, last_status: 200, delivered_at: 2_100 });
        expect(m.get('b')).toMatchObject({ status: 'pending', attempts: 1, next_attempt_at: 3_100, last_status: 503, last_error: 'busy' });
        expect(m.get('c')).toMatchObject({ status: 'dead', attempts: 1, last_status: 410, last_error: 'gone' });

        expect(await store.leaseDueNotifications({ limit: 10, leaseMs: 30_000, now: 3_099 })).toEqual([]);
        const retried = await store.leaseDueNotifications({ limit: 10, leaseMs: 30_000, now: 3_100 });
        expect(retried.map((n) => [n.idempotency_id, n.attempts])).toEqual([['b', 1]]);
        // A lease that runs out makes it due again.
        expect((await store.leaseDueNotifications({ limit: 10, leaseMs: 30_000, now: 33_100 })).map((n) => n.id)).toEqual([b.id]);

        expect(await store.requeueNotifications([], 40_000)).toBe(0);
        expect(await store.requeueNotifications([a.id, b.id, c.id], 40_000)).toBe(1);
        m = await byKey();
        expect(m.get('c')).toMatchObject({ status: 'pending', attempts: 0, next_attempt_at: 40_000 });
        expect(m.get('a')!.status).toBe('delivered');
        const due = await store.leaseDueNotifications({ limit: 10, leaseMs: 30_000, now: 40_000 });
        expect(due.map((n) => n.id)).toEqual([c.id]);
      });

      it('lists newest first, filtered by status and site', async () => {
        await store.insertNotifications([note({ idempotency_id: 'n1' })], 1_000);
        await store.insertNotifications([note({ idempotency_id: 'n2', site_id: 'other' })], 2_000);
        await store.insertNotifications([note({ idempotency_id: 'n3' })], 3_000);
        const [n1] = await store.leaseDueNotifications({ limit: 1, leaseMs: 1_000, now: 5_000 });
        await store.markNotification(n1!.id, { status: 'dead', httpStatus: 500, error: 'x' }, 5_001);
        const keys = async (q: Parameters<Store['listNotifications']>[0]) =>
          (await store.listNotifications(q)).map((n) => n.idempotency_id);
        expect(await keys({ limit: 10 })).toEqual(['n3', 'n2', 'n1']);
        expect(await keys({ limit: 2 })).toEqual(['n3', 'n2']);
        expect(await keys({ limit: 10, site_id: 'shop' })).toEqual(['n3', 'n1']);
        expect(await keys({ limit: 10, status: 'dead' })).toEqual(['n1']);
        expect(await keys({ limit: 10, status: 'pending', site_id: 'shop' })).toEqual(['n3']);
        expect(await keys({ limit: 10, status: 'delivered' })).toEqual([]);
      });
    });

    describe('odd input', () => {
      it('stores events holding NUL characters or lone surrogates without failing their batch', async () => {
        const odd = makeEvent({
          title: 'nul \u0000 here and a lone \ud800 surrogate',
          custom: { value: 5, currency: 'BRL', extra: { 'k\u0000': 'v\u0000', ok: 'fine 😀' } },
        });
        const normal = makeEvent();
        const results = await store.insertEvents([
          { event: odd, destinations: ['meta'] },
          { event: normal, destinations: ['meta'] },
        ]);
        expect(results.map((r) => r.inserted)).toEqual([true, true]);
        const stored = await store.getEvent(odd.site_id, odd.event_id);
        expect(stored!.event.title).toMatch(/^nul . here and a lone . surrogate$/u);
        expect(stored!.event.custom.value).toBe(5);
        expect(stored!.event.custom.extra!['ok']).toBe('fine 😀');
        expect((await store.getEvent(normal.site_id, normal.event_id))!.event).toEqual(normal);
        expect(await leaseAll('shop', 'meta', dueNow())).toHaveLength(2);
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

        it('keeps attempts, requeue times, tokens, visitor signals and notifications across a reopen', async () => {
          const e = makeEvent();
          await insertOne(e, ['meta']);
          const t = future();
          const l = await leaseOne(e, 'meta', t);
          await store.markDead([l.delivery_id], { httpStatus: 400, error: 'bad', durationMs: 5, response: 'no' }, t);
          await store.requeueDeliveries({ status: 'dead' }, t + 10);
          const token: ApiTokenRecord = {
            id: 'tok_1',
            site_id: 'shop',
            env: 'production',
            name: 'server',
            scope: 'events',
            token_hash: sha256Hex('secret'),
            prefix: 'trk_live_se',
            created_at: 1,
            revoked_at: null,
            last_used_at: 2,
          };
          await store.createApiToken(token);
          await store.upsertVisitorSignals('shop', 'v-9', { ids: { fbp: 'fb.1.1.9' }, ip: '203.0.113.9' }, 100);
          await store.insertNotifications([{ site_id: 'shop', kind: 'k', url: 'https://m.example/h', body: '{}', idempotency_id: 'i' }], 100);
          const attempts = await store.listAttempts(e.site_id, e.event_id);
          const notes = await store.listNotifications({ limit: 10 });

          store = await reopen(store);

          expect(await store.listAttempts(e.site_id, e.event_id)).toEqual(attempts);
          const [again] = await leaseAll('shop', 'meta', t + 10);
          expect(again).toMatchObject({ delivery_id: l.delivery_id, attempts: 1, retry_window_start: t + 10 });
          expect(await store.findApiTokenByHash(token.token_hash)).toEqual(token);
          expect(await store.getVisitorSignals('shop', 'v-9')).toEqual({ ids: { fbp: 'fb.1.1.9' }, ip: '203.0.113.9', updated_at: 100 });
          expect(await store.listNotifications({ limit: 10 })).toEqual(notes);
          expect(await store.insertNotifications([{ site_id: 'shop', kind: 'k', url: 'u', body: 'b', idempotency_id: 'i' }], 200)).toBe(0);
        });
      });
    }
  });
}
