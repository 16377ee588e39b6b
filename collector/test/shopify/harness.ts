// An emulation of Shopify's Web Pixels runtime for custom pixels, enough to run the
// generated script the way the Lax sandbox does: the script is evaluated in its own realm
// (node:vm) whose globals are the custom-pixel API (`analytics`, `init`, `browser`, `api`,
// optionally `customerPrivacy`) and `fetch`. Shapes follow shopify.dev's Web Pixels API
// reference:
//   analytics.subscribe(name, callback)             standard events by name
//   init = { context, data: { customer, … }, customerPrivacy }
//   browser.cookie.get(name) → Promise<string>      "" when the cookie is absent
//   browser.sendBeacon(url, body) → Promise<boolean>
//   customerPrivacy.subscribe('visitorConsentCollected', cb), cb({ customerPrivacy })
// Before the script runs, the realm loses the built-ins newer than ES2017, so a script that
// needs them fails here.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import vm from 'node:vm';

const here = dirname(fileURLToPath(import.meta.url));

/** A fixture shaped like Shopify's documented payloads (`fixtures/<name>.json`). */
export function pixelFixture<T = Record<string, any>>(name: string): T {
  return JSON.parse(readFileSync(join(here, 'fixtures', `${name}.json`), 'utf8')) as T;
}

export interface CustomerPrivacy {
  analyticsProcessingAllowed: boolean;
  marketingAllowed: boolean;
  preferencesProcessingAllowed: boolean;
  saleOfDataAllowed: boolean;
}

export const ALL_GRANTED: CustomerPrivacy = {
  analyticsProcessingAllowed: true,
  marketingAllowed: true,
  preferencesProcessingAllowed: true,
  saleOfDataAllowed: true,
};

/** The first-party cookies t.js and the ad platforms left on the storefront. */
export const SHOP_COOKIES: Record<string, string> = {
  _fbp: 'fb.1.1741620000000.1122334455',
  _fbc: 'fb.1.1741620000000.IwAR2xYz_abc123',
  _tk_vid: '3f1c2a9e-5b7d-4c11-9e0f-2a6b8c4d1e7f',
  _tk_sid: '1741626000',
  _tk_gclid: 'Cj0KCQiA-test',
  _ga: 'GA1.1.1234567890.1741620000',
  _shopify_y: 'not-read-by-the-pixel',
};

export interface RuntimeOptions {
  /** `init` as Shopify passes it; default fixtures/init.json. */
  init?: Record<string, any>;
  /** Cookies of the top frame. */
  cookies?: Record<string, string>;
  /** sendBeacon answers true (queued), false (refused), or is absent. */
  beacon?: 'queued' | 'refused' | 'absent';
  /** Where the customer privacy API lives: `api.customerPrivacy` (default) or the global. */
  privacyApi?: 'api' | 'global' | 'none';
}

export interface Sent {
  via: 'beacon' | 'fetch';
  url: string;
  body: string;
  init?: Record<string, unknown>;
}

export interface PixelRuntime {
  /** Every request the script made, in order. */
  sent: Sent[];
  /** Parsed bodies of `sent`. */
  wires(): Record<string, any>[];
  /** Cookie names the script asked for. */
  cookieReads: string[];
  /** Standard events the script subscribed to. */
  subscriptions(): string[];
  /** Publishes one event to its subscribers, as Shopify does, and waits for the requests. */
  publish(event: Record<string, any>): Promise<void>;
  /** The visitor answered the consent banner. */
  collectConsent(privacy: CustomerPrivacy): void;
  clear(): void;
}

/** Built-ins after ES2017, removed from the pixel's realm. */
const NEWER_BUILTINS = `
  delete Object.fromEntries; delete Object.hasOwn; delete Array.prototype.flat;
  delete Array.prototype.flatMap; delete Array.prototype.at; delete Array.prototype.findLast;
  delete String.prototype.matchAll; delete String.prototype.replaceAll; delete String.prototype.at;
  delete String.prototype.trimStart; delete String.prototype.trimEnd; delete Promise.allSettled;
  delete Promise.any; delete Promise.prototype.finally; delete globalThis.structuredClone;
  delete globalThis.BigInt; delete globalThis.WeakRef; delete globalThis.AggregateError;
`;

const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

export function runCustomPixel(script: string, opts: RuntimeOptions = {}): PixelRuntime {
  const init = opts.init ?? pixelFixture('init');
  const cookies = opts.cookies ?? SHOP_COOKIES;
  const subscribers = new Map<string, ((event: unknown) => unknown)[]>();
  const consentSubscribers: ((event: unknown) => void)[] = [];
  const sent: Sent[] = [];
  const cookieReads: string[] = [];

  const analytics = {
    subscribe(name: string, callback: (event: unknown) => unknown) {
      subscribers.set(name, [...(subscribers.get(name) ?? []), callback]);
      return Promise.resolve();
    },
  };
  const browser: Record<string, unknown> = {
    cookie: {
      get(name?: string) {
        cookieReads.push(String(name));
        return Promise.resolve(name === undefined ? '' : (cookies[name] ?? ''));
      },
      set: () => Promise.resolve(''),
    },
    localStorage: { getItem: () => Promise.resolve(null), setItem: () => Promise.resolve(), removeItem: () => Promise.resolve() },
    sessionStorage: { getItem: () => Promise.resolve(null), setItem: () => Promise.resolve(), removeItem: () => Promise.resolve() },
  };
  if (opts.beacon !== 'absent') {
    browser.sendBeacon = (url: string, body?: string) => {
      if (opts.beacon === 'refused') return Promise.resolve(false);
      sent.push({ via: 'beacon', url, body: String(body) });
      return Promise.resolve(true);
    };
  }
  const customerPrivacy = {
    subscribe(name: string, callback: (event: unknown) => void) {
      if (name !== 'visitorConsentCollected') throw new Error(`unknown customer privacy event ${name}`);
      consentSubscribers.push(callback);
    },
  };
  const fetch = (url: string, reqInit: Record<string, unknown> = {}) => {
    sent.push({ via: 'fetch', url: String(url), body: String(reqInit.body), init: { ...reqInit } });
    return Promise.resolve({ ok: true, status: 0, type: 'opaque' });
  };

  const globals: Record<string, unknown> = { analytics, init, browser, fetch };
  const privacyApi = opts.privacyApi ?? 'api';
  globals.api = { analytics, init, browser, ...(privacyApi === 'api' ? { customerPrivacy } : {}) };
  if (privacyApi === 'global') globals.customerPrivacy = customerPrivacy;
  const context = vm.createContext(globals);
  vm.runInContext(NEWER_BUILTINS, context);
  vm.runInContext(script, context, { filename: 'trakvo-custom-pixel.js' });

  let seq = 100;
  return {
    sent,
    wires: () => sent.map((s) => JSON.parse(s.body) as Record<string, any>),
    cookieReads,
    subscriptions: () => [...subscribers.keys()],
    async publish(event) {
      const stamped = { clientId: 'f2c7e1d4-7a1b-4c8e-9f0a-3b5d6e7f8a9b', seq: seq++, type: 'standard', ...event };
      for (const callback of subscribers.get(String(event.name)) ?? []) await callback(structuredClone(stamped));
      await settle();
    },
    collectConsent(privacy) {
      for (const callback of consentSubscribers) callback({ customerPrivacy: { ...privacy } });
    },
    clear() {
      sent.length = 0;
      cookieReads.length = 0;
    },
  };
}
