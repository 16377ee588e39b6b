// AddToCart, from what the store actually posts:
// - a form that navigates (no script took it over): Shopify form[action*="/cart/add"],
//   WooCommerce form.cart with its add-to-cart button;
// - an AJAX add: a fetch to Shopify's /cart/add(.js) (the Dawn theme and its kin), an
//   XMLHttpRequest to WooCommerce's ?wc-ajax=add_to_cart (jQuery, archive "Add to cart"
//   links), counted when the store answers it with success; then the visitor's ids go into
//   the Shopify cart.
// The posted body names the item: FormData, URL-encoded or JSON ({id, quantity} or
// {items: [...]}) with Shopify's `id`, or WooCommerce's variation_id / product_id / add-to-cart.
import { win } from '../globals.js';
import { shareIdsWithCart } from '../shopify-cart.js';
import type { Bag } from '../types.js';
import { commerce } from './commerce.js';
import { detected, guarded } from './gate.js';
import { pagePrices } from './product-page.js';

const ADD_URL = F_SHOPIFY ? (F_WOO ? /\/cart\/add|wc-ajax=add_to_cart/ : /\/cart\/add/) : /wc-ajax=add_to_cart/;
const ADD_FORM = F_SHOPIFY ? (F_WOO ? '[action*="/cart/add"],form.cart' : '[action*="/cart/add"]') : 'form.cart';

function added(body: Bag): void {
  // Shopify themes and apps post FormData, JSON or (rarely) URL-encoded strings; WooCommerce
  // posts FormData (form.cart) or, with jQuery, URL-encoded: it all reads through
  // URLSearchParams but JSON.
  if (F_WOO && !F_SHOPIFY) body = new URLSearchParams(body);
  else if (typeof body == 'string') body = body[0] == '{' ? JSON.parse(body) : new URLSearchParams(body);
  const get = (key: string): Bag => (F_SHOPIFY ? body && (body.get ? body.get(key) : body[key]) : body.get(key));
  if (F_SHOPIFY && get('items')) body = body.items[0];
  const id = F_WOO ? (F_SHOPIFY && get('id')) || +get('variation_id') || get('product_id') || get('add-to-cart') : get('id');
  detected('AddToCart', commerce(id && [{ id, quantity: get('quantity'), price: pagePrices[id] }], 0, pagePrices['']));
}

/** A request ended: an add the store accepted is counted, and the Shopify cart gets the ids. */
const answered = (url: string, ok: unknown, body: Bag): void => {
  if (ok && ADD_URL.test(url)) {
    added(body);
    if (F_SHOPIFY) shareIdsWithCart();
  }
};

/** Submit of an add-to-cart form that the page did not take over (it navigates). */
export const addToCartSubmit = (e: Bag): void => {
  const form = e.target;
  // The submitter joins the data: a simple WooCommerce product posts its id as the button's value.
  if (!e.defaultPrevented && form.matches(ADD_FORM)) added(new FormData(form, e.submitter));
};

export function watchAddToCartRequests(): void {
  // Shopify themes add with fetch (Dawn and its kin).
  if (F_SHOPIFY) {
    const fetch = win.fetch;
    win.fetch = function (this: unknown, _: unknown, init?: Bag) {
      const response = fetch.apply(this, arguments as Bag);
      // The page's own promise is returned untouched; what the detector throws ends here.
      response.then((r) => answered(r.url, r.ok, init && init.body)).catch(() => {});
      return response;
    } as typeof fetch;
  }
  // WooCommerce's add-to-cart script posts with jQuery, i.e. XMLHttpRequest.
  if (F_WOO) {
    const proto = XMLHttpRequest.prototype;
    const send = proto.send;
    proto.send = function (this: XMLHttpRequest, body) {
      this.addEventListener('load', () => guarded(() => answered(this.responseURL, this.status < 400, body)));
      send.apply(this, arguments as Bag);
    };
  }
}
