// Snapchat Conversions API v3: how a canonical event becomes a Snap conversion event, and what
// Snap's answer means. Every Snap field name, limit and error rule lives in this file and
// nowhere else. Reference: shared/reference/destinations.md §5.2. Where the reference has ⚠,
// this file follows Snap's official Business SDK v3 (github.com/Snapchat/business-sdk-v3-java,
// `api/openapi.yaml`: paths, `CapiEvent`, `UserData`, `CustomData`, `EventResponse`) and the
// examples in Snap's own docs (developers.snap.com › Conversions API).
import { z } from 'zod';
import type { CanonicalEvent, CustomData } from '../event/schema.js';
import { mapPrepared, postJson, type Verdict } from './support/batches.js';
import { sentTime, unixSeconds, whyNotAllowed, type EventWindow } from './support/event-window.js';
import { isObject, isSuccess, outcomeOfStatus, parseJson, retry, retryAfterMs, snippet, statusReason } from './support/http-response.js';
import { isHttpUrl, isIpAddress, ownValue, present, withoutTrailingSlash } from './support/values.js';
import type { Destination, DestinationRequest, DestinationResponse, MapResult, Outcome } from './types.js';

/** Snap's standard event names (what the Snap Pixel sends), plus its five custom slots. */
export const SNAP_EVENT_NAMES = [
  'PAGE_VIEW', 'VIEW_CONTENT', 'ADD_CART', 'ADD_TO_WISHLIST', 'START_CHECKOUT', 'ADD_BILLING', 'PURCHASE',
  'SIGN_UP', 'SEARCH', 'SUBSCRIBE', 'START_TRIAL', 'SAVE', 'LIST_VIEW', 'LOGIN', 'SHARE', 'INVITE', 'RESERVE',
  'RATE', 'COMPLETE_TUTORIAL', 'LEVEL_COMPLETE', 'ACHIEVEMENT_UNLOCKED', 'SPENT_CREDITS', 'AD_CLICK', 'AD_VIEW',
  'APP_INSTALL', 'APP_OPEN', 'CUSTOM_EVENT_1', 'CUSTOM_EVENT_2', 'CUSTOM_EVENT_3', 'CUSTOM_EVENT_4', 'CUSTOM_EVENT_5',
] as const;

export const SnapchatConfigSchema = z.object({
  type: z.literal('snapchat'),
  /** The Snap Pixel id (a UUID, from Events Manager). */
  pixelId: z.string().regex(/^[A-Za-z0-9-]{1,64}$/, 'must be the Snap Pixel id, e.g. 4a018335-717f-41dd-a66e-58eb2473aa61'),
  /** Conversions API token (Ads Manager › Business details › Conversions API tokens). */
  accessToken: z.string().min(1),
  /** Where the Conversions API lives; point it at a local mock in tests and staging. */
  baseUrl: z.url({ protocol: /^https?$/ }).default('https://tr.snapchat.com'),
  /**
   * Send to Snap's Test Event Tool (`/v3/{pixel}/events/validate`): validated, visible in
   * Events Manager's test view, and NOT recorded as conversions. For setting up only.
   */
  validate: z.boolean().default(false),
  /**
   * Canonical event name → Snap event name, over the built-in map. Lead, Contact, Refund and
   * custom events are only sent when listed here, e.g. `{"Lead": "SIGN_UP"}` or
   * `{"QuizCompleted": "CUSTOM_EVENT_1"}`.
   */
  eventNames: z.record(z.string().min(1), z.enum(SNAP_EVENT_NAMES)).optional(),
});
export type SnapchatConfig = z.infer<typeof SnapchatConfigSchema>;

/**
 * ⚠ Snap's docs we could read state no batch limit; a [3p] schema says 2,000. 1,000 is safe
 * either way (a lower limit only costs a few more requests).
 */
const MAX_BATCH = 1000;
/** Snap: events up to 37 days old are eligible (Conversions API introduction). */
const MAX_EVENT_AGE_SEC = 37 * 24 * 60 * 60;
/** Skipped 5 minutes before that limit; up to 5 minutes ahead is clock skew, sent as now. */
const EVENT_WINDOW: EventWindow = {
  maxAgeSec: MAX_EVENT_AGE_SEC,
  tooOld: 'Snap accepts events up to 37 days old',
  future: 'Snap rejects future events',
};

