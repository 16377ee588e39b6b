// An in-process feed of "something happened to this event", so the dashboard's live view
// updates the moment ingest commits an event or the dispatcher records an outcome. It only
// carries ids: the dashboard reads the rest from the store, so a missed or duplicated
// message costs nothing (the live view also polls the store as a safety net, which is what
// makes it work when ingest runs in another process).
import { EventEmitter } from 'node:events';
import type { DeliveryObserver } from '../metrics/delivery-observer.js';
import type { DeliveryStatus } from '../store/types.js';

export type FeedMessage =
  /** An event was committed (published after the insert, only when it was new). */
  | { kind: 'event'; site_id: string; event_id: string }
  /** The dispatcher recorded an attempt's outcome for one delivery of this event. */
  | {
      kind: 'delivery';
      site_id: string;
      event_id: string;
      destination: string;
      /** 'pending' after a retry was scheduled. */
      status: DeliveryStatus;
    };

export interface EventFeed {
  publish(message: FeedMessage): void;
  /** Calls `fn` for every later message; returns the unsubscribe function. */
  subscribe(fn: (message: FeedMessage) => void): () => void;
}

export function createEventFeed(): EventFeed {
  const emitter = new EventEmitter();
  // One listener per dashboard (not per browser tab); many mounted dashboards are fine.
  emitter.setMaxListeners(0);
  return {
    publish(message) {
      emitter.emit('message', message);
    },
    subscribe(fn) {
      // A throwing subscriber must never break ingest or the dispatcher that published.
      const safe = (m: FeedMessage) => {
        try {
          fn(m);
        } catch {
          /* the live view is best-effort */
        }
      };
      emitter.on('message', safe);
      return () => {
        emitter.off('message', safe);
      };
    },
  };
}

/**
 * A dispatcher observer that publishes each recorded outcome to the feed (give it to the
 * dispatcher next to the metrics and notifier observers: `observeAll(…)`).
 */
export function feedDeliveryObserver(feed: EventFeed): DeliveryObserver {
  return {
    onOutcome(o) {
      const status: DeliveryStatus = o.outcome === 'delivered' ? 'delivered' : o.outcome === 'dead' ? 'dead' : 'pending';
      for (const e of o.events) feed.publish({ kind: 'delivery', site_id: o.site_id, event_id: e.event_id, destination: o.destination, status });
    },
  };
}
