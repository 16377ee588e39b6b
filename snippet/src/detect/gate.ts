// The one gate every detected event passes: the site's switches, then "never twice for one
// action" when several signals report it (a form submit, the AJAX request it makes and the
// dataLayer push that follows), then one Purchase per order per browser tab.
import { detectorOn } from '../config.js';
import { track } from '../track.js';
import type { Props } from '../types.js';

/** Until when (ms) each event name counts as already sent from this page. */
const sentUntil: Record<string, number> = {};

/** Once per page, whatever reports them: ViewContent, InitiateCheckout, Purchase, AddPaymentInfo. */
const ONCE_PER_PAGE = /^[VIP]|Pay/;

/** Signals of one action (a click, a submit) arrive within this; a person cannot repeat it faster. */
const SAME_ACTION_MS = 2000;

/**
 * Whether the build has detectors that can report the same action twice: the dataLayer
 * (a theme's push after the request t.js saw), or a declared form that is also a Lead form.
 * Each other detector has one signal per action, so without these the check is left out.
 */
const OVERLAP = F_DATALAYER || (F_DECLARED && F_FORMS);

/**
 * Sends `name` unless switched off (`explicit`: a data-trakvo-event element, never switched
 * off) or already sent for this action. A Purchase of an order already sent in this tab (a
 * thank-you page reloaded) is dropped: sessionStorage is read here, only for a Purchase.
 */
export function detected(name: string, props: Props, explicit?: 1): void {
  const now = OVERLAP ? Date.now() : 0;
  // `|| 0`: the minifier turns !(a < b) into a >= b, false for an undefined b.
  if (((F_DECLARED && explicit) || detectorOn(name)) && !(OVERLAP && now < (sentUntil[name] || 0))) {
    if (OVERLAP) sentUntil[name] = ONCE_PER_PAGE.test(name) ? 1 / 0 : now + SAME_ACTION_MS;
    // Only builds with a Purchase detector need it (a declared event is one click each).
    if ((F_SHOPIFY_THANKYOU || F_WOO || F_DATALAYER) && name == 'Purchase') {
      try {
        const order = props.order_id + '';
        if (sessionStorage._tk_order == order) return;
        sessionStorage._tk_order = order;
      } catch {
        // storage blocked: the collector still deduplicates on the order-derived event_id
      }
    }
    track(name, props);
  }
}

/** Runs `fn(arg)`, swallowing what it throws: markup a detector did not expect means no event, never an error in the page. */
export const guarded = (fn: (arg?: any) => unknown, arg?: unknown): void => {
  try {
    fn(arg);
  } catch {
    // not the markup this detector knows
  }
};
