// Generic webhook: POSTs canonical events, as JSON, to a URL the merchant runs (a CRM, a
// data warehouse loader, their own backend). Signed exactly like Trakvo's outbound
// notifications (notify/signature.ts), so one verifier serves both.
//
// Wire format (decided here, documented in the README):
// - `batchSize` 1 (the default): one request per event, the body is the canonical event
//   object itself.
// - `batchSize` > 1: up to that many events per request, the body is a JSON array of
//   canonical events, in order.
// Headers: `Content-Type: application/json`, `X-Trakvo-Signature` (t=…,v1=… over the raw
// body), `X-Trakvo-Delivery-Id` and `Idempotency-Key` (same value): the event id for a
// single event; for an array, `batch_` + the first 32 hex of SHA-256 over the event ids
// joined by "\n" (the same batch retried gets the same key). A receiver should still
// deduplicate on each event's `event_id`: the dispatcher splits a rejected batch to isolate
// a bad event, and the halves get new batch keys.
//
// Every event is sent, with or without marketing consent: this is the merchant's own
// system, and the event carries `consent` so the receiver can decide.
import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { CanonicalEvent } from '../event/schema.js';
import { signPayload, SIGNATURE_HEADER } from '../notify/signature.js';
import { header, isAuthStatus, isSuccess, outcomeOfStatus, retryAfterMs, statusReason } from './support/http-response.js';
import type { Destination, DestinationRequest, DestinationResponse, MapResult, Outcome } from './types.js';

export const WebhookConfigSchema = z.object({
  type: z.literal('webhook'),
  /** Where events are POSTed. */
  url: z.url({ protocol: /^https?$/ }),
  /** Shared HMAC secret for `X-Trakvo-Signature`; at least 16 characters. */
  secret: z.string().min(16, 'use at least 16 characters (e.g. `openssl rand -hex 32`)'),
  /** Events per request: 1 sends the event object, more sends a JSON array. */
  batchSize: z.number().int().min(1).max(100).default(1),
});
export type WebhookConfig = z.infer<typeof WebhookConfigSchema>;

const MAX_BATCH = 100;
/** No platform limit here; a receiver down for a month is a decision for the operator. */
const MAX_EVENT_AGE_SEC = 30 * 24 * 60 * 60;

export const DELIVERY_ID_HEADER = 'X-Trakvo-Delivery-Id';

function deliveryId(events: CanonicalEvent[], batch: boolean): string {
  if (!batch) return events[0]!.event_id;
  const digest = createHash('sha256').update(events.map((e) => e.event_id).join('\n'), 'utf8').digest('hex');
  return `batch_${digest.slice(0, 32)}`;
}

function request(events: CanonicalEvent[], config: WebhookConfig, t: number): DestinationRequest {
  const batch = config.batchSize > 1;
  const body = JSON.stringify(batch ? events : events[0]);
  const id = deliveryId(events, batch);
  return {
    method: 'POST',
    url: config.url,
    headers: {
      'content-type': 'application/json',
      [SIGNATURE_HEADER.toLowerCase()]: signPayload(config.secret, body, t),
      [DELIVERY_ID_HEADER.toLowerCase()]: id,
      'idempotency-key': id,
    },
    body,
    eventIds: events.map((e) => e.event_id),
  };
}

function map(events: CanonicalEvent[], config: WebhookConfig, now: Date): MapResult {
  const t = Math.floor(now.getTime() / 1000);
  const requests: DestinationRequest[] = [];
  for (let i = 0; i < events.length; i += config.batchSize) {
    requests.push(request(events.slice(i, i + config.batchSize), config, t));
  }
  return { requests, skipped: [] };
}

// ──────────────────────────────────── classification ────────────────────────────────────

function classify(response: DestinationResponse): Outcome {
  const { status } = response;
  const reason = statusReason(status, response.body, 'webhook');
  if (isSuccess(status)) return { kind: 'delivered' };
  if (isAuthStatus(status)) return { kind: 'auth', reason: `${reason} (check the shared secret and the receiver's verification)` };
  if (status >= 300 && status < 400) {
    // Redirects are not followed (a signed POST must not wander). Kept and retried, so the
    // events survive until the operator fixes the URL.
    const location = header(response.headers, 'location');
    return { kind: 'retry', reason: `webhook HTTP ${status} redirect${location ? ` to ${location}` : ''} not followed; fix the configured url` };
  }
  return outcomeOfStatus(status, reason, retryAfterMs(response.headers));
}

export const webhookDestination: Destination<WebhookConfig> = {
  type: 'webhook',
  maxBatch: MAX_BATCH,
  maxEventAgeSec: MAX_EVENT_AGE_SEC,
  configSchema: WebhookConfigSchema,
  map,
  classify,
};
