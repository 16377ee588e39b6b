// A server event (POST /v1/events body) → the canonical event, mirroring what
// pipeline/browser-event.ts does for t.js. Every invalid field is named; personal data is
// hashed here, before anything is stored; identifiers come from the request, then from
// forwarded cookie values, then from the visitor's latest browser signals (session linking),
// never overriding what the request itself said.
import { randomUUID } from 'node:crypto';
import type { z } from 'zod';
import type { SiteConfig } from '../config/schema.js';
import { CanonicalEventSchema, type CanonicalEvent, type Identifiers } from '../event/schema.js';
import { orderEventId } from '../event/order-event-id.js';
import { isPublicIp, normalizeIp } from '../http/client-ip.js';
import { readIdentifiersFromCookies } from '../http/first-party-cookies.js';
import { splitProps } from '../pipeline/event-props.js';
import { hashUserData, HASHED_USER_INPUT_KEYS, RAW_USER_KEYS, type RawUserData } from '../pipeline/hash-user-data.js';
import type { Store } from '../store/types.js';
import {
  API_LIMITS,
  COOKIE_MIRROR_FIELDS,
  GA4_SESSION_COOKIE_RE,
  ServerEventSchema,
  type FieldError,
  type ParsedServerEvent,
} from './schemas.js';

/** Events bound to an order: without an event_id they get the id the browser derives. */
const ORDER_BOUND = new Set(['Purchase', 'Refund']);

const CUSTOM_KEYS = [
  'value',
  'currency',
  'order_id',
  'contents',
  'content_ids',
  'content_type',
  'content_name',
  'content_category',
  'num_items',
  'search_string',
  'status',
  'predicted_ltv',
] as const satisfies readonly (keyof ParsedServerEvent)[];

const HASHABLE_USER_KEYS: readonly string[] = [...RAW_USER_KEYS, ...HASHED_USER_INPUT_KEYS];

/** Identifier keys a request's `user` may carry (fbp, fbc, click ids…), as in the canonical ids. */
const USER_ID_KEYS = [
  'fbp',
  'fbc',
  'ttp',
  'ttclid',
  'gclid',
  'ga_client_id',
  'ga_session_id',
  'epik',
  'sccid',
  'scid',
  'rdt_cid',
  'rdt_uuid',
  'msclkid',
  'li_fat_id',
] as const satisfies readonly (keyof Identifiers)[];

export interface ServerEventContext {
  site: SiteConfig;
  /** Collector clock, unix ms. */
  now: number;
  /** Where session linking reads a visitor's latest browser signals. */
  store?: Pick<Store, 'getVisitorSignals'>;
  /** A failed signals lookup never fails the event; it is reported here. */
  onSignalsError?: (err: unknown) => void;
}

export interface ConvertedServerEvent {
  event: CanonicalEvent;
  /** The site as ingest should see it: only the destinations the request chose. */
  site: SiteConfig;
  /** Dropped inputs (an email that is not one, a private IP…); the event is still valid. */
  warnings: FieldError[];
  /** Whether the visitor's stored browser signals filled anything in. */
  visitorLinked: boolean;
}

export type ServerEventResult = { ok: true; value: ConvertedServerEvent } | { ok: false; errors: FieldError[] };

/** zod issues → one error per invalid field, `unknown field` for each unexpected key. */
export function fieldErrors(issues: z.core.$ZodIssue[], prefix = ''): FieldError[] {
  const out: FieldError[] = [];
  for (const issue of issues) {
    const at = issue.path.map(String);
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) out.push({ field: prefix + [...at, key].join('.'), message: 'unknown field' });
    } else {
      out.push({ field: prefix + (at.join('.') || '(root)'), message: issue.message });
    }
  }
  return out;
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** event_time as unix seconds, or undefined when it is not a valid value (the schema names it). */
function eventTimeSeconds(raw: unknown): number | undefined {
  if (typeof raw === 'number' && Number.isInteger(raw) && raw > 0 && raw < 1e11) return raw;
  if (typeof raw === 'string') {
    const ms = Date.parse(raw);
    return Number.isNaN(ms) ? undefined : Math.floor(ms / 1000);
  }
  return undefined;
}

