// The generic half of a destination's `map`: sort events into skipped (with why) and sent,
// then cut the sent ones into requests of at most `maxBatch` events, in order.
import type { CanonicalEvent } from '../../event/schema.js';
import type { DestinationRequest, MapResult, Skipped } from '../types.js';

/** One event as `map` judged it: skipped with a reason, or sent as `send`. */
export type Verdict<T> = { skip: string } | { send: T };

/**
 * Each event is judged (skipped, or prepared as a `T`), and the prepared ones go out
 * `maxBatch` to a request; `request` gets them with their event ids, in order.
 */
export function mapPrepared<T>(
  events: CanonicalEvent[],
  maxBatch: number,
  judge: (event: CanonicalEvent) => Verdict<T>,
  request: (batch: T[], eventIds: string[]) => DestinationRequest,
): MapResult {
  const skipped: Skipped[] = [];
  const ready: { id: string; send: T }[] = [];
  for (const event of events) {
    const verdict = judge(event);
    if ('skip' in verdict) skipped.push({ eventId: event.event_id, reason: verdict.skip });
    else ready.push({ id: event.event_id, send: verdict.send });
  }
  const requests: DestinationRequest[] = [];
  for (let i = 0; i < ready.length; i += maxBatch) {
    const batch = ready.slice(i, i + maxBatch);
    requests.push(request(batch.map((r) => r.send), batch.map((r) => r.id)));
  }
  return { requests, skipped };
}

/** Events sent as they are unless `whyNotSendable` gives a reason, `maxBatch` to a request. */
export function mapSendable(
  events: CanonicalEvent[],
  maxBatch: number,
  whyNotSendable: (event: CanonicalEvent) => string | undefined,
  request: (batch: CanonicalEvent[]) => DestinationRequest,
): MapResult {
  return mapPrepared(
    events,
    maxBatch,
    (event) => {
      const reason = whyNotSendable(event);
      return reason === undefined ? { send: event } : { skip: reason };
    },
    request,
  );
}

/** A JSON POST (`content-type` first, then the platform's `headers`) carrying `eventIds`. */
export function postJson(url: string, body: unknown, eventIds: string[], headers: Record<string, string> = {}): DestinationRequest {
  return {
    method: 'POST',
    url,
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
    eventIds,
  };
}