/** Meta-style standard names → Snap standard events (reference §5.6). */
const EVENT_NAMES = new Map<string, (typeof SNAP_EVENT_NAMES)[number]>([
  ['PageView', 'PAGE_VIEW'],
  ['ViewContent', 'VIEW_CONTENT'],
  ['Search', 'SEARCH'],
  ['AddToCart', 'ADD_CART'],
  ['AddToWishlist', 'ADD_TO_WISHLIST'],
  ['InitiateCheckout', 'START_CHECKOUT'],
  ['AddPaymentInfo', 'ADD_BILLING'],
  ['Purchase', 'PURCHASE'],
  ['CompleteRegistration', 'SIGN_UP'],
  ['Subscribe', 'SUBSCRIBE'],
  ['StartTrial', 'START_TRIAL'],
]);

/**
 * Hashed keys Snap's `UserData` takes, each as an array of hashes. Not external_id or date of
 * birth: the official schema has no place for them.
 */
const HASHED_USER_KEYS = ['em', 'ph', 'fn', 'ln', 'ge', 'ct', 'st', 'zp', 'country'] as const;

// ─────────────────────────────────────── mapping ───────────────────────────────────────

function eventNameFor(event: CanonicalEvent, config: SnapchatConfig): { name: string } | { skip: string } {
  const name = ownValue(config.eventNames, event.event_name) ?? EVENT_NAMES.get(event.event_name);
  if (name !== undefined) return { name };
  return {
    skip: `Snap has no standard event for "${event.event_name}"; map it in eventNames (e.g. to "CUSTOM_EVENT_1") to send it`,
  };
}

function userData(event: CanonicalEvent): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  // Hashed at ingest with Meta's normalization, which is Snap's: email trim + lowercase; phone
  // digits with country code, no `+`, no leading 00 or trunk 0 (`ph`, not `ph_e164`); names
  // lowercase without punctuation.
  for (const key of HASHED_USER_KEYS) {
    const v = event.user[key];
    if (present(v)) out[key] = [v];
  }
  if (isIpAddress(event.ip)) out.client_ip_address = event.ip;
  if (present(event.user_agent)) out.client_user_agent = event.user_agent;
  // Unhashed: the `ScCid` click id of the ad click, and the Snap Pixel's `_scid` cookie.
  if (present(event.ids.sccid)) out.sc_click_id = event.ids.sccid;
  if (present(event.ids.scid)) out.sc_cookie1 = event.ids.scid;
  return out;
}

/** Snap matches on em, ph, client_ip_address with client_user_agent, or a mobile ad id. */
function matchable(ud: Record<string, unknown>): boolean {
  return ud.em !== undefined || ud.ph !== undefined || (ud.client_ip_address !== undefined && ud.client_user_agent !== undefined);
}

function customData(custom: CustomData): Record<string, unknown> | undefined {
  const out: Record<string, unknown> = {};
  if (custom.currency !== undefined) out.currency = custom.currency;
  if (custom.value !== undefined) out.value = custom.value;
  if (custom.content_ids !== undefined) out.content_ids = custom.content_ids;
  if (custom.content_type !== undefined) out.content_type = custom.content_type;
  if (custom.content_category !== undefined) out.content_category = custom.content_category;
  if (custom.contents !== undefined) {
    // The official schema types a content's quantity and item_price as strings.
    out.contents = custom.contents.map((c) => {
      const item: Record<string, unknown> = { id: c.id };
      if (c.quantity !== undefined) item.quantity = String(c.quantity);
      if (c.item_price !== undefined) item.item_price = String(c.item_price);
      return item;
    });
  }
  if (custom.num_items !== undefined) out.num_items = custom.num_items;
  // ⚠ PURCHASE is also deduplicated on the order (30 days per [3p]): v2 called it
  // `transaction_id`; v3's official schema names it `order_id`.
  if (custom.order_id !== undefined) out.order_id = custom.order_id;
  if (custom.search_string !== undefined) out.search_string = custom.search_string;
  if (custom.status !== undefined) out.status = custom.status;
  // Merchant-defined properties: v3's `custom_fields` is a map of strings.
  const extra = Object.entries(custom.extra ?? {});
  if (extra.length > 0) out.custom_fields = Object.fromEntries(extra.map(([k, v]) => [k, String(v)]));
  return Object.keys(out).length > 0 ? out : undefined;
}

function conversionEvent(event: CanonicalEvent, name: string, ud: Record<string, unknown>, nowSec: number): Record<string, unknown> {
  const out: Record<string, unknown> = {
    event_name: name,
    // ⚠ Unix seconds, as in Snap's docs examples and the official SDK's examples.
    event_time: sentTime(event, nowSec),
    // Snap merges this with the pixel event whose `client_dedup_id` has the same value.
    event_id: event.event_id,
    // A web event needs the page it happened on. Without a page (a webhook that knows only the
    // order) it is Snap's OFFLINE source, as Meta's system_generated: it still counts, and the
    // PURCHASE order_id dedup still applies. Anything but an http(s) page URL is refused and
    // fails the whole request.
    action_source: isHttpUrl(event.url) ? 'WEB' : 'OFFLINE',
  };
  if (isHttpUrl(event.url)) out.event_source_url = event.url;
  out.user_data = ud;
  const cd = customData(event.custom);
  if (cd) out.custom_data = cd;
  return out;
}

