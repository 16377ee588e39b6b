// Pixel bridge. Every event t.js sends, but PageView (the pixels send their own) and Refund
// (no pixel event), is also given to Meta's fbq and TikTok's ttq when the page has them,
// with the same id, so each platform counts the browser and the server report once:
// fbq('track', name, props, { eventID: id }), ttq.track(name, props, { event_id: id }).
// Personal data (email, phone, names, address…) never goes to a pixel, only to the collector.
//
// Opt-in mirror (data-mirror-fbq="1"): the page's own fbq('track' | 'trackCustom', …) calls
// are sent to the collector too, with the eventID they carry or, when they carry none, the
// id t.js mints, injected into the call, so a store that already has the pixel dedups with
// no code change. fbq is wrapped in a Proxy, so its own properties (queue, callMethod,
// loaded…) stay the pixel's.
import { mirrorFbq } from './config.js';
import { win } from './globals.js';
import type { Bag, Props } from './types.js';

/** Set while an event crosses between t.js and a pixel, so neither side echoes it back. */
let crossing: unknown;

const PERSONAL = /mail|phone|name|city|state|zip|country|birth|gender|external/;

export function toPixels(name: string, props: Props, id: string): void {
  if (!crossing && !/^(PageView|Refund)$/.test(name)) {
    const shared: Props = {};
    for (const key in props) if (!PERSONAL.test(key)) shared[key] = props[key];
    crossing = 1;
    try {
      if (win.fbq) win.fbq('track', name, shared, { eventID: id });
      if (win.ttq) win.ttq.track(name, shared, { event_id: id });
    } catch {
      // a broken pixel stub is the pixel's problem
    }
    crossing = 0;
  }
}

let mirrored: unknown;

/** Wraps the page's fbq once it exists; called again later, it wraps a pixel loaded late. */
export function mirrorFbqCalls(): void {
  const fbq = win.fbq;
  if (mirrorFbq && fbq && fbq != mirrored) {
    win.fbq = mirrored = new Proxy(fbq, {
      apply(target, self, args: Bag[]) {
        if (!crossing && /^track(Custom)?$/.test(args[0])) {
          crossing = 1;
          try {
            const options = (args[3] = Object.assign({}, args[3]));
            options.eventID = win.trakvo!(args[1], Object.assign({ event_id: options.eventID }, args[2]));
          } catch {
            // the call still reaches the pixel as the page made it
          }
          crossing = 0;
        }
        return target.apply(self, args);
      },
    });
  }
}
