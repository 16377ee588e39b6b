// The notifier against a real SQLite outbox and real local HTTP receivers that verify the
// signature with verifySignature; only the retry schedule is shortened (or the clock faked).
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.js';
import { createMetrics } from '../../src/metrics/metrics.js';
import type { DeliveryOutcome } from '../../src/metrics/delivery-observer.js';
import { NotifyConfigSchema, type NotifySite } from '../../src/notify/config.js';
import { IDEMPOTENCY_HEADER, NOTIFY_RETRY_SCHEDULE_MS, createNotifier, type Notifier } from '../../src/notify/notifier.js';
import { openSqliteStore } from '../../src/store/sqlite.js';
import type { Store } from '../../src/store/types.js';
import { makeEvent } from '../fixtures/events.js';
import { startReceiver, waitFor, type Receiver } from './helpers.js';

const SECRET = 'whsec_test_0123456789abcdef';
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

function site(url: string, events: string[] = ['event.dead'], extra: Record<string, unknown> = {}): NotifySite {
  return { id: 'shop', notify: NotifyConfigSchema.parse([{ url, secret: SECRET, events, ...extra }]) };
}

function deadOutcome(n = 1): DeliveryOutcome {
  return {
    site_id: 'shop',
    destination: 'meta0',
    destinationType: 'meta',
    outcome: 'dead',
    events: Array.from({ length: n }, () => makeEvent()),
    httpStatus: 400,
    durationMs: 12,
    error: 'Meta error 100 (HTTP 400) — Invalid parameter',
  };
}

function setup(opts: { receiver?: Receiver; sites: NotifySite[]; schedule?: number[]; now?: () => number; send?: Parameters<typeof createNotifier>[0]['send'] }) {
  const store: Store = openSqliteStore({ file: ':memory:' });
  const metrics = createMetrics({ processMetrics: false });
  const notifier: Notifier = createNotifier({
    store,
    sites: opts.sites,
    logger: createLogger('silent'),
    retryScheduleMs: opts.schedule,
    pollMs: 10,
    now: opts.now,
    send: opts.send,
    metrics,
  });
  cleanups.push(async () => {
    await notifier.stop();
    await store.close();
  });
  return { store, notifier, metrics };
}

