/*
 * t.js — Trakvo's browser snippet. Paste in <head>:
 *
 *   <script src="/t/t.js" data-site="SITE_ID" async></script>
 *
 * Optional attributes: data-endpoint="https://shop.com/t" (default: the folder t.js is
 * served from), data-hash-pageviews="1" (a #fragment change is a new page),
 * data-auto="0" (no automatic PageViews); for the detectors (detect/, docs/auto-detection.md):
 * data-no-detect="Lead Search" (switch detectors off), data-currency="EUR" (currency of
 * detected values the page does not name), data-mirror-fbq="1" (send the page's own
 * fbq('track') calls too).
 *
 * Builds: t.js is built in variants that carry different detectors (t.shopify.js,
 * t.woo.js, t.datalayer.js, t.schema.js; see rollup.config.mjs), each within the budget.
 *
 * To call trakvo() before t.js has loaded, put this stub before the tag; its calls are
 * queued and sent, in order, once t.js runs:
 *
 *   <script>window.trakvo=window.trakvo||function(){(trakvo.q=trakvo.q||[]).push(arguments)}</script>
 *
 * API:  trakvo(name, props?) → event_id               sends one event; props.event_id wins;
 *                                                     a Purchase with order_id gets the
 *                                                     order-derived id (see order-event-id.ts)
 *       trakvo('consent', { marketing, analytics })   consent for the events that follow
 *       trakvo.getVisitorId(), trakvo.getSessionId()  the collector's first-party ids
 *
 * Every visitor pays for each byte and each millisecond here: nothing is read at load
 * that can wait (no cookies, no storage, no Intl), no timers, no dependencies. The
 * exceptions are the pages that need it: sessionStorage for a Purchase, cookies on the
 * Shopify cart page and after an add to cart (cart attributes).
 */
import { autoPageviews, site } from './config.js';
import { startDetection } from './detect/index.js';
import { readCookie } from './cookie.js';
import { CONSENT, win } from './globals.js';
import { trackPageviews } from './pageviews.js';
import { track } from './track.js';
import type { Props, QueuedCall, Trakvo } from './types.js';

const previous = win.trakvo;
const queued = previous && previous.q;

// A loaded copy's `q` is not an array (see below): a second t.js on the page does nothing.
// Without `crypto` (a browser too old for getRandomValues, or a page that removed it) no
// event_id can be minted: t.js then does nothing, rather than throw into the page (a
// Math.random fallback would cost more bytes than the budget has left).
if (site && win.crypto && !(queued && !Array.isArray(queued))) {
  const replay = (call: QueuedCall) => track(call[0] as string, call[1] as Props | undefined);
  const calls = (queued || []) as QueuedCall[];
  const trakvo: Trakvo = track;
  // The stub pushes to `trakvo.q`; after load that push sends at once, so a page that kept
  // a reference to the stub still delivers.
  trakvo.q = { push: replay };
  // The collector's first-party visitor and session ids, for linking server-side events
  // (a hidden form field, a checkout attribute). Read lazily, on call.
  trakvo.getVisitorId = () => readCookie('_tk_vid');
  trakvo.getSessionId = () => readCookie('_tk_sid');
  win.trakvo = trakvo;

  // Consent the page declared before load applies to the automatic PageView too.
  calls.forEach((call) => call[0] === CONSENT && replay(call));
  if (autoPageviews) trackPageviews();
  calls.forEach((call) => call[0] !== CONSENT && replay(call));
  // Standard e-commerce events, found by t.js itself (see detect/).
  startDetection();
}
