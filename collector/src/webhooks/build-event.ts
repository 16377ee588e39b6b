// Turning what a commerce platform says about an order into the canonical event: money and
// time parsing, browser identifiers carried in order attributes, and the one builder every
// platform calls, so hashing, id derivation and consent work the same for all of them.
import type { SiteConfig } from '../config/schema.js';
import { CanonicalEventSchema, type CanonicalEvent, type Consent, type Content, type Identifiers } from '../event/schema.js';
import { orderEventId } from '../event/order-event-id.js';
import { normalizeIp } from '../http/client-ip.js';
import type { FieldProblem } from '../http/errors.js';
import {
  CLICK_ID_PARAMS,
  clickIdCookieName,
  gaClientIdFromCookie,
  gaSessionIdFromCookies,
  SESSION_COOKIE,
  VISITOR_COOKIE,
} from '../http/first-party-cookies.js';
import { hashUserData, type RawUserData } from '../pipeline/hash-user-data.js';
import type { WebhookPlatformName } from './types.js';

// ─── loose JSON reading ───────────────────────────────────────────────────────────────────

export type Json = Record<string, unknown>;

export const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A non-empty trimmed string from a string or finite number. */
export function text(v: unknown): string | undefined {
  if (typeof v === 'string') {
    const t = v.trim();
    return t === '' ? undefined : t;
  }
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  if (typeof v === 'bigint') return v.toString();
  return undefined;
}

/** The first argument that yields text. */
export function firstText(...values: unknown[]): string | undefined {
  for (const v of values) {
    const t = text(v);
    if (t !== undefined) return t;
  }
  return undefined;
}

/** An amount as platforms send it: 199.9, "199.90", "199,90". */
export function parseMoney(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (typeof v !== 'string') return undefined;
  const s = v.trim();
  if (/^-?\d+(\.\d+)?$/.test(s)) return Number(s);
  if (/^-?\d+,\d{1,3}$/.test(s)) return Number(s.replace(',', '.'));
  return undefined;
}

/** Rounds away binary noise: 199.89999999 → 199.9. */
export const roundMoney = (n: number, decimals = 3): number => Number(n.toFixed(decimals));

/**
 * Unix seconds from an ISO-8601 string, or a number of seconds or milliseconds since the
 * epoch (numbers above 1e11 are read as milliseconds).
 */
export function parseTime(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isFinite(v) && v > 0) return Math.floor(v > 1e11 ? v / 1000 : v);
  if (typeof v === 'string' && v.trim() !== '') {
    const s = v.trim();
    if (/^\d+$/.test(s)) return parseTime(Number(s));
    const ms = Date.parse(s);
    return Number.isNaN(ms) ? undefined : Math.floor(ms / 1000);
  }
  return undefined;
}

/** "Maria da Silva" → first "Maria", last "Silva". */
export function splitName(full: unknown): { first_name?: string; last_name?: string } {
  const t = text(full);
  if (t === undefined) return {};
  const parts = t.split(/\s+/);
  if (parts.length === 1) return { first_name: parts[0] };
  return { first_name: parts[0], last_name: parts[parts.length - 1] };
}

/** An absolute http(s) URL, or undefined. */
export function httpUrl(v: unknown, base?: string): string | undefined {
  const t = text(v);
  if (t === undefined) return undefined;
  try {
    const u = new URL(t, base);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') return undefined;
    const s = u.toString();
    return s.length <= 4096 ? s : undefined;
  } catch {
    return undefined;
  }
}

/** `[{ name, value }]` (Shopify note_attributes) or `[{ key, value }]` (Woo meta_data) or an object → a flat record. */
export function attributeRecord(v: unknown, nameKey = 'name', valueKey = 'value'): Record<string, string> {
  const out: Record<string, string> = {};
  if (Array.isArray(v)) {
    for (const item of v) {
      if (!isObject(item)) continue;
      const name = text(item[nameKey]) ?? text(item.key) ?? text(item.name);
      const value = text(item[valueKey]);
      if (name !== undefined && value !== undefined && !(name in out)) out[name] = value;
    }
  } else if (isObject(v)) {
    for (const [k, val] of Object.entries(v)) {
      const value = text(val);
      if (value !== undefined) out[k] = value;
    }
  }
  return out;
}

// ─── browser identifiers ─────────────────────────────────────────────────────────────────

/** Printable ASCII without spaces, quotes, commas, semicolons or backslashes (cookie octets). */
const ID_VALUE_RE = /^[\x21\x23-\x2B\x2D-\x3A\x3C-\x5B\x5D-\x7E]+$/;
const VISITOR_ID_RE = /^[A-Za-z0-9-]{16,64}$/;

