// The one ingest step every entry point hands its canonical events to: decide which
// destinations get a delivery, commit event + deliveries together, wake the dispatcher.
import type { SiteConfig } from '../config/schema.js';
import type { CanonicalEvent } from '../event/schema.js';
import type { InsertResult, NewEvent, Store } from '../store/types.js';

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

type IdentityStore = Pick<Store, 'getEvent' | 'mergeEventIdentity'>;

export function createIngest(deps: {
  committer: Committer;
  store: IdentityStore;
  onCommitted: (event: CanonicalEvent) => void;
  now?: () => number;
}): Ingest {
  const now = deps.now ?? Date.now;
  return {
    async ingest(event, site) {
      const planned = planDeliveries(event, site);
      // Remember this browser's latest signals so a server event naming the visitor id
      // (REST API, order webhook) keeps its attribution; written in the event's own commit.
      const visitor = event.ids.visitor_id;
      if (visitor && event.source === 'browser' && event.consent.marketing) {
        const { visitor_id: _v, session_id: _s, ...ids } = event.ids;
        planned.visitor = {
          visitor_id: visitor,
          signals: {
            ids,
            ...(event.ip ? { ip: event.ip } : {}),
            ...(event.user_agent ? { user_agent: event.user_agent } : {}),
            ...(event.url ? { url: event.url } : {}),
          },
        };
      }
      const result = await deps.committer.insert(planned);
      if (result.inserted) {
        deps.onCommitted(event);
      } else if (event.consent.marketing) {
        // The same conversion reported again (the browser's thank-you page and the order
        // webhook share an order-derived event_id): one conversion, the richest identity —
        // unless the stored report was made without marketing consent.
        const stored = await deps.store.getEvent(event.site_id, event.event_id);
        if (stored?.event.consent.marketing) {
          const enriched = await deps.store.mergeEventIdentity(event.site_id, event.event_id, identityOf(event));
          if (enriched) deps.onCommitted(event);
        }
      }
      return result;
    },
  };
}

function identityOf(event: CanonicalEvent) {
  return {
    user: event.user,
    ids: event.ids,
    ...(event.ip ? { ip: event.ip } : {}),
    ...(event.user_agent ? { user_agent: event.user_agent } : {}),
    ...(event.url ? { url: event.url } : {}),
  };
}
