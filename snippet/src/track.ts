// The real `trakvo(name, props)`: turns a call into one wire event and posts it, or, for
// trakvo('consent', { marketing, analytics }), records the consent later events carry.
import { endpoint, site } from './config.js';
import { newEventId } from './event-id.js';
import { orderEventId } from './order-event-id.js';
import { CONSENT, doc, loc } from './globals.js';
import { toPixels } from './pixels.js';
import { send } from './transport.js';
import type { Props, WireConsent, WireEvent } from './types.js';

/** In memory only; until the page declares it, the server applies the site's default. */
export let consent: WireConsent | undefined;

const ORDER_BOUND = /^(Purchase|Refund)$/;

/** Returns the event_id sent (merchants pass it on, e.g. to fbq's eventID). */
export function track(name: string, props?: Props): string | undefined {
  if (name === CONSENT) {
    const choice = Object(props) as Props;
    consent = { m: choice.marketing ? 1 : 0, a: choice.analytics ? 1 : 0 };
    return;
  }
  const p: Props = Object.assign({}, props);
  const ownId = p.event_id;
  delete p.event_id;
  // An id the merchant chose wins; else a Purchase (or Refund) of an order gets the id the
  // collector derives from that order, so its webhook deduplicates with this event.
  const id =
    typeof ownId === 'string' && ownId
      ? ownId
      : p.order_id != null && ORDER_BOUND.test(name)
        ? orderEventId(site!, name, p.order_id)
        : newEventId();
  const event: WireEvent = {
    s: site!,
    n: name,
    i: id,
    u: loc.href,
    r: doc.referrer || undefined,
    t: doc.title || undefined,
    p: Object.keys(p).length ? p : undefined,
    c: consent,
    ts: Date.now(),
  };
  send(endpoint + '/e', event);
  // The same event, with the same id, to the page's Meta and TikTok pixels; not once the
  // page has said the visitor refuses marketing (then no ad platform gets it from t.js).
  if (F_PIXELS && !(consent && !consent.m)) toPixels(name, p, id);
  return id;
}
