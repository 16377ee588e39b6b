import { describe, expect, it } from 'vitest';
import { NotifyConfigSchema, type NotifySite } from '../../src/notify/config.js';
import { AUTH_FAILED_WINDOW_MS, planNotifications } from '../../src/notify/plan-notifications.js';
import type { DeliveryOutcome } from '../../src/metrics/delivery-observer.js';
import { makeEvent, sha256Hex } from '../fixtures/events.js';

const SECRET = 'whsec_test_0123456789abcdef';
const NOW = 1_760_000_123_456;

function site(targets: Record<string, unknown>[]): NotifySite {
  return { id: 'shop', notify: NotifyConfigSchema.parse(targets.map((t) => ({ secret: SECRET, ...t }))) };
}

function outcome(over: Partial<DeliveryOutcome> = {}): DeliveryOutcome {
  return {
    site_id: 'shop',
    destination: 'meta0',
    destinationType: 'meta',
    outcome: 'delivered',
    events: [makeEvent()],
    httpStatus: 200,
    durationMs: 40,
    ...over,
  };
}

describe('NotifyConfigSchema', () => {
  it('defaults to no targets and the threshold to 4', () => {
    expect(NotifyConfigSchema.parse(undefined)).toEqual([]);
    expect(NotifyConfigSchema.parse([{ url: 'https://a.example/h', secret: SECRET, events: ['match_quality.low'] }])[0]!.matchQualityBelow).toBe(4);
  });

  it('names the bad key', () => {
    const r = NotifyConfigSchema.safeParse([
      { url: 'ftp://a.example', secret: 'short', events: ['event.exploded'] },
      { url: 'https://b.example/h', secret: SECRET, events: ['event.dead'], matchQualityBelow: 11 },
    ]);
    expect(r.success).toBe(false);
    const paths = r.error!.issues.map((i) => i.path.join('.'));
    expect(paths).toEqual(expect.arrayContaining(['0.url', '0.secret', '0.events.0', '1.matchQualityBelow']));
  });

  it('refuses the same url twice (a stored notification finds its secret by url)', () => {
    const t = { url: 'https://a.example/h', secret: SECRET, events: ['event.dead'] };
    const r = NotifyConfigSchema.safeParse([t, t]);
    expect(r.error?.issues[0]).toMatchObject({ path: [1, 'url'], message: 'duplicate notify url "https://a.example/h"' });
  });
});

describe('planNotifications', () => {
  it('delivered: one event.delivered per event, with match quality and no personal data', () => {
    const s = site([{ url: 'https://a.example/h', events: ['event.delivered'] }]);
    const o = outcome({ events: [makeEvent(), makeEvent()] });
    const items = planNotifications(o, s, NOW);
    expect(items.map((i) => i.kind)).toEqual(['event.delivered', 'event.delivered']);
    const body = JSON.parse(items[0]!.body) as Record<string, any>;
    expect(body).toEqual({
      id: items[0]!.idempotency_id,
      type: 'event.delivered',
      created_at: Math.floor(NOW / 1000),
      site_id: 'shop',
      data: {
        destination: { id: 'meta0', type: 'meta' },
        event: {
          event_id: o.events[0]!.event_id,
          event_name: 'Purchase',
          event_time: o.events[0]!.event_time,
          source: 'browser',
          order_id: o.events[0]!.custom.order_id,
          value: 129.9,
          currency: 'BRL',
        },
        http_status: 200,
        match_quality: { score: 7, signals: ['em', 'external_id', 'ip', 'user_agent', 'fbc', 'fbp'] },
      },
    });
    const e = o.events[0]!;
    for (const secret of [e.user.em!, e.user.external_id!, e.ip!, e.user_agent!]) expect(items[0]!.body).not.toContain(secret);
  });

  it('match_quality.low only under the threshold, scored for that destination', () => {
    const s = site([{ url: 'https://a.example/h', events: ['match_quality.low'], matchQualityBelow: 5 }]);
    const weak = makeEvent({ user: {}, ids: { ttclid: 'tt' } }); // meta: ip + ua = 1.5
    const strong = makeEvent({ user: { em: sha256Hex('a@b.co'), ph: sha256Hex('5511999990000') } });
    const items = planNotifications(outcome({ events: [weak, strong] }), s, NOW);
    expect(items).toHaveLength(1);
    const body = JSON.parse(items[0]!.body) as Record<string, any>;
    expect(body.type).toBe('match_quality.low');
    expect(body.data).toMatchObject({ event: { event_id: weak.event_id }, match_quality: { score: 1.5, signals: ['ip', 'user_agent'] }, threshold: 5 });
    expect(body.data.note).toMatch(/not Meta's Event Match Quality/);
  });

  it('dead: event.dead per event with the error; a later death of the same event is a new notification', () => {
    const s = site([{ url: 'https://a.example/h', events: ['event.dead', 'event.delivered'] }]);
    const o = outcome({ outcome: 'dead', httpStatus: 400, error: 'Meta error 100' });
    const first = planNotifications(o, s, NOW);
    expect(first.map((i) => i.kind)).toEqual(['event.dead']);
    expect(JSON.parse(first[0]!.body).data).toMatchObject({ http_status: 400, error: 'Meta error 100' });
    expect(planNotifications(o, s, NOW)[0]!.idempotency_id).toBe(first[0]!.idempotency_id);
    expect(planNotifications(o, s, NOW + 60_000)[0]!.idempotency_id).not.toBe(first[0]!.idempotency_id);
  });

  it('auth: one destination.auth_failed per destination per hour', () => {
    const s = site([{ url: 'https://a.example/h', events: ['destination.auth_failed'] }]);
    const o = outcome({ outcome: 'auth', httpStatus: 401, error: 'auth: Meta error 190', events: [makeEvent(), makeEvent()] });
    const hour = Math.floor(NOW / AUTH_FAILED_WINDOW_MS) * AUTH_FAILED_WINDOW_MS;
    const a = planNotifications(o, s, hour + 1000);
    const b = planNotifications(o, s, hour + AUTH_FAILED_WINDOW_MS - 1);
    const c = planNotifications(o, s, hour + AUTH_FAILED_WINDOW_MS);
    expect(a).toHaveLength(1);
    expect(JSON.parse(a[0]!.body).data).toEqual({
      destination: { id: 'meta0', type: 'meta' }, http_status: 401, error: 'auth: Meta error 190', paused: true, events_waiting: 2,
    });
    expect(b[0]!.idempotency_id).toBe(a[0]!.idempotency_id);
    expect(c[0]!.idempotency_id).not.toBe(a[0]!.idempotency_id);
  });

  it('each target gets its own notification with its own id; unsubscribed kinds and retries give none', () => {
    const s = site([
      { url: 'https://a.example/h', events: ['event.dead'] },
      { url: 'https://b.example/h', events: ['event.dead', 'event.delivered'] },
    ]);
    const dead = planNotifications(outcome({ outcome: 'dead' }), s, NOW);
    expect(dead.map((i) => i.url)).toEqual(['https://a.example/h', 'https://b.example/h']);
    expect(dead[0]!.idempotency_id).not.toBe(dead[1]!.idempotency_id);
    expect(planNotifications(outcome(), s, NOW).map((i) => i.url)).toEqual(['https://b.example/h']);
    expect(planNotifications(outcome({ outcome: 'retry' }), s, NOW)).toEqual([]);
  });
});
