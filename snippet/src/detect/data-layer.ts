// The dataLayer bridge: GA4 e-commerce events (dataLayer.push({ event: 'add_to_cart',
// ecommerce: { currency, value, items } }) and gtag('event', 'add_to_cart', {…})) and the
// older Universal Analytics enhanced-ecommerce shape (ecommerce.detail / add / checkout /
// purchase with products and actionField), pushed before t.js ran (replayed once the DOM
// is ready) or after (dataLayer.push is wrapped; the page's own push runs first, unchanged).
import { win } from '../globals.js';
import type { Bag } from '../types.js';
import { commerce } from './commerce.js';
import { detected, guarded } from './gate.js';

const VIEW = 'ViewContent';
const ADD = 'AddToCart';
const CHECKOUT = 'InitiateCheckout';

/** GA4 event names and UA ecommerce keys → standard events. */
const EVENTS: Record<string, string> = {
  view_item: VIEW,
  detail: VIEW,
  add_to_cart: ADD,
  add: ADD,
  begin_checkout: CHECKOUT,
  checkout: CHECKOUT,
  add_payment_info: 'AddPaymentInfo',
  purchase: 'Purchase',
  generate_lead: 'Lead',
  search: 'Search',
};

function fromDataLayer(entry: Bag): void {
  // gtag() pushes its `arguments`: ['event', name, params].
  if (entry[0] == 'event') entry = { event: entry[1], ecommerce: entry[2] };
  let name = EVENTS[entry.event];
  // GA4 e-commerce events carry `ecommerce`; others (generate_lead, search) their parameters.
  const ecommerce = entry.ecommerce || entry;
  let data = ecommerce;
  // UA: the action is a key of `ecommerce`.
  for (const key in ecommerce) if (EVENTS[key]) (name = EVENTS[key]), (data = ecommerce[key]);
  const totals = data.actionField || data;
  const props = commerce(
    data.items || data.products,
    totals.value || totals.revenue,
    ecommerce.currency || ecommerce.currencyCode,
    totals.transaction_id || totals.id,
  );
  props.search_string = ecommerce.search_term;
  if (name) detected(name, props);
}

export function watchDataLayer(): void {
  const layer = win.dataLayer;
  const push = layer.push;
  layer.forEach((entry: Bag) => guarded(fromDataLayer, entry));
  layer.push = function () {
    const result = push.apply(layer, arguments);
    for (const entry of arguments) guarded(fromDataLayer, entry);
    return result;
  };
}
