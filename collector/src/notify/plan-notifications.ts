// Which notifications a delivery outcome produces for a site's notify targets, and what
// they say. Pure: the notifier stores them in the outbox and sends them.
//
// Body of every notification (JSON, no personal data: ids, names, amounts, statuses):
//   { "id": "ntf_…", "type": "event.dead", "created_at": 1760000000, "site_id": "shop",
//     "data": { "destination": { "id": "meta0", "type": "meta" }, "event": {…}, … } }
// `id` equals the X-Trakvo-Idempotency-Id header: retries of one notification repeat it.
import { createHash } from 'node:crypto';
import type { CanonicalEvent } from '../event/schema.js';
import type { DeliveryOutcome } from '../metrics/delivery-observer.js';
import { matchQualityFor, MATCH_QUALITY_DISCLAIMER } from '../quality/match-quality.js';
import type { NewNotification } from '../store/types.js';
import type { NotifyKind, NotifySite, NotifyTarget } from './config.js';

/** At most one `destination.auth_failed` per destination and target in this window. */
export const AUTH_FAILED_WINDOW_MS = 60 * 60_000;

function idempotencyId(parts: (string | number)[]): string {
  return `ntf_${createHash('sha256').update(parts.join('\u0000'), 'utf8').digest('hex').slice(0, 32)}`;
}

function eventSummary(e: CanonicalEvent): Record<string, unknown> {
  const out: Record<string, unknown> = {
    event_id: e.event_id,
    event_name: e.event_name,
    event_time: e.event_time,
    source: e.source,
  };
  if (e.custom.order_id !== undefined) out.order_id = e.custom.order_id;
  if (e.custom.value !== undefined) out.value = e.custom.value;
  if (e.custom.currency !== undefined) out.currency = e.custom.currency;
  return out;
}

function notification(
  site_id: string,
  target: NotifyTarget,
  kind: NotifyKind,
  idParts: (string | number)[],
  now: number,
  data: Record<string, unknown>,
): NewNotification {
  const id = idempotencyId([site_id, target.url, kind, ...idParts]);
  const body = JSON.stringify({ id, type: kind, created_at: Math.floor(now / 1000), site_id, data });
  return { site_id, kind, url: target.url, body, idempotency_id: id };
}

export function planNotifications(o: DeliveryOutcome, site: NotifySite, now: number): NewNotification[] {
  const targets = site.notify ?? [];
  if (!targets.length || o.outcome === 'retry') return [];
  const destination = { id: o.destination, type: o.destinationType };
  const out: NewNotification[] = [];
  for (const target of targets) {
    const wants = (k: NotifyKind) => target.events.includes(k);
    if (o.outcome === 'delivered') {
      for (const e of o.events) {
        const quality = matchQualityFor(e, o.destinationType);
        if (wants('event.delivered')) {
          out.push(notification(site.id, target, 'event.delivered', [o.destination, e.event_id], now, {
            destination, event: eventSummary(e), http_status: o.httpStatus, match_quality: quality,
          }));
        }
        if (wants('match_quality.low') && quality.score < target.matchQualityBelow) {
          out.push(notification(site.id, target, 'match_quality.low', [o.destination, e.event_id], now, {
            destination, event: eventSummary(e), match_quality: quality, threshold: target.matchQualityBelow,
            note: MATCH_QUALITY_DISCLAIMER,
          }));
        }
      }
    } else if (o.outcome === 'dead' && wants('event.dead')) {
      // A replayed event that dies again is news again: the time is part of its id.
      for (const e of o.events) {
        out.push(notification(site.id, target, 'event.dead', [o.destination, e.event_id, now], now, {
          destination, event: eventSummary(e), http_status: o.httpStatus, error: o.error ?? null,
        }));
      }
    } else if (o.outcome === 'auth' && wants('destination.auth_failed')) {
      out.push(notification(site.id, target, 'destination.auth_failed', [o.destination, Math.floor(now / AUTH_FAILED_WINDOW_MS)], now, {
        destination, http_status: o.httpStatus, error: o.error ?? null, paused: true, events_waiting: o.events.length,
      }));
    }
  }
  return out;
}