/** Checks that need the site and the clock, on whatever parts of the body are well typed. */
function contextErrors(body: Record<string, unknown>, ctx: ServerEventContext): FieldError[] {
  const errors: FieldError[] = [];
  const t = eventTimeSeconds(body['event_time']);
  const nowSec = Math.floor(ctx.now / 1000);
  if (t !== undefined && t < nowSec - API_LIMITS.maxEventAgeSec) {
    errors.push({
      field: 'event_time',
      message: `is more than 7 days old (${new Date(t * 1000).toISOString()}); ad platforms refuse such events`,
    });
  } else if (t !== undefined && t > nowSec + API_LIMITS.maxClockSkewSec) {
    errors.push({ field: 'event_time', message: `is in the future (${new Date(t * 1000).toISOString()})` });
  }
  const wanted = body['destinations'];
  if (Array.isArray(wanted)) {
    const configured = ctx.site.destinations.map((d) => d.id);
    wanted.forEach((id, i) => {
      if (typeof id !== 'string') return;
      const dest = ctx.site.destinations.find((d) => d.id === id);
      if (!dest) {
        errors.push({
          field: `destinations.${i}`,
          message: `unknown destination "${id}" (site "${ctx.site.id}" has: ${configured.join(', ') || 'none'})`,
        });
      } else if (!dest.enabled) {
        errors.push({ field: `destinations.${i}`, message: `destination "${id}" is disabled` });
      }
    });
  }
  return errors;
}

/** Cleartext user fields that normalization dropped (an email that is not one, …). */
function droppedUserFields(user: Record<string, unknown>, defaultCountry: string | undefined): FieldError[] {
  const warnings: FieldError[] = [];
  const country = user['country'];
  const base = Object.keys(hashUserData(country === undefined ? {} : { country }, { defaultCountry })).length;
  for (const key of RAW_USER_KEYS) {
    const value = user[key];
    if (value === undefined || value === '') continue;
    const alone: RawUserData = key === 'country' ? { country: value } : { country, [key]: value };
    const count = Object.keys(hashUserData(alone, { defaultCountry })).length;
    if (count <= (key === 'country' ? 0 : base)) {
      warnings.push({ field: `user.${key}`, message: 'could not be normalized; ignored' });
    }
  }
  return warnings;
}

const present = (v: string | undefined): v is string => v !== undefined && v.trim() !== '';

