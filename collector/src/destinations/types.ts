// The destination contract: a destination is a pure mapping from canonical events to HTTP
// requests plus a classifier of the platform's answer. It never touches the store and
// never retries; the dispatcher does both.
import type { z } from 'zod';
import type { CanonicalEvent } from '../event/schema.js';

export interface DestinationRequest {
  method: 'POST' | 'GET';
  url: string;
  headers: Record<string, string>;
  body?: string;
  /** event_ids this request carries, in order; the dispatcher marks them from the outcome. */
  eventIds: string[];
}

export interface DestinationResponse {
  status: number;
  headers: Record<string, string | undefined>;
  body: string;
}

/** What a platform's answer means for the events of one request. */
export type Outcome =
  | { kind: 'delivered' }
  /** Transient: try again later, after `afterMs` when the platform said so. */
  | { kind: 'retry'; reason: string; afterMs?: number }
  /** Permanent for these events (invalid input): dead-letter with the platform's message. */
  | { kind: 'dead'; reason: string }
  /** Credentials rejected: keep the events, pause the destination, alert the operator. */
  | { kind: 'auth'; reason: string };

/** An event the mapping could not send, with why (for example too old for the platform). */
export interface Skipped {
  eventId: string;
  reason: string;
}

export interface MapResult {
  requests: DestinationRequest[];
  skipped: Skipped[];
}

export interface Destination<C extends { type: string } = { type: string }> {
  type: C['type'];
  /** Most events one request may carry. */
  maxBatch: number;
  /** Events older than this are never sent (the platform rejects them). */
  maxEventAgeSec: number;
  /** Config keys for one configured instance of this destination (besides `id`, `type`). */
  configSchema: z.ZodType<C>;
  map(events: CanonicalEvent[], config: C, now: Date): MapResult;
  classify(response: DestinationResponse): Outcome;
}
