// What the dispatcher reports after each attempt (or decision) about a group of deliveries,
// so metrics and outbound notifications can follow delivery outcomes without the dispatcher
// knowing about either. An observer never changes what happens to a delivery.
import type { CanonicalEvent } from '../event/schema.js';

export type DeliveryOutcomeKind = 'delivered' | 'retry' | 'dead' | 'auth';

export interface DeliveryOutcome {
  site_id: string;
  /** The configured destination id (`meta0`), as in the store. */
  destination: string;
  /** The destination type (`meta`, `tiktok`, …). */
  destinationType: string;
  outcome: DeliveryOutcomeKind;
  /** The events this outcome applies to (one request's worth, or those that died of age). */
  events: CanonicalEvent[];
  /** The platform's HTTP status; null when there was no answer or no request. */
  httpStatus: number | null;
  /** How long the request took; undefined when no request was made. */
  durationMs?: number;
  /** Why it failed (retry, dead, auth), as recorded in the store. */
  error?: string;
}

export interface DeliveryObserver {
  /** Never rejects; awaiting it is cheap (a counter, one outbox insert). */
  onOutcome(outcome: DeliveryOutcome): void | Promise<void>;
}

/** One observer that tells all of `observers`; a failing one does not stop the others. */
export function observeAll(...observers: (DeliveryObserver | undefined)[]): DeliveryObserver {
  const list = observers.filter((o): o is DeliveryObserver => o !== undefined);
  return {
    async onOutcome(outcome) {
      await Promise.all(
        list.map(async (o) => {
          try {
            await o.onOutcome(outcome);
          } catch {
            // An observer's own failure is its business (each logs its own); delivery goes on.
          }
        }),
      );
    },
  };
}
