// When an event may still be sent: the generic "too old / in the future" check every
// platform applies, with the limits and the words of the reasons given by the platform.
import type { CanonicalEvent } from '../../event/schema.js';

/** Five minutes: the default safety margin and clock skew. */
const FIVE_MINUTES_SEC = 5 * 60;

export interface EventWindow {
  /** Oldest event the platform takes, in seconds. */
  maxAgeSec: number;
  /**
   * Events this close to that limit are skipped too: in flight, with clocks apart, they could
   * cross it, and one such event can make a platform refuse its whole batch. Default 5 minutes.
   */
  safetySec?: number;
  /** Up to this far ahead is clock skew (the time is sent as now); further ahead the time is wrong. Default 5 minutes. */
  maxFutureSec?: number;
  /** The end of a too-old reason: "event_time is 8.00 days old; <tooOld>". */
  tooOld: string;
  /** The end of an in-the-future reason, if any: "event_time is 600 s in the future; <future>". */
  future?: string;
  /** Ages told in days (2 decimals, the default) or hours (1 decimal). */
  ageIn?: 'days' | 'hours';
}

/** Why this event's time is outside the platform's window, if it is. */
export function outsideWindow(event: CanonicalEvent, nowSec: number, window: EventWindow): string | undefined {
  const age = nowSec - event.event_time;
  if (age > window.maxAgeSec - (window.safetySec ?? FIVE_MINUTES_SEC)) {
    const told = window.ageIn === 'hours' ? `${(age / 3600).toFixed(1)} hours` : `${(age / 86400).toFixed(2)} days`;
    return `event_time is ${told} old; ${window.tooOld}`;
  }
  if (-age > (window.maxFutureSec ?? FIVE_MINUTES_SEC)) return `event_time is ${-age} s in the future${window.future === undefined ? '' : `; ${window.future}`}`;
  return undefined;
}

/** The event time a platform is sent: a time a little ahead (clock skew) is sent as now. */
export function sentTime(event: CanonicalEvent, nowSec: number): number {
  return Math.min(event.event_time, nowSec);
}

/** Unix seconds of `now`. */
export function unixSeconds(now: Date): number {
  return Math.floor(now.getTime() / 1000);
}

/**
 * Why an ad platform must not get this event, if it must not: no marketing consent, or a
 * time outside the platform's window.
 */
export function whyNotAllowed(event: CanonicalEvent, nowSec: number, window: EventWindow): string | undefined {
  if (!event.consent.marketing) return 'no marketing consent';
  return outsideWindow(event, nowSec, window);
}