describe('notifier over real HTTP', () => {
  it('POSTs a signed notification the receiver verifies, with an idempotency id', async () => {
    const rx = await startReceiver(SECRET, () => 204);
    cleanups.push(rx.close);
    const { store, notifier } = setup({ sites: [site(rx.url)] });
    notifier.start();
    const outcome = deadOutcome();
    await notifier.observer.onOutcome(outcome);

    const [n] = await waitFor(async () => {
      const list = await store.listNotifications({ status: 'delivered', limit: 10 });
      return list.length ? list : undefined;
    });
    expect(rx.received).toHaveLength(1);
    const req = rx.received[0]!;
    expect(req.signatureOk).toBe(true);
    expect(req.headers['x-trakvo-signature']).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
    expect(req.headers['x-trakvo-idempotency-id']).toBe(n!.idempotency_id);
    expect(req.headers['x-trakvo-event']).toBe('event.dead');
    const body = JSON.parse(req.body) as Record<string, any>;
    expect(body).toMatchObject({
      id: n!.idempotency_id,
      type: 'event.dead',
      site_id: 'shop',
      data: {
        destination: { id: 'meta0', type: 'meta' },
        event: { event_id: outcome.events[0]!.event_id, event_name: 'Purchase', value: 129.9, currency: 'BRL' },
        http_status: 400,
        error: 'Meta error 100 (HTTP 400) — Invalid parameter',
      },
    });
    expect(n).toMatchObject({ status: 'delivered', attempts: 1, last_status: 204 });
  });

  it('a receiver failing 3 times then succeeding gets it on the 4th attempt, same id each time', async () => {
    const rx = await startReceiver(SECRET, (n) => (n < 3 ? 503 : 200));
    cleanups.push(rx.close);
    const { store, notifier, metrics } = setup({ sites: [site(rx.url)], schedule: [0, 40, 80, 120, 160] });
    notifier.start();
    await notifier.observer.onOutcome(deadOutcome());

    const [n] = await waitFor(async () => {
      const list = await store.listNotifications({ status: 'delivered', limit: 10 });
      return list.length ? list : undefined;
    });
    expect(n).toMatchObject({ attempts: 4, last_status: 200 });
    expect(rx.received.map((r) => r.status)).toEqual([503, 503, 503, 200]);
    expect(rx.received.every((r) => r.signatureOk)).toBe(true);
    expect(new Set(rx.received.map((r) => r.headers[IDEMPOTENCY_HEADER.toLowerCase()])).size).toBe(1);
    // Retried immediately, then after the 1st and 2nd delays of the schedule.
    const gaps = rx.received.slice(1).map((r, i) => r.at - rx.received[i]!.at);
    expect(gaps[1]!).toBeGreaterThanOrEqual(35);
    expect(gaps[2]!).toBeGreaterThanOrEqual(75);
    const text = await metrics.scrape();
    expect(text).toContain('trakvo_webhook_notifications_total{outcome="retry"} 3');
    expect(text).toContain('trakvo_webhook_notifications_total{outcome="delivered"} 1');
  });

  it('a receiver failing always: dead after the immediate retry and the 4 delays (6 attempts)', async () => {
    const rx = await startReceiver(SECRET, () => 500);
    cleanups.push(rx.close);
    const { store, notifier } = setup({ sites: [site(rx.url)], schedule: [0, 10, 20, 30, 40] });
    notifier.start();
    await notifier.observer.onOutcome(deadOutcome());

    const [n] = await waitFor(async () => {
      const list = await store.listNotifications({ status: 'dead', site_id: 'shop', limit: 10 });
      return list.length ? list : undefined;
    });
    expect(n).toMatchObject({ status: 'dead', attempts: 6, last_status: 500, last_error: 'HTTP 500: nope' });
    expect(rx.received).toHaveLength(6);
    expect(await store.listNotifications({ status: 'pending', limit: 10 })).toEqual([]);

    // Requeued (the dashboard's "retry"), it goes out again.
    await store.requeueNotifications([n!.id], Date.now());
    notifier.wake();
    await waitFor(() => (rx.received.length > 6 ? true : undefined));
  });

  it('a receiver with another secret refuses it: the notification is retried, then dead', async () => {
    const rx = await startReceiver('another-secret-of-some-length', () => 204);
    cleanups.push(rx.close);
    const { store, notifier } = setup({ sites: [site(rx.url)], schedule: [0] });
    await notifier.observer.onOutcome(deadOutcome());
    await notifier.drain();
    expect(rx.received.map((r) => [r.signatureOk, r.status])).toEqual([[false, 401], [false, 401]]);
    expect((await store.listNotifications({ limit: 1 }))[0]).toMatchObject({ status: 'dead', last_status: 401 });
  });
});

