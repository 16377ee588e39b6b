// The store is the outbox: events and their per-destination deliveries, committed together.
// SQLite (embedded default) and PostgreSQL implement this same interface and pass the same
// contract test suite (collector/test/store-contract.ts).
import type { CanonicalEvent } from '../event/schema.js';

export type DeliveryStatus = 'pending' | 'delivered' | 'dead' | 'skipped';

export interface NewEvent {
  event: CanonicalEvent;
  /** Configured destination ids that should receive it (one delivery row each). */
  destinations: string[];
  /** Destination ids recorded as skipped (for example no marketing consent), with why. */
  skipped?: { destination: string; reason: string }[];
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
  /** Unix ms when the event was first received; bounds the retry window. */
  received_at: number;
}

export interface DeliveryRecord {
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
}
