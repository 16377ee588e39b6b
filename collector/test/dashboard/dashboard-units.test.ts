// The dashboard's small parts: the escaping helper, passwords, sessions, the login limiter,
// the config block, the event feed, and the match-quality "as sent" rule.
import { randomBytes, scryptSync } from 'node:crypto';
import type { Request, Response } from 'express';
import { describe, expect, it } from 'vitest';
import { checkPassword, createLoginLimiter, createSessions, hashAdminPassword, isSameOriginRequest } from '../../src/dashboard/auth.js';
import { AdminConfigSchema, adminConfigOf, type AdminConfig } from '../../src/dashboard/config.js';
import { createEventFeed, feedDeliveryObserver, type FeedMessage } from '../../src/dashboard/event-feed.js';
import { escapeHtml, html, query } from '../../src/dashboard/html.js';
import { deliveryState, eventAsSent } from '../../src/dashboard/queries.js';
import type { DeliveryRecord } from '../../src/store/types.js';
import { makeEvent } from '../fixtures/events.js';

describe('html', () => {
  it('escapes every interpolated value, once', () => {
    const name = '<img src=x onerror="alert(1)">';
    const out = html`<td title="${name}">${name}</td>`.value;
    expect(out).toBe('<td title="&lt;img src=x onerror=&quot;alert(1)&quot;&gt;">&lt;img src=x onerror=&quot;alert(1)&quot;&gt;</td>');
    const nested = html`<tr>${html`<td>${'a&b'}</td>`}</tr>`.value;
    expect(nested).toBe('<tr><td>a&amp;b</td></tr>');
    expect(html`${["<b>", html`<i>ok</i>`]}`.value).toBe('&lt;b&gt;<i>ok</i>');
    expect(html`${null}${undefined}${false}${0}`.value).toBe('0');
    expect(escapeHtml(`'\`"`)).toBe('&#39;&#96;&quot;');
  });

  it('builds query strings from the set values only', () => {
    expect(query({ site: 'a b', q: '', x: undefined, n: 2 })).toBe('?site=a+b&n=2');
    expect(query({})).toBe('');
  });
});

describe('admin config', () => {
  it('needs a password or its hash, of decent length', () => {
    expect(AdminConfigSchema.safeParse({}).success).toBe(false);
    expect(AdminConfigSchema.safeParse({ password: 'short' }).success).toBe(false);
    expect(AdminConfigSchema.safeParse({ password: 'long enough password' }).data).toEqual({ password: 'long enough password', sessionHours: 12 });
    expect(AdminConfigSchema.safeParse({ passwordHash: 'md5:abc' }).success).toBe(false);
    expect(AdminConfigSchema.safeParse({ password: 'long enough password', sessionSecret: 'too short' }).success).toBe(false);
    expect(AdminConfigSchema.safeParse({ password: 'long enough password', extra: 1 }).success).toBe(false);
  });

  it('reads `admin` from a collector config; absent means off; a bad block names the key', () => {
    expect(adminConfigOf({ sites: [] })).toBeUndefined();
    expect(adminConfigOf({ admin: { password: 'long enough password' } })?.password).toBe('long enough password');
    expect(() => adminConfigOf({ admin: { password: 'x' } })).toThrow(/^admin\.password: /);
  });
});

describe('passwords', () => {
  const admin = (a: Partial<AdminConfig>): AdminConfig => ({ sessionHours: 1, ...a });

  it('checks a clear password', () => {
    expect(checkPassword(admin({ password: 'the right password' }), 'the right password')).toBe(true);
    expect(checkPassword(admin({ password: 'the right password' }), 'the right passwore')).toBe(false);
    expect(checkPassword(admin({ password: 'the right password' }), '')).toBe(false);
  });

  it('checks a scrypt hash, the same format as the documented node one-liner makes', () => {
    const hash = hashAdminPassword('hashed secret 123');
    expect(hash).toMatch(/^scrypt:[0-9a-f]{32}:[0-9a-f]{64}$/);
    expect(AdminConfigSchema.safeParse({ passwordHash: hash }).success).toBe(true);
    expect(checkPassword(admin({ passwordHash: hash }), 'hashed secret 123')).toBe(true);
    expect(checkPassword(admin({ passwordHash: hash }), 'hashed secret 124')).toBe(false);
    // README.md, Dashboard: scryptSync(password, salt, 32) with Node's defaults.
    const salt = randomBytes(16);
    const documented = `scrypt:${salt.toString('hex')}:${scryptSync('doc pass', salt, 32).toString('hex')}`;
    expect(checkPassword(admin({ passwordHash: documented }), 'doc pass')).toBe(true);
  });
});

