// LinkedIn Conversions API: how a canonical event becomes a conversion event streamed to a
// conversion rule, and what LinkedIn's answer means. Every LinkedIn field name, header,
// limit and error rule lives here. Sources: shared/reference/destinations.md §5.4; LinkedIn
// Marketing API docs "Conversions API" (learn.microsoft.com/linkedin/marketing/integrations/
// ads-reporting/conversions-api) and its Postman collection ("Stream multiple conversion
// events": `X-RestLi-Method: BATCH_CREATE`, answer `{"elements":[{"status":201},…]}`).
//
// LinkedIn has no event names: each conversion rule (URN) is one conversion type. The
// config maps canonical event names to rules; an event with no rule is skipped. LinkedIn
// documents no test mode (use a separate conversion rule for testing).
import { z } from 'zod';
import type { CanonicalEvent } from '../event/schema.js';
import { mapSendable, postJson } from './support/batches.js';
import { outsideWindow, sentTime, unixSeconds, type EventWindow } from './support/event-window.js';
import { isObject, isSuccess, isTransientStatus, outcomeOfStatus, parseJson, retry, retryAfterMs, snippet, statusReason } from './support/http-response.js';
import { present, withoutTrailingSlash, ownValue } from './support/values.js';
import type { Destination, DestinationRequest, DestinationResponse, MapResult, Outcome } from './types.js';

const URN_PREFIX = 'urn:lla:llaPartnerConversion:';

/** A conversion rule: its URN, or just its numeric id (made into the URN). */
const ConversionRuleSchema = z
  .string()
  .regex(/^(urn:lla:llaPartnerConversion:)?\d+$/, 'must be a conversion rule URN (urn:lla:llaPartnerConversion:123) or its id')
  .transform((s) => (s.startsWith(URN_PREFIX) ? s : `${URN_PREFIX}${s}`));

export const LinkedinConfigSchema = z.object({
  type: z.literal('linkedin'),
  /** 3-legged OAuth access token with `rw_conversions` (tokens expire: refresh before 60 days). */
  accessToken: z.string().min(1),
  /** Marketing API version, YYYYMM; each is supported for about a year. */
  apiVersion: z.string().regex(/^\d{6}$/, 'must look like 202603').default('202603'),
  /** Where the REST API lives (without `/rest`); point it at a local mock in tests. */
  baseUrl: z.url({ protocol: /^https?$/ }).default('https://api.linkedin.com'),
  /** Canonical event name → conversion rule (created with conversion method "Conversions API"). */
  conversions: z
    .record(z.string().min(1), ConversionRuleSchema)
    .refine((m) => Object.keys(m).length > 0, 'map at least one event name to a conversion rule, e.g. { "Purchase": "123456" }'),
});
export type LinkedinConfig = z.infer<typeof LinkedinConfigSchema>;

/** LinkedIn: up to 5,000 conversion events per BATCH_CREATE ⚠ (third-party figure, not in the docs). */
const MAX_BATCH = 5000;
/** LinkedIn: events older than 90 days are rejected. */
const MAX_EVENT_AGE_SEC = 90 * 24 * 60 * 60;
/** Skipped an hour before that limit; up to 5 minutes ahead is clock skew, sent as now. */
const EVENT_WINDOW: EventWindow = {
  maxAgeSec: MAX_EVENT_AGE_SEC,
  safetySec: 60 * 60,
  tooOld: 'LinkedIn accepts events up to 90 days old',
  future: 'LinkedIn rejects future events',
};

// ─────────────────────────────────────── mapping ───────────────────────────────────────

/** Amount as LinkedIn wants it: a decimal string ("129.9"), never exponent notation. */
function amount(value: number): string {
  const s = String(value);
  return /e/i.test(s) ? value.toFixed(2) : s;
}

function userIds(event: CanonicalEvent): { idType: string; idValue: string }[] {
  const ids: { idType: string; idValue: string }[] = [];
  // SHA256_EMAIL: SHA-256 of the trimmed, lowercased address, exactly our `em`.
  if (present(event.user.em)) ids.push({ idType: 'SHA256_EMAIL', idValue: event.user.em });
  // The `li_fat_id` click parameter / first-party cookie, sent raw.
  if (present(event.ids.li_fat_id)) ids.push({ idType: 'LINKEDIN_FIRST_PARTY_ADS_TRACKING_UUID', idValue: event.ids.li_fat_id });
  return ids;
}

function whyNotSendable(event: CanonicalEvent, config: LinkedinConfig, nowSec: number): string | undefined {
  if (!event.consent.marketing) return 'no marketing consent';
  if (ownValue(config.conversions, event.event_name) === undefined) {
    return `no LinkedIn conversion rule for "${event.event_name}" (config.conversions)`;
  }
  const outside = outsideWindow(event, nowSec, EVENT_WINDOW);
  if (outside !== undefined) return outside;
  // userInfo (names, company) would need cleartext, which Trakvo never keeps.
  if (userIds(event).length === 0) return 'no hashed email or li_fat_id; LinkedIn needs at least one user id';
  return undefined;
}