function idValue(v: string | undefined, max = 500): string | undefined {
  if (v === undefined) return undefined;
  const t = v.trim();
  return t !== '' && t.length <= max && ID_VALUE_RE.test(t) ? t : undefined;
}

/** A value that can be our visitor id (what t.js / the collector mint). */
export function visitorId(v: unknown): string | undefined {
  const t = text(v);
  return t !== undefined && VISITOR_ID_RE.test(t) ? t : undefined;
}

/**
 * Browser identifiers the storefront copied into the order (Shopify cart/note attributes,
 * WooCommerce order meta, Stripe metadata, …). Both cookie names (`_fbp`, `_ga`, `_tk_vid`,
 * `_tk_gclid`) and plain names (`fbp`, `ga_client_id`, `visitor_id`, `gclid`) are read.
 */
export function identifiersFromAttributes(attrs: Record<string, string>): Identifiers {
  const get = (...names: string[]): string | undefined => {
    for (const n of names) {
      const v = attrs[n];
      if (v !== undefined) return v;
    }
    return undefined;
  };
  const ids: Identifiers = {};
  const set = (key: keyof Identifiers, value: string | undefined, max = 500) => {
    const v = idValue(value, max);
    if (v !== undefined && ids[key] === undefined) ids[key] = v;
  };
  set('fbp', get('_fbp', 'fbp'));
  set('fbc', get('_fbc', 'fbc'));
  set('ttp', get('_ttp', 'ttp'));
  for (const { param, key } of CLICK_ID_PARAMS) set(key, get(clickIdCookieName(key), key, param));
  set('gclid', /^GCL\.\d+\.(.+)$/.exec(get('_gcl_aw') ?? '')?.[1]);
  set('ga_client_id', get('ga_client_id', 'client_id') ?? gaClientIdFromCookie(get('_ga')), 200);
  set('ga_session_id', get('ga_session_id') ?? gaSessionIdFromCookies(attrs), 100);
  set('scid', get('_scid', 'scid'));
  set('rdt_uuid', get('_rdt_uuid', 'rdt_uuid'));
  const vid = visitorId(get(VISITOR_COOKIE, 'visitor_id', 'tk_vid', '_trakvo_vid'));
  if (vid !== undefined) ids.visitor_id = vid;
  const sid = get(SESSION_COOKIE, 'session_id');
  if (sid !== undefined && /^\d{9,11}$/.test(sid)) ids.session_id = sid;
  return ids;
}

/**
 * Click ids in a landing URL (`?fbclid=…&gclid=…`). An fbclid becomes an `fbc` value with
 * `clickMs` as its creation time (Meta: when the click id was first seen; the order's time
 * is the best a server knows).
 */
export function identifiersFromUrl(url: string | undefined, clickMs: number): Identifiers {
  if (!url) return {};
  let query: URLSearchParams;
  try {
    query = new URL(url, 'https://placeholder.invalid/').searchParams;
  } catch {
    return {};
  }
  const ids: Identifiers = {};
  const fbclid = idValue(query.get('fbclid') ?? undefined, 450);
  if (fbclid !== undefined) ids.fbc = `fb.1.${Math.trunc(clickMs)}.${fbclid}`;
  for (const { param, key } of CLICK_ID_PARAMS) {
    const v = idValue(query.get(param) ?? undefined);
    if (v !== undefined) ids[key] = v;
  }
  return ids;
}

/** Left wins: fills keys of `into` that are missing. */
export function mergeIdentifiers(...sources: Identifiers[]): Identifiers {
  const out: Identifiers = {};
  for (const s of sources) {
    for (const [k, v] of Object.entries(s) as [keyof Identifiers, string | undefined][]) {
      if (v !== undefined && v !== '' && out[k] === undefined) out[k] = v;
    }
  }
  return out;
}

/**
 * The page's consent choice copied into the order (`_tk_consent`: `denied`/`granted`), else
 * the configured default.
 */
export function consentFrom(attrs: Record<string, string>, fallback: Consent): Consent {
  const v = (attrs['_tk_consent'] ?? attrs['tk_consent'])?.toLowerCase();
  if (v === undefined) return fallback;
  if (['denied', 'false', '0', 'no'].includes(v)) return { ...fallback, marketing: false };
  if (['granted', 'true', '1', 'yes'].includes(v)) return { ...fallback, marketing: true };
  return fallback;
}

// ─── money units ─────────────────────────────────────────────────────────────────────────

/**
 * Stripe amounts are in the currency's minor unit as *Stripe* defines it
 * (docs.stripe.com/currencies, "zero-decimal" and "three-decimal" lists and "special
 * cases"): these are whole units; ISK and UGX, though zero-decimal, are sent as two-decimal
 * values for backwards compatibility, so they are not listed here.
 */
