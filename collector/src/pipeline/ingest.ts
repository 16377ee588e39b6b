// The one ingest step every entry point hands its canonical events to: decide which
// destinations get a delivery, commit event + deliveries together, wake the dispatcher.
import type { SiteConfig } from '../config/schema.js';
import type { CanonicalEvent } from '../event/schema.js';
import type { InsertResult, NewEvent } from '../store/types.js';

export interface Committer {
  insert(e: NewEvent): Promise<InsertResult>;
}

/** Every configured destination today is an ad platform: marketing consent gates them all. */
export function planDeliveries(event: CanonicalEvent, site: SiteConfig): NewEvent {
  const enabled = site.destinations.filter((d) => d.enabled).map((d) => d.id);
  if (!event.consent.marketing) {
    return { event, destinations: [], skipped: enabled.map((destination) => ({ destination, reason: 'no marketing consent' })) };
  }
  return { event, destinations: enabled };
}

export interface Ingest {
  /** Resolves after the event is durably committed (or found already stored). */
  ingest(event: CanonicalEvent, site: SiteConfig): Promise<InsertResult>;
}

export function createIngest(deps: { committer: Committer; onCommitted: () => void }): Ingest {
  return {
    async ingest(event, site) {
      const result = await deps.committer.insert(planDeliveries(event, site));
      if (result.inserted) deps.onCommitted();
      return result;
    },
  };
}
