// Engine-neutral pieces of the store: argument checks and the merge rules both SQLite and
// PostgreSQL apply, so the two engines cannot drift apart on semantics.
import type { CanonicalEvent } from '../event/schema.js';
import {
  MAX_ATTEMPT_RESPONSE_CHARS,
  type AttemptInfo,
  type AttemptOutcome,
  type DeliveryListItem,
  type DeliveryRecord,
  type DestinationSummary,
  type IdentityPatch,
  type VisitorSignalsInput,
} from './types.js';

/** Most rows one list query returns. */
export const MAX_LIST_LIMIT = 1000;

/** A list limit as a whole number in [0, MAX_LIST_LIMIT]. */
export function listLimit(limit: number): number {
  const n = Math.floor(limit);
  if (!(n > 0)) return 0;
  return Math.min(n, MAX_LIST_LIMIT);
}

export function listOffset(offset: number): number {
  const n = Math.floor(offset);
  return n > 0 ? n : 0;
}

export function bucketWidth(bucketMs: number): number {
  const n = Math.floor(bucketMs);
  if (!(n >= 1) || !Number.isSafeInteger(n)) throw new RangeError(`bucketMs must be a positive integer, got ${bucketMs}`);
  return n;
}

/** 1-based rank of the nearest-rank 95th percentile among n sorted values: ceil(0.95 n). */
export const P95_RANK_SQL = '((n * 95 + 99) / 100)';

/** The values an attempt-log row records for one mark call. */
export interface AttemptColumns {
  outcome: AttemptOutcome;
  http_status: number | null;
  error: string | null;
  response: string | null;
  duration_ms: number | null;
}

export function attemptColumns(kind: 'delivered' | 'retry' | 'dead', info: AttemptInfo): AttemptColumns {
  const duration = info.durationMs;
  return {
    outcome: info.outcome === 'auth' && kind !== 'delivered' ? 'auth' : kind,
    http_status: info.httpStatus,
    error: info.error ?? null,
    response: info.response === undefined ? null : info.response.slice(0, MAX_ATTEMPT_RESPONSE_CHARS),
    duration_ms: duration === undefined || !Number.isFinite(duration) ? null : Math.max(0, Math.round(duration)),
  };
}

/** The delivery columns both engines read (their `DELIVERY_COLUMNS`): a record keyed `id`. */
export interface DeliveryRow extends Omit<DeliveryRecord, 'delivery_id'> {
  id: number;
}

export function toDeliveryRecord(d: DeliveryRow): DeliveryRecord {
  return {
    delivery_id: d.id,
    destination: d.destination,
    status: d.status,
    attempts: d.attempts,
    next_attempt_at: d.next_attempt_at,
    last_status: d.last_status,
    last_error: d.last_error,
    delivered_at: d.delivered_at,
  };
}

/** A `listDeliveries` row: the delivery with its event's keys, name and times. */
export interface DeliveryListRow extends DeliveryRow {
  site_id: string;
  event_id: string;
  event_name: string;
  received_at: number;
  updated_at: number;
}

export function toDeliveryListItem(r: DeliveryListRow): DeliveryListItem {
  return {
    ...toDeliveryRecord(r),
    site_id: r.site_id,
    event_id: r.event_id,
    event_name: r.event_name,
    received_at: r.received_at,
    updated_at: r.updated_at,
  };
}

/** `destinationSummary`'s three queries, one row per (site, destination) each. */
export type DestinationCountsRow = Omit<DestinationSummary, 'avg_latency_ms' | 'p95_latency_ms' | 'last_error' | 'last_error_at'>;
export interface DestinationLatencyRow {
  site_id: string;
  destination: string;
  avg_ms: number;
  p95_ms: number;
}
export interface DestinationErrorRow {
  site_id: string;
  destination: string;
  error: string;
  at: number;
}

/** The counts of each (site, destination), with its latency and last error where it has them. */
export function joinDestinationSummary(
  counts: DestinationCountsRow[],
  latency: DestinationLatencyRow[],
  errors: DestinationErrorRow[],
): DestinationSummary[] {
  const key = (r: { site_id: string; destination: string }) => `${r.site_id}\u0000${r.destination}`;
  const lat = new Map(latency.map((r) => [key(r), r]));
  const err = new Map(errors.map((r) => [key(r), r]));
  return counts.map((c) => {
    const l = lat.get(key(c));
    const e = err.get(key(c));
    return {
      site_id: c.site_id,
      destination: c.destination,
      delivered: c.delivered,
      retrying: c.retrying,
      pending: c.pending,
      dead: c.dead,
      skipped: c.skipped,
      avg_latency_ms: l ? Math.round(l.avg_ms) : null,
      p95_latency_ms: l ? l.p95_ms : null,
      last_error: e ? e.error : null,
      last_error_at: e ? e.at : null,
    };
  });
}

const nonEmpty = (v: unknown): v is string => typeof v === 'string' && v !== '';

/** Visitor signals with empty values dropped; null when nothing is left to store. */
export function cleanSignals(s: VisitorSignalsInput): {
  ids: Record<string, string>;
  ip: string | null;
  user_agent: string | null;
  url: string | null;
} | null {
  const ids: Record<string, string> = {};
  for (const [k, v] of Object.entries(s.ids ?? {})) if (nonEmpty(v)) ids[k] = v;
  const ip = nonEmpty(s.ip) ? s.ip : null;
  const user_agent = nonEmpty(s.user_agent) ? s.user_agent : null;
  const url = nonEmpty(s.url) ? s.url : null;
  if (Object.keys(ids).length === 0 && ip === null && user_agent === null && url === null) return null;
  return { ids, ip, user_agent, url };
}

export interface IdentityMergeResult {
  changed: boolean;
  /** ip or user_agent was added: the event must be scrubbed again once delivered. */
  networkAdded: boolean;
  event: CanonicalEvent;
}

/**
 * Fills keys of `event` that are missing with the patch's non-empty values; never
 * overwrites. ip/user_agent only when `allowNetwork` (a delivery still pending and the event
 * never scrubbed), so a scrubbed event never gets them back.
 */
export function applyIdentityPatch(
  event: CanonicalEvent,
  patch: IdentityPatch,
  allowNetwork: boolean,
): IdentityMergeResult {
  const next: CanonicalEvent = { ...event, user: { ...event.user }, ids: { ...event.ids } };
  let changed = false;
  let networkAdded = false;
  const user = next.user as Record<string, string | undefined>;
  for (const [k, v] of Object.entries(patch.user ?? {})) {
    if (nonEmpty(v) && user[k] === undefined) {
      user[k] = v;
      changed = true;
    }
  }
  const ids = next.ids as Record<string, string | undefined>;
  for (const [k, v] of Object.entries(patch.ids ?? {})) {
    if (nonEmpty(v) && ids[k] === undefined) {
      ids[k] = v;
      changed = true;
    }
  }
  if (nonEmpty(patch.url) && next.url === undefined) {
    next.url = patch.url;
    changed = true;
  }
  if (allowNetwork) {
    if (nonEmpty(patch.ip) && next.ip === undefined) {
      next.ip = patch.ip;
      changed = networkAdded = true;
    }
    if (nonEmpty(patch.user_agent) && next.user_agent === undefined) {
      next.user_agent = patch.user_agent;
      changed = networkAdded = true;
    }
  }
  return { changed, networkAdded, event: next };
}