export async function serverEventToCanonical(body: unknown, ctx: ServerEventContext): Promise<ServerEventResult> {
  if (!isPlainObject(body)) return { ok: false, errors: [{ field: '(root)', message: 'must be a JSON object' }] };

  // `_ga_<container>` cookie values have open-ended names: take them out before the schema.
  const gaCookies: Record<string, string> = {};
  const rest: Record<string, unknown> = {};
  const errors: FieldError[] = [];
  for (const [key, value] of Object.entries(body)) {
    if (!GA4_SESSION_COOKIE_RE.test(key)) rest[key] = value;
    else if (typeof value === 'string' && value.length <= 1000) gaCookies[key] = value;
    else errors.push({ field: key, message: 'must be a string (max 1000)' });
  }

  const parsed = ServerEventSchema.safeParse(rest);
  if (!parsed.success) errors.push(...fieldErrors(parsed.error.issues));
  errors.push(...contextErrors(rest, ctx));
  if (!parsed.success || errors.length) return { ok: false, errors: dedupe(errors) };
  const data = parsed.data;
  const site = ctx.site;

  // Custom data and hashed user data, coerced exactly like the browser path's props.
  const user: Record<string, unknown> = data.user ?? {};
  const flat: Record<string, unknown> = {};
  for (const key of CUSTOM_KEYS) if (data[key] !== undefined) flat[key] = data[key];
  for (const key of HASHABLE_USER_KEYS) if (user[key] !== undefined) flat[key] = user[key];
  const split = splitProps(flat, { defaultCountry: site.defaultCountry });
  if (split.errors.length) return { ok: false, errors: split.errors };
  const custom = { ...split.custom, ...(data.properties && Object.keys(data.properties).length ? { extra: data.properties } : {}) };

  const consent = data.consent ?? { ...site.consentDefault };
  const marketing = consent.marketing;
  const eventTime = eventTimeSeconds(data.event_time) ?? Math.floor(ctx.now / 1000);
  const warnings: FieldError[] = marketing ? droppedUserFields(user, site.defaultCountry) : [];

  // Identifiers: forwarded cookies, then what the request states explicitly.
  const cookies: Record<string, string> = { ...gaCookies };
  for (const key of COOKIE_MIRROR_FIELDS) {
    const value = data[key];
    if (value !== undefined) cookies[key] = value;
  }
  const ids: Identifiers = readIdentifiersFromCookies(cookies, data.url, { now: eventTime * 1000 });
  for (const key of USER_ID_KEYS) {
    const value = data.user?.[key];
    if (present(value)) ids[key] = value.trim();
  }
  if (present(data.visitor_id)) ids.visitor_id = data.visitor_id.trim();
  if (present(data.session_id)) ids.session_id = data.session_id.trim();

  let ip: string | undefined;
  if (data.user?.ip !== undefined) {
    if (isPublicIp(data.user.ip)) ip = normalizeIp(data.user.ip);
    else warnings.push({ field: 'user.ip', message: 'is not a public address; ignored' });
  }
  let userAgent = present(data.user?.user_agent) ? data.user.user_agent.trim() : undefined;
  let url = data.url;

  // Session linking: fill gaps from the visitor's latest browser signals.
  let visitorLinked = false;
  if (marketing && ids.visitor_id && ctx.store) {
    let signals = null;
    try {
      signals = await ctx.store.getVisitorSignals(site.id, ids.visitor_id);
    } catch (err) {
      ctx.onSignalsError?.(err);
    }
    if (signals) {
      for (const [key, value] of Object.entries(signals.ids) as [keyof Identifiers, string | undefined][]) {
        if (key === 'visitor_id' || !present(value) || ids[key] !== undefined) continue;
        ids[key] = value;
        visitorLinked = true;
      }
      if (ip === undefined && present(signals.ip) && isPublicIp(signals.ip)) {
        ip = normalizeIp(signals.ip);
        visitorLinked = true;
      }
      if (userAgent === undefined && present(signals.user_agent) && signals.user_agent.length <= 1000) {
        userAgent = signals.user_agent;
        visitorLinked = true;
      }
      if (url === undefined && present(signals.url) && signals.url.length <= 4096) {
        url = signals.url;
        visitorLinked = true;
      }
    }
  }

  const orderId = split.custom.order_id;
  const eventId =
    data.event_id ?? (orderId !== undefined && ORDER_BOUND.has(data.event) ? orderEventId(site.id, data.event, orderId) : randomUUID());

  const event: CanonicalEvent = {
    event_id: eventId,
    event_name: data.event,
    event_time: eventTime,
    site_id: site.id,
    source: 'api',
    ...(url !== undefined ? { url } : {}),
    ...(data.referrer !== undefined ? { referrer: data.referrer } : {}),
    // Without marketing consent nothing identifying is kept for ad platforms.
    ...(marketing && ip !== undefined ? { ip } : {}),
    ...(userAgent !== undefined ? { user_agent: userAgent } : {}),
    user: marketing ? split.user : {},
    ids: marketing ? ids : {},
    custom,
    consent,
  };
  const checked = CanonicalEventSchema.safeParse(event);
  if (!checked.success) return { ok: false, errors: fieldErrors(checked.error.issues) };

  const chosen = data.destinations ? new Set(data.destinations) : undefined;
  const ingestSite = chosen ? { ...site, destinations: site.destinations.filter((d) => chosen.has(d.id)) } : site;
  return { ok: true, value: { event: checked.data, site: ingestSite, warnings, visitorLinked: marketing && visitorLinked } };
}

function dedupe(errors: FieldError[]): FieldError[] {
  const seen = new Set<string>();
  return errors.filter((e) => {
    const key = `${e.field}\u0000${e.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