function conversionEvent(event: CanonicalEvent, config: LinkedinConfig, nowSec: number): Record<string, unknown> {
  const out: Record<string, unknown> = {
    conversion: ownValue(config.conversions, event.event_name),
    // Epoch milliseconds.
    conversionHappenedAt: sentTime(event, nowSec) * 1000,
  };
  const { value, currency } = event.custom;
  if (value !== undefined && currency !== undefined) out.conversionValue = { currencyCode: currency, amount: amount(value) };
  // Deduplicated against the Insight Tag's `event_id` on the same conversion rule.
  out.eventId = event.event_id;
  out.user = { userIds: userIds(event) };
  return out;
}

function batchRequest(events: CanonicalEvent[], config: LinkedinConfig, nowSec: number): DestinationRequest {
  const body = { elements: events.map((e) => conversionEvent(e, config, nowSec)) };
  return postJson(`${withoutTrailingSlash(config.baseUrl)}/rest/conversionEvents`, body, events.map((e) => e.event_id), {
    authorization: `Bearer ${config.accessToken}`,
    'linkedin-version': config.apiVersion,
    'x-restli-protocol-version': '2.0.0',
    // Always the batch method, even for one event: one request and one answer shape.
    'x-restli-method': 'BATCH_CREATE',
  });
}

function map(events: CanonicalEvent[], config: LinkedinConfig, now: Date): MapResult {
  const nowSec = unixSeconds(now);
  return mapSendable(events, MAX_BATCH, (e) => whyNotSendable(e, config, nowSec), (batch) => batchRequest(batch, config, nowSec));
}

// ──────────────────────────────────── classification ────────────────────────────────────
// LinkedIn answers a BATCH_CREATE with 200 and one status per element, in order
// (`{"elements":[{"status":201},{"status":400,"error":{…}}]}`), and whole-request errors as
// `{"status":401,"serviceErrorCode":65600,"code":"INVALID_ACCESS_TOKEN","message":"…"}`:
//   401 invalid/expired/revoked token → auth · 403 no rights on the account or rule → auth
//   426 LinkedIn-Version not active (sunset) → auth (an operator must change the config)
//   429 throttled (per app and per member, per day) → retry · 5xx → retry
//   400/404/422 invalid request, unknown rule → dead

function describeError(status: number, err: Record<string, unknown>): string {
  const parts = [`LinkedIn HTTP ${status}`];
  if (typeof err.code === 'string') parts.push(err.code);
  if (typeof err.serviceErrorCode === 'number') parts.push(`serviceErrorCode ${err.serviceErrorCode}`);
  if (typeof err.message === 'string') parts.push(err.message);
  return parts.join(' — ').slice(0, 2000);
}

function classify(response: DestinationResponse): Outcome {
  const { status } = response;
  const json = parseJson(response.body);
  const afterMs = retryAfterMs(response.headers);

  if (isSuccess(status)) {
    const elements = isObject(json) && Array.isArray(json.elements) ? json.elements : undefined;
    if (!elements) {
      // A single create answers 201 with no body; anything else is not LinkedIn (a proxy?).
      // Sending again is safe: LinkedIn deduplicates on eventId.
      return response.body.trim() === '' ? { kind: 'delivered' } : retry(`HTTP ${status} without elements: ${snippet(response.body)}`, afterMs);
    }
    const failures: string[] = [];
    let permanent = false;
    elements.forEach((el, i) => {
      const s = isObject(el) && typeof el.status === 'number' ? el.status : undefined;
      if (s !== undefined && isSuccess(s)) return;
      if (s !== undefined && !isTransientStatus(s)) permanent = true;
      const err = isObject(el) && isObject(el.error) ? el.error : {};
      failures.push(`element ${i}: ${describeError(s ?? 0, err)}`);
    });
    if (failures.length === 0) return { kind: 'delivered' };
    const reason = `LinkedIn rejected ${failures.length} of ${elements.length} events — ${failures.slice(0, 5).join('; ')}`.slice(0, 2000);
    // One invalid event: dead, and the dispatcher splits the batch until each bad event
    // stands alone (the good ones sent again are deduplicated on eventId). Only transient
    // element errors: the whole request is tried again later.
    return permanent ? { kind: 'dead', reason } : retry(reason, afterMs);
  }

  const reason = isObject(json) ? describeError(status, json) : statusReason(status, response.body, 'LinkedIn');
  // 426: the configured LinkedIn-Version is not (or no longer) active. Like a bad token it
  // refuses every event until an operator changes the config: keep the events, pause.
  if (status === 426) return { kind: 'auth', reason };
  return outcomeOfStatus(status, reason, afterMs);
}

export const linkedinDestination: Destination<LinkedinConfig> = {
  type: 'linkedin',
  maxBatch: MAX_BATCH,
  maxEventAgeSec: MAX_EVENT_AGE_SEC,
  configSchema: LinkedinConfigSchema,
  map,
  classify,
};
