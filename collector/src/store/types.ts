// The store is the outbox: events and their per-destination deliveries, committed together.
// SQLite (embedded default) and PostgreSQL implement this same interface and pass the same
// contract test suite (collector/test/store-contract.ts).
import type { CanonicalEvent, HashedUser, Identifiers } from '../event/schema.js';

export type DeliveryStatus = 'pending' | 'delivered' | 'dead' | 'skipped';

export interface NewEvent {
  event: CanonicalEvent;
  /** Configured destination ids that should receive it (one delivery row each). */
  destinations: string[];
  /** Destination ids recorded as skipped (for example no marketing consent), with why. */
  skipped?: { destination: string; reason: string }[];
  /**
   * The browser's latest signals for its visitor id, upserted in the same transaction as
   * the event (also when the event is a duplicate): no second commit per request.
   */
  visitor?: { visitor_id: string; signals: VisitorSignalsInput };
}

export interface InsertResult {
  site_id: string;
  event_id: string;
  /** false when (site_id, event_id) was already stored: the insert was ignored. */
  inserted: boolean;
}

export interface LeasedDelivery {
  delivery_id: number;
  destination: string;
  attempts: number;
  event: CanonicalEvent;
  /** Unix ms when the event was first received. */
  received_at: number;
  /**
   * Unix ms the retry window starts from: max(received_at, last requeue of this delivery).
   * A dead delivery replayed after fixing the config gets a fresh window.
   */
  retry_window_start: number;
}

export interface DeliveryRecord {
  delivery_id: number;
  destination: string;
  status: DeliveryStatus;
  attempts: number;
  next_attempt_at: number | null;
  last_status: number | null;
  last_error: string | null;
  delivered_at: number | null;
}

export interface StoredEvent {
  event: CanonicalEvent;
  received_at: number;
  deliveries: DeliveryRecord[];
}

export interface AttemptInfo {
  /** HTTP status of the platform's answer, null when no answer (timeout, network). */
  httpStatus: number | null;
  error?: string;
  /** How long the request took, ms. */
  durationMs?: number;
  /** The platform's answer body; the caller truncates it (2 kB), the store caps it too. */
  response?: string;
  /** 'auth' when the platform rejected the credentials: logged with outcome 'auth'. */
  outcome?: 'auth';
}

export type AttemptOutcome = 'delivered' | 'retry' | 'dead' | 'auth';

/** One row of the attempt log: one per delivery per markDelivered/markRetry/markDead that applied. */
export interface AttemptRecord {
  delivery_id: number;
  destination: string;
  at: number;
  outcome: AttemptOutcome;
  http_status: number | null;
  error: string | null;
  response: string | null;
  duration_ms: number | null;
}

/** Most characters of a platform answer the attempt log keeps. */
export const MAX_ATTEMPT_RESPONSE_CHARS = 2048;

// ── dashboard queries ──────────────────────────────────────────────────────────────────

/** Position after which the next page of listEvents starts (the last row of a page). */
export interface EventCursor {
  received_at: number;
  event_id: string;
  /** Breaks ties between sites reusing an event_id in the same millisecond; optional. */
  site_id?: string;
}

export interface ListEventsQuery {
  site_id?: string;
  /** Matches event_id exactly OR custom.order_id exactly. */
  search?: string;
  /** At most 1000. */
  limit: number;
  before?: EventCursor;
}

export interface EventListItem {
  site_id: string;
  event_id: string;
  event_name: string;
  source: string;
  event_time: number;
  received_at: number;
  order_id: string | null;
  deliveries: DeliveryRecord[];
}

export interface ListDeliveriesQuery {
  status: DeliveryStatus;
  site_id?: string;
  destination?: string;
  /** Case-insensitive substring of last_error. */
  errorContains?: string;
  /** At most 1000. */
  limit: number;
  offset: number;
}

export interface DeliveryListItem extends DeliveryRecord {
  site_id: string;
  event_id: string;
  event_name: string;
  received_at: number;
  updated_at: number;
}

export interface RequeueDeliveriesQuery {
  /** Only dead deliveries are ever requeued. */
  status: 'dead';
  /** Limits to these deliveries; an empty list requeues nothing. */
  deliveryIds?: number[];
  site_id?: string;
  destination?: string;
}

export interface SummaryQuery {
  since: number;
  site_id?: string;
}