/** The conversion event Snap is sent, or why it would reject it (and with it a batch). */
function judge(event: CanonicalEvent, config: SnapchatConfig, nowSec: number): Verdict<Record<string, unknown>> {
  const notAllowed = whyNotAllowed(event, nowSec, EVENT_WINDOW);
  if (notAllowed !== undefined) return { skip: notAllowed };
  const name = eventNameFor(event, config);
  if ('skip' in name) return name;
  const ud = userData(event);
  if (!matchable(ud)) return { skip: 'Snap requires a hashed email or phone, or IP address and user agent' };
  return { send: conversionEvent(event, name.name, ud, nowSec) };
}

function eventsRequest(events: Record<string, unknown>[], ids: string[], config: SnapchatConfig): DestinationRequest {
  const path = config.validate ? 'events/validate' : 'events';
  // The official API takes the token as the `access_token` query parameter. Keep request URLs
  // out of logs (the dispatcher logs reasons, never URLs).
  const token = encodeURIComponent(config.accessToken);
  const url = `${withoutTrailingSlash(config.baseUrl)}/v3/${encodeURIComponent(config.pixelId)}/${path}?access_token=${token}`;
  return postJson(url, { data: events }, ids);
}

function map(events: CanonicalEvent[], config: SnapchatConfig, now: Date): MapResult {
  const nowSec = unixSeconds(now);
  return mapPrepared(events, MAX_BATCH, (e) => judge(e, config, nowSec), (batch, ids) => eventsRequest(batch, ids, config));
}

// ──────────────────────────────────── classification ────────────────────────────────────
// Snap answers `{"status": "VALID" | "INVALID", "reason": …, "errors": {codes, error_msgs}}`
// (the Test Event Tool adds per-event `event_logs`). Older answers say "SUCCESS"/"FAILURE".

const OK_STATUSES = new Set(['VALID', 'SUCCESS']);

function errorTexts(errors: unknown): string[] {
  if (!isObject(errors)) return [];
  const codes = Array.isArray(errors.codes) ? errors.codes : [];
  const msgs = Array.isArray(errors.error_msgs) ? errors.error_msgs : [];
  const n = Math.max(codes.length, msgs.length);
  return Array.from({ length: n }, (_, i) => [codes[i], msgs[i]].filter((s) => typeof s === 'string').join(': '));
}

function describe(status: number, json: Record<string, unknown>): string {
  const parts = [`Snap ${String(json.status)} (HTTP ${status})`];
  if (typeof json.reason === 'string' && json.reason !== '') parts.push(json.reason);
  parts.push(...errorTexts(json.errors));
  if (Array.isArray(json.event_logs)) {
    for (const log of json.event_logs) {
      if (!isObject(log) || log.status === 'VALID') continue;
      const texts = errorTexts(log.errors);
      parts.push(`event ${String(log.event)}: ${texts.length > 0 ? texts.join(', ') : String(log.status)}`);
    }
  }
  return parts.join(' — ').slice(0, 2000);
}

function classify(response: DestinationResponse): Outcome {
  const { status } = response;
  const parsed = parseJson(response.body);
  const json = isObject(parsed) && typeof parsed.status === 'string' ? parsed : undefined;
  const afterMs = retryAfterMs(response.headers);

  if (isSuccess(status)) {
    if (json && OK_STATUSES.has(String(json.status))) return { kind: 'delivered' };
    // INVALID in a 200 (the Test Event Tool answers so): these events are wrong.
    if (json) return { kind: 'dead', reason: describe(status, json) };
    // Not Snap's answer (a proxy page?): the events may not have arrived. Sending again is
    // safe, Snap merges events with the same event_id.
    return retry(`HTTP ${status} without a Snap status: ${snippet(response.body)}`, afterMs);
  }
  const reason = json ? describe(status, json) : statusReason(status, response.body, 'Snap');
  return outcomeOfStatus(status, reason, afterMs);
}

export const snapchatDestination: Destination<SnapchatConfig> = {
  type: 'snapchat',
  maxBatch: MAX_BATCH,
  maxEventAgeSec: MAX_EVENT_AGE_SEC,
  configSchema: SnapchatConfigSchema,
  map,
  classify,
};