describe('sessions', () => {
  function fakeReqRes(cookie?: string) {
    const set: string[] = [];
    const req = { baseUrl: '/t/admin', secure: true, get: (h: string) => (h.toLowerCase() === 'cookie' ? cookie : undefined) } as unknown as Request;
    const res = { append: (_: string, v: string) => set.push(v) } as unknown as Response;
    return { req, res, set };
  }
  const cookieOf = (setCookie: string) => setCookie.split(';')[0]!;

  it('issues a signed cookie that reads back until it expires', () => {
    let now = 1_000_000_000_000;
    const admin: AdminConfig = { password: 'pw pw pw pw pw', sessionSecret: 'x'.repeat(32), sessionHours: 1 };
    const sessions = createSessions(admin, () => now);
    const a = fakeReqRes();
    const s = sessions.start(a.req, a.res);
    expect(a.set[0]).toContain('Secure');
    expect(a.set[0]).toContain('Max-Age=3600');
    const back = sessions.read(fakeReqRes(cookieOf(a.set[0]!)).req);
    expect(back).toEqual(s);
    now += 3600_000;
    expect(sessions.read(fakeReqRes(cookieOf(a.set[0]!)).req)).toBeUndefined();
  });

  it('is invalidated by a new password or another secret, and by logout', () => {
    const base: AdminConfig = { password: 'pw pw pw pw pw', sessionSecret: 'x'.repeat(32), sessionHours: 1 };
    const sessions = createSessions(base, Date.now);
    const a = fakeReqRes();
    const s = sessions.start(a.req, a.res);
    const cookie = cookieOf(a.set[0]!);
    expect(createSessions({ ...base }, Date.now).read(fakeReqRes(cookie).req)).toEqual(s);
    expect(createSessions({ ...base, password: 'another password' }, Date.now).read(fakeReqRes(cookie).req)).toBeUndefined();
    expect(createSessions({ ...base, sessionSecret: 'y'.repeat(32) }, Date.now).read(fakeReqRes(cookie).req)).toBeUndefined();

    const out = fakeReqRes(cookie);
    sessions.end(out.req, out.res);
    expect(out.set[0]).toMatch(/^trakvo_admin=;/);
    expect(sessions.read(fakeReqRes(cookie).req)).toBeUndefined();
  });

  it('derives a CSRF token per session', () => {
    const sessions = createSessions({ password: 'pw pw pw pw pw', sessionHours: 1 }, Date.now);
    const a = fakeReqRes();
    const b = fakeReqRes();
    const s1 = sessions.start(a.req, a.res);
    const s2 = sessions.start(b.req, b.res);
    expect(sessions.checkCsrf(s1, sessions.csrfToken(s1))).toBe(true);
    expect(sessions.checkCsrf(s1, sessions.csrfToken(s2))).toBe(false);
    expect(sessions.checkCsrf(s1, undefined)).toBe(false);
    expect(sessions.checkCsrf(s1, '')).toBe(false);
  });
});

describe('same-origin check', () => {
  const req = (headers: Record<string, string>) => ({ get: (h: string) => headers[h.toLowerCase()] }) as unknown as Request;
  it('accepts same-origin and header-less requests, refuses cross-site ones', () => {
    expect(isSameOriginRequest(req({ host: 'shop.com', origin: 'https://shop.com', 'sec-fetch-site': 'same-origin' }))).toBe(true);
    expect(isSameOriginRequest(req({ host: 'shop.com' }))).toBe(true);
    expect(isSameOriginRequest(req({ host: 'shop.com', origin: 'https://evil.com' }))).toBe(false);
    expect(isSameOriginRequest(req({ host: 'shop.com', origin: 'null' }))).toBe(false);
    expect(isSameOriginRequest(req({ host: 'shop.com', 'sec-fetch-site': 'same-site' }))).toBe(false);
  });
});