export interface DestinationSummary {
  site_id: string;
  destination: string;
  /** Counts among deliveries updated at or after `since`. */
  delivered: number;
  /** Pending with at least one failed attempt. */
  retrying: number;
  /** Pending, never attempted yet. */
  pending: number;
  dead: number;
  skipped: number;
  /** delivered_at − received_at of deliveries delivered since `since`, ms; null when none. */
  avg_latency_ms: number | null;
  /** Nearest-rank 95th percentile of the same latencies. */
  p95_latency_ms: number | null;
  /** Latest error of a failed attempt (retry, dead, auth) since `since`. */
  last_error: string | null;
  last_error_at: number | null;
}

export interface TimelineQuery {
  since: number;
  /** Bucket width; buckets are aligned to multiples of it since the Unix epoch. */
  bucketMs: number;
  site_id?: string;
}

export interface DeliveryTimelinePoint {
  bucket_start: number;
  destination: string;
  /** delivered counted at delivered_at, dead at the time it died (updated_at). */
  status: 'delivered' | 'dead';
  count: number;
}

export interface EventTimelinePoint {
  bucket_start: number;
  count: number;
}

export interface QueueDepth {
  site_id: string;
  destination: string;
  pending: number;
}

// ── API tokens ─────────────────────────────────────────────────────────────────────────

export type ApiTokenEnv = 'production' | 'staging' | 'development';
export type ApiTokenScope = 'events' | 'pixel';

export interface ApiTokenRecord {
  id: string;
  site_id: string;
  env: ApiTokenEnv;
  name: string | null;
  scope: ApiTokenScope;
  /** Lowercase hex SHA-256 of the token; the token itself is never stored. */
  token_hash: string;
  /** First characters of the token, shown in lists. */
  prefix: string;
  created_at: number;
  revoked_at: number | null;
  last_used_at: number | null;
}

// ── visitor signals (session linking) ──────────────────────────────────────────────────

export interface VisitorSignalsInput {
  ids: Identifiers;
  ip?: string;
  user_agent?: string;
  url?: string;
}

export interface VisitorSignals extends VisitorSignalsInput {
  updated_at: number;
}

// ── identity merge ─────────────────────────────────────────────────────────────────────

export interface IdentityPatch {
  user?: HashedUser;
  ids?: Identifiers;
  ip?: string;
  user_agent?: string;
  url?: string;
}

// ── outbound notifications (signed merchant webhooks) ─────────────────────────────────

export type NotificationStatus = 'pending' | 'delivered' | 'dead';

export interface NewNotification {
  site_id: string;
  kind: string;
  url: string;
  body: string;
  /** Idempotency key, unique per site: a second insert with the same key is ignored. */
  idempotency_id: string;
}

export interface NotificationRecord extends NewNotification {
  id: number;
  status: NotificationStatus;
  attempts: number;
  next_attempt_at: number | null;
  last_status: number | null;
  last_error: string | null;
  created_at: number;
  updated_at: number;
  delivered_at: number | null;
}

export interface NotificationLeaseOptions {
  limit: number;
  leaseMs: number;
  now: number;
}

export interface NotificationMark {
  /** 'retry' keeps it pending until retryAt (default: now). */
  status: 'delivered' | 'retry' | 'dead';
  retryAt?: number;
  httpStatus: number | null;
  error?: string;
}

export interface ListNotificationsQuery {
  status?: NotificationStatus;
  site_id?: string;
  /** At most 1000. */
  limit: number;
}

export interface LeaseOptions {
  site_id: string;
  destination: string;
  limit: number;
  /** How long the lease holds before another worker may take the delivery. */
  leaseMs: number;
  now: number;
}

export interface Store {
  /** Inserts events and their deliveries in one transaction; idempotent on (site, event_id). */
  insertEvents(batch: NewEvent[]): Promise<InsertResult[]>;
  /** Takes up to `limit` due, pending deliveries of one destination, oldest first. */
  leaseDueDeliveries(opts: LeaseOptions): Promise<LeasedDelivery[]>;
  markDelivered(deliveryIds: number[], info: AttemptInfo, now: number): Promise<void>;
  markRetry(deliveryIds: number[], retryAt: number, info: AttemptInfo, now: number): Promise<void>;
  markDead(deliveryIds: number[], info: AttemptInfo, now: number): Promise<void>;
  markSkipped(deliveryIds: number[], reason: string, now: number): Promise<void>;
  getEvent(site_id: string, event_id: string): Promise<StoredEvent | null>;
  /** Earliest next_attempt_at of pending deliveries, for the dispatcher's sleep. */
  nextDueAt(): Promise<number | null>;
  /** Drops IP and user agent of events whose deliveries have all ended. Returns count. */
  scrubFinishedEvents(): Promise<number>;
  /** Cheap liveness check. */
  ping(): Promise<void>;
  close(): Promise<void>;

