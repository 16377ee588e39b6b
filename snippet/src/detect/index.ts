// Starts automatic detection: one delegated listener per DOM event type on `document` and
// the request wrappers at once (they cost nothing until the visitor acts), and the page
// readers once the DOM is ready (JSON-LD and thank-you markup may sit at the end of <body>),
// in the order that decides which signal wins when several report one event: the
// platform's own objects and markup first, then the dataLayer.
import { detectorOn } from '../config.js';
import { doc, loc, win } from '../globals.js';
import { mirrorFbqCalls } from '../pixels.js';
import { shareIdsWithCart } from '../shopify-cart.js';
import type { Bag } from '../types.js';
import { addToCartSubmit, watchAddToCartRequests } from './add-to-cart.js';
import { checkoutClick, checkoutPage } from './checkout.js';
import { watchDataLayer } from './data-layer.js';
import { declaredClick, declaredSubmit } from './declared.js';
import { guarded } from './gate.js';
import { leadSubmit } from './lead.js';
import { detectOrderPage } from './order-page.js';
import { detectProductPage } from './product-page.js';
import { searchPage, searchSubmit } from './search.js';

type Reader = (e?: Bag) => unknown;

/** Runs each reader guarded, so one that meets unexpected markup does not stop the others. */
const all = (readers: Reader[]) => (e?: Bag) => readers.forEach((read) => guarded(read, e));

/** Bubble phase: the page's own handlers have run, so `defaultPrevented` is known. */
const listen = (type: string, readers: Reader[]) => doc.addEventListener(type, all(readers));

// `...(FEATURE ? [reader] : [])`: a compiled-out feature leaves no trace in the lists.
export function startDetection(): void {
  // Declared events first: the first report of an action wins.
  listen('submit', [
    ...(F_DECLARED ? [declaredSubmit] : []),
    ...(F_SHOPIFY || F_WOO ? [addToCartSubmit] : []),
    ...(F_FORMS ? [searchSubmit, leadSubmit] : []),
  ]);
  if (F_DECLARED || F_FORMS || F_SHOPIFY) {
    listen('click', [...(F_DECLARED ? [declaredClick] : []), ...(F_FORMS || F_SHOPIFY ? [checkoutClick] : [])]);
  }
  if (F_SHOPIFY || F_WOO) watchAddToCartRequests();
  const readPage = all([
    ...(F_SHOPIFY || F_WOO || F_JSONLD ? [detectProductPage] : []),
    ...(F_SHOPIFY_THANKYOU || F_WOO ? [detectOrderPage] : []),
    ...(F_WOO ? [checkoutPage] : []),
    ...(F_SEARCH_PAGE ? [searchPage] : []),
    // Shopify cart page: the checkout that follows carries the ids.
    ...(F_SHOPIFY ? [() => /\/cart\/?$/.test(loc.pathname) && shareIdsWithCart()] : []),
    ...(F_DATALAYER ? [() => detectorOn('dataLayer') && watchDataLayer()] : []),
    ...(F_MIRROR ? [mirrorFbqCalls] : []),
  ]);
  if (doc.readyState == 'loading') doc.addEventListener('DOMContentLoaded', readPage);
  else readPage();
  // A pixel that a tag manager adds later is mirrored once the page has loaded.
  if (F_MIRROR) win.addEventListener('load', mirrorFbqCalls);
}