describe('login limiter', () => {
  it('allows ten failures per address in fifteen minutes, then says how long to wait', () => {
    let now = 0;
    const limiter = createLoginLimiter(() => now);
    for (let i = 0; i < 10; i++) {
      expect(limiter.retryAfter('a')).toBe(0);
      limiter.failed('a');
      now += 1000;
    }
    expect(limiter.retryAfter('a')).toBe(15 * 60 - 10);
    expect(limiter.retryAfter('b')).toBe(0);
    now += 15 * 60_000;
    expect(limiter.retryAfter('a')).toBe(0);
    limiter.failed('a');
    limiter.succeeded('a');
    expect(limiter.retryAfter('a')).toBe(0);
  });
});

describe('event feed', () => {
  it('delivers to subscribers until they unsubscribe; a throwing one harms no one', () => {
    const feed = createEventFeed();
    const got: FeedMessage[] = [];
    feed.subscribe(() => {
      throw new Error('boom');
    });
    const off = feed.subscribe((m) => got.push(m));
    const m: FeedMessage = { kind: 'event', site_id: 's', event_id: 'e' };
    expect(() => feed.publish(m)).not.toThrow();
    off();
    feed.publish(m);
    expect(got).toEqual([m]);
  });

  it('turns the dispatcher’s outcomes into one message per event', () => {
    const feed = createEventFeed();
    const got: FeedMessage[] = [];
    feed.subscribe((m) => got.push(m));
    const observer = feedDeliveryObserver(feed);
    const [a, b] = [makeEvent(), makeEvent()];
    void observer.onOutcome({ site_id: 'shop', destination: 'meta0', destinationType: 'meta', outcome: 'retry', events: [a, b], httpStatus: 503 });
    void observer.onOutcome({ site_id: 'shop', destination: 'meta0', destinationType: 'meta', outcome: 'delivered', events: [a], httpStatus: 200 });
    expect(got).toEqual([
      { kind: 'delivery', site_id: 'shop', event_id: a.event_id, destination: 'meta0', status: 'pending' },
      { kind: 'delivery', site_id: 'shop', event_id: b.event_id, destination: 'meta0', status: 'pending' },
      { kind: 'delivery', site_id: 'shop', event_id: a.event_id, destination: 'meta0', status: 'delivered' },
    ]);
  });
});

describe('delivery state and match quality as sent', () => {
  const delivery = (status: DeliveryRecord['status'], attempts = 1): DeliveryRecord => ({
    delivery_id: 1, destination: 'meta', status, attempts, next_attempt_at: null, last_status: null, last_error: null, delivered_at: null,
  });

  it('splits pending into new and retrying', () => {
    expect(deliveryState(delivery('pending', 0))).toBe('pending');
    expect(deliveryState(delivery('pending', 2))).toBe('retrying');
    expect(deliveryState(delivery('dead'))).toBe('dead');
  });

  it('counts back the IP and user agent the store removed after delivery, for consented browser events only', () => {
    const { ip: _ip, user_agent: _ua, ...scrubbed } = makeEvent();
    expect(eventAsSent({ event: scrubbed, deliveries: [delivery('delivered')] }).restored).toBe(true);
    expect(eventAsSent({ event: scrubbed, deliveries: [delivery('pending')] }).restored).toBe(false);
    expect(eventAsSent({ event: scrubbed, deliveries: [] }).restored).toBe(false);
    expect(eventAsSent({ event: { ...scrubbed, source: 'api' }, deliveries: [delivery('delivered')] }).restored).toBe(false);
    expect(eventAsSent({ event: { ...scrubbed, consent: { marketing: false, analytics: true } }, deliveries: [delivery('skipped')] }).restored).toBe(false);
    const full = makeEvent();
    expect(eventAsSent({ event: full, deliveries: [delivery('delivered')] })).toEqual({ event: full, restored: false });
    // The placeholder is a documentation address (TEST-NET-1), never a visitor's.
    expect(eventAsSent({ event: scrubbed, deliveries: [delivery('dead')] }).event.ip).toBe('192.0.2.1');
  });
});