  /** The attempt log of one event, every destination, oldest first. */
  listAttempts(site_id: string, event_id: string): Promise<AttemptRecord[]>;

  /** Events newest first (received_at, then event_id, descending), with their deliveries. */
  listEvents(q: ListEventsQuery): Promise<EventListItem[]>;
  /** Deliveries of one status, most recently updated first. */
  listDeliveries(q: ListDeliveriesQuery): Promise<DeliveryListItem[]>;
  /**
   * Dead deliveries back to pending, due at `now`, lease cleared, attempts kept, `now`
   * recorded as their requeue time (a fresh retry window). Returns how many.
   */
  requeueDeliveries(q: RequeueDeliveriesQuery, now: number): Promise<number>;
  /** Per (site, destination) health since `since`, ordered by site then destination. */
  destinationSummary(q: SummaryQuery): Promise<DestinationSummary[]>;
  /** Delivered and dead counts per bucket and destination, oldest bucket first. */
  deliveryTimeline(q: TimelineQuery): Promise<DeliveryTimelinePoint[]>;
  /** Received events per bucket, oldest bucket first. */
  eventTimeline(q: TimelineQuery): Promise<EventTimelinePoint[]>;
  /** Pending deliveries per (site, destination) with at least one. */
  queueDepth(): Promise<QueueDepth[]>;
  /** All pending deliveries, every site and destination. */
  countPending(): Promise<number>;

  /** Stores a new token; throws when its id or hash already exists. */
  createApiToken(rec: ApiTokenRecord): Promise<void>;
  /** The token with this hash, revoked or not (the caller checks revoked_at). */
  findApiTokenByHash(token_hash: string): Promise<ApiTokenRecord | null>;
  /** Tokens of one site (or all), oldest first. */
  listApiTokens(site_id?: string): Promise<ApiTokenRecord[]>;
  /** true when an active token was revoked now; false when unknown or already revoked. */
  revokeApiToken(id: string, now: number): Promise<boolean>;
  /** Records a use (last_used_at only moves forward). Best-effort. */
  touchApiToken(id: string, now: number): Promise<void>;

  /**
   * Merges a visitor's latest browser signals: non-empty values win over stored ones when
   * `now` is not older than the stored update, otherwise they only fill gaps.
   */
  upsertVisitorSignals(site_id: string, visitor_id: string, signals: VisitorSignalsInput, now: number): Promise<void>;
  getVisitorSignals(site_id: string, visitor_id: string): Promise<VisitorSignals | null>;
  /** Deletes signals last updated before `olderThan`. Returns count. */
  purgeVisitorSignals(olderThan: number): Promise<number>;

  /**
   * Fills keys missing from the stored event (never overwrites). ip/user_agent are only
   * added while a delivery is still pending and the event was never scrubbed. Returns
   * whether the stored event changed.
   */
  mergeEventIdentity(site_id: string, event_id: string, patch: IdentityPatch): Promise<boolean>;

  /** Queues notifications; ignores one whose (site_id, idempotency_id) exists. Returns how many were new. */
  insertNotifications(items: NewNotification[], now: number): Promise<number>;
  /** Takes up to `limit` due pending notifications, oldest due first. */
  leaseDueNotifications(opts: NotificationLeaseOptions): Promise<NotificationRecord[]>;
  /** Records one attempt (attempts += 1); only a pending notification changes. */
  markNotification(id: number, mark: NotificationMark, now: number): Promise<void>;
  /** Newest first. */
  listNotifications(q: ListNotificationsQuery): Promise<NotificationRecord[]>;
  /** Dead notifications back to pending, due now, attempts reset to 0. Returns count. */
  requeueNotifications(ids: number[], now: number): Promise<number>;
}