describe('notifier retry schedule (injected clock)', () => {
  it('retries at once, then after 1 s, 5 s, 15 s and 60 s, then dead', async () => {
    const clock = { t: 1_760_000_000_000 };
    const sentAt: number[] = [];
    const { store, notifier } = setup({
      sites: [site('https://hooks.example/trakvo')],
      now: () => clock.t,
      send: async () => {
        sentAt.push(clock.t);
        return { status: 502, headers: {}, body: 'bad gateway' };
      },
    });
    const start = clock.t;
    await notifier.observer.onOutcome(deadOutcome());
    await notifier.drain();
    // Two attempts at once (the first and its immediate retry); the next is due 1 s later.
    expect(sentAt).toEqual([start, start]);
    for (const delay of NOTIFY_RETRY_SCHEDULE_MS.slice(1)) {
      const [pending] = await store.listNotifications({ status: 'pending', limit: 1 });
      expect(pending!.next_attempt_at).toBe(clock.t + delay);
      const before = sentAt.length;
      clock.t += delay - 1;
      await notifier.drain();
      expect(sentAt).toHaveLength(before); // 1 ms early: nothing due, nothing sent
      clock.t += 1;
      await notifier.drain();
      expect(sentAt.length).toBe(before + 1);
    }
    const [dead] = await store.listNotifications({ limit: 1 });
    expect(dead).toMatchObject({ status: 'dead', attempts: 6, last_status: 502, last_error: 'HTTP 502: bad gateway' });
    expect(sentAt.map((t) => t - start)).toEqual([0, 0, 1000, 6000, 21_000, 81_000]);
  });

  it('a network error counts as a failed attempt', async () => {
    const clock = { t: 1_760_000_000_000 };
    const { store, notifier } = setup({
      sites: [site('https://hooks.example/trakvo')],
      now: () => clock.t,
      send: async () => {
        throw new Error('connect ECONNREFUSED');
      },
    });
    await notifier.observer.onOutcome(deadOutcome());
    await notifier.drain();
    expect((await store.listNotifications({ limit: 1 }))[0]).toMatchObject({ status: 'pending', attempts: 2, last_status: null, last_error: 'network: connect ECONNREFUSED' });
  });

  it('a notification whose url left the config is dead, not sent', async () => {
    let sent = 0;
    const stored = openSqliteStore({ file: ':memory:' });
    cleanups.push(() => stored.close());
    const old = createNotifier({ store: stored, sites: [site('https://old.example/hook')], logger: createLogger('silent'), send: async () => ({ status: 500, headers: {}, body: '' }) });
    await old.observer.onOutcome(deadOutcome());
    const fresh = createNotifier({
      store: stored,
      sites: [site('https://new.example/hook')],
      logger: createLogger('silent'),
      send: async () => {
        sent += 1;
        return { status: 204, headers: {}, body: '' };
      },
    });
    await fresh.drain();
    expect(sent).toBe(0);
    expect((await stored.listNotifications({ limit: 1 }))[0]).toMatchObject({ status: 'dead', last_error: expect.stringContaining('no notify target') });
  });
});

describe('notifier observer', () => {
  it('queues nothing for sites without notify targets, or for retries', async () => {
    const { store, notifier } = setup({ sites: [{ id: 'shop' }] });
    await notifier.observer.onOutcome(deadOutcome());
    const second = setup({ sites: [site('https://hooks.example/x', ['event.dead', 'event.delivered'])] });
    await second.notifier.observer.onOutcome({ ...deadOutcome(), outcome: 'retry' });
    expect(await store.listNotifications({ limit: 10 })).toEqual([]);
    expect(await second.store.listNotifications({ limit: 10 })).toEqual([]);
  });

  it('is idempotent: the same delivered outcome reported twice queues one notification per event', async () => {
    const { store, notifier } = setup({ sites: [site('https://hooks.example/x', ['event.delivered'])] });
    const outcome: DeliveryOutcome = { ...deadOutcome(3), outcome: 'delivered', httpStatus: 200, error: undefined };
    await notifier.observer.onOutcome(outcome);
    await notifier.observer.onOutcome(outcome);
    const list = await store.listNotifications({ limit: 10 });
    expect(list).toHaveLength(3);
    expect(new Set(list.map((n) => n.idempotency_id)).size).toBe(3);
  });

  it('never fails the dispatcher when the store refuses', async () => {
    const notifier = createNotifier({
      store: {
        insertNotifications: async () => {
          throw new Error('disk full');
        },
        leaseDueNotifications: async () => [],
        markNotification: async () => {},
      },
      sites: [site('https://hooks.example/x')],
      logger: createLogger('silent'),
      send: async () => ({ status: 204, headers: {}, body: '' }),
    });
    await expect(notifier.observer.onOutcome(deadOutcome())).resolves.toBeUndefined();
  });
});
