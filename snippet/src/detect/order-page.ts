// Purchase on thank-you pages, read once when the DOM is ready. The order id is the one the
// platform's order webhook carries, so both reports get the same order-derived event_id:
// Shopify's numeric order id (`Shopify.checkout.order_id`, classic order status page) and
// WooCommerce's order id from the order-received URL (/checkout/order-received/<id>/ or
// ?order-received=<id>), with the total printed in the order overview
// (li.woocommerce-order-overview__total, class "total").
import { doc, loc, win } from '../globals.js';
import { commerce, money } from './commerce.js';
import { detected } from './gate.js';

export function detectOrderPage(): void {
  const checkout = F_SHOPIFY_THANKYOU && win.Shopify && win.Shopify.checkout;
  const woo = F_WOO && /order-received[/=](\d+)/.exec(loc.href);
  const total = F_WOO && doc.querySelector('li.total .amount');
  if (checkout) {
    detected('Purchase', commerce(checkout.line_items, checkout.total_price, checkout.currency, checkout.order_id));
  } else if (woo) {
    detected('Purchase', commerce(0, total && money(total.textContent!), 0, woo[1]));
  }
}