const ZERO_DECIMAL = new Set(['BIF', 'CLP', 'DJF', 'GNF', 'JPY', 'KMF', 'KRW', 'MGA', 'PYG', 'RWF', 'VND', 'VUV', 'XAF', 'XOF', 'XPF']);
const THREE_DECIMAL = new Set(['BHD', 'JOD', 'KWD', 'OMR', 'TND']);

export function minorToMajor(amount: number, currency: string): number {
  const c = currency.toUpperCase();
  if (ZERO_DECIMAL.has(c)) return amount;
  if (THREE_DECIMAL.has(c)) return roundMoney(amount / 1000);
  return roundMoney(amount / 100);
}

// ─── the builder ─────────────────────────────────────────────────────────────────────────

export interface WebhookEventInput {
  site: SiteConfig;
  platform: WebhookPlatformName;
  /** Purchase, Refund, Chargeback. */
  name: string;
  /** What the event_id derives from: the order id for a Purchase, the refund/dispute id otherwise. */
  idFrom: string | number;
  orderId: string | number;
  /** Unix seconds the platform says it happened; capped at now. */
  time?: number;
  /** Unix ms. */
  now: number;
  value?: number;
  currency?: string;
  contents?: Content[];
  user: RawUserData;
  ids?: Identifiers;
  ip?: string;
  userAgent?: string;
  url?: string;
  referrer?: string;
  consent: Consent;
  status?: string;
  extra?: Record<string, string | number | boolean>;
}

export type BuildResult = { event: CanonicalEvent; errors?: undefined } | { event?: undefined; errors: FieldProblem[] };

/** A content line from loose values, or undefined without a usable id. */
export function content(input: { id: unknown; quantity?: unknown; price?: unknown; title?: unknown; brand?: unknown }): Content | undefined {
  const id = text(input.id);
  if (id === undefined || id.length > 200) return undefined;
  const c: Content = { id };
  const q = typeof input.quantity === 'string' ? Number(input.quantity) : input.quantity;
  if (typeof q === 'number' && Number.isInteger(q) && q > 0) c.quantity = q;
  const price = parseMoney(input.price);
  if (price !== undefined) c.item_price = price;
  const title = text(input.title);
  if (title !== undefined) c.title = title.slice(0, 500);
  const brand = text(input.brand);
  if (brand !== undefined) c.brand = brand.slice(0, 200);
  return c;
}

/**
 * The canonical event for one order fact. Personal data is hashed here (and only here for
 * webhooks); without marketing consent nothing identifying is kept, as on the browser path.
 */
export function buildWebhookEvent(input: WebhookEventInput): BuildResult {
  const marketing = input.consent.marketing;
  const nowSec = Math.floor(input.now / 1000);
  const time = input.time !== undefined && input.time > 0 ? Math.min(input.time, nowSec) : nowSec;
  const custom: CanonicalEvent['custom'] = { order_id: String(input.orderId).slice(0, 200) };
  if (input.value !== undefined) custom.value = roundMoney(input.value);
  if (input.currency !== undefined) custom.currency = input.currency.trim().toUpperCase();
  if (input.contents?.length) {
    custom.contents = input.contents;
    custom.content_ids = input.contents.map((c) => c.id);
    custom.content_type = 'product';
    custom.num_items = input.contents.reduce((n, c) => n + (c.quantity ?? 1), 0);
  }
  if (input.status !== undefined) custom.status = input.status.slice(0, 200);
  if (input.extra && Object.keys(input.extra).length) custom.extra = input.extra;

  const ip = normalizeIp(input.ip);
  const ua = text(input.userAgent);
  const event: CanonicalEvent = {
    event_id: orderEventId(input.site.id, input.name, input.idFrom),
    event_name: input.name,
    event_time: time,
    site_id: input.site.id,
    source: `webhook:${input.platform}`,
    ...(input.url ? { url: input.url } : {}),
    ...(input.referrer ? { referrer: input.referrer } : {}),
    ...(marketing && ip ? { ip } : {}),
    ...(ua && ua.length <= 1000 ? { user_agent: ua } : {}),
    user: marketing ? hashUserData(input.user, { defaultCountry: input.site.defaultCountry }) : {},
    ids: marketing ? (input.ids ?? {}) : {},
    custom,
    consent: input.consent,
  };
  const checked = CanonicalEventSchema.safeParse(event);
  if (!checked.success) {
    return { errors: checked.error.issues.map((i) => ({ field: i.path.join('.'), message: i.message })) };
  }
  return { event: checked.data };
}

/** Collects the results of several builds: all events, or all problems. */
export function collect(results: BuildResult[]): { events: CanonicalEvent[]; errors?: FieldProblem[] } {
  const errors = results.flatMap((r) => r.errors ?? []);
  if (errors.length) return { events: [], errors };
  return { events: results.map((r) => r.event!) };
}
