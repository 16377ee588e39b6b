// The demo store's pages: a tiny shop that installs Trakvo exactly as a merchant would
// (inline stub + one script tag in <head>) and calls trakvo() for its funnel.

export interface Product {
  id: string;
  name: string;
  price: number;
}

export const PRODUCTS: Product[] = [
  { id: 'SKU-1', name: 'Café especial 250 g', price: 39.9 },
  { id: 'SKU-2', name: 'Moedor manual', price: 189.0 },
  { id: 'SKU-3', name: 'Prensa francesa', price: 129.5 },
];

const escapeHtml = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
/** JSON safe inside an inline <script>. */
const scriptJson = (v: unknown) => JSON.stringify(v).replace(/</g, '\\u003c');

function layout(title: string, siteId: string, body: string, script = ''): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)} · Demo store</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<script>window.trakvo=window.trakvo||function(){(trakvo.q=trakvo.q||[]).push(arguments)}</script>
<script src="/t/t.js" data-site="${escapeHtml(siteId)}" async></script>
<style>body{font:16px system-ui,sans-serif;max-width:46rem;margin:2rem auto;padding:0 1rem}a{color:#0b5}
.card{border:1px solid #ddd;border-radius:8px;padding:1rem;margin:.5rem 0}button{padding:.5rem 1rem}</style>
</head><body><header><a href="/">☕ Demo store</a> · <a href="/_mock/graph/_received">what Meta received</a> · <a href="/t/admin/">dashboard</a></header>
<main>${body}</main>${script ? `<script>${script}</script>` : ''}</body></html>`;
}

export function homePage(siteId: string): string {
  const cards = PRODUCTS.map(
    (p) => `<div class="card"><a href="/product/${p.id}">${escapeHtml(p.name)}</a> — R$ ${p.price.toFixed(2)}</div>`,
  ).join('');
  return layout('Home', siteId, `<h1>Demo store</h1>${cards}`);
}

export function productPage(siteId: string, p: Product): string {
  const props = { content_ids: [p.id], content_type: 'product', value: p.price, currency: 'BRL', content_name: p.name };
  return layout(
    p.name,
    siteId,
    `<h1>${escapeHtml(p.name)}</h1><p>R$ ${p.price.toFixed(2)}</p>
<button id="add">Add to cart</button> <a id="checkout" href="/checkout?sku=${p.id}">Checkout</a>`,
    `trakvo('ViewContent', ${scriptJson(props)});
document.getElementById('add').addEventListener('click', function () {
  trakvo('AddToCart', ${scriptJson({ ...props, contents: [{ id: p.id, quantity: 1, item_price: p.price }] })});
});`,
  );
}

export function checkoutPage(siteId: string, p: Product): string {
  return layout(
    'Checkout',
    siteId,
    `<h1>Checkout</h1><p>${escapeHtml(p.name)} — R$ ${p.price.toFixed(2)}</p>
<form method="post" action="/checkout/complete">
<input type="hidden" name="sku" value="${p.id}">
<p><label>E-mail <input name="email" type="email" required></label></p>
<p><label>Phone <input name="phone" type="tel"></label></p>
<button id="pay">Pay</button></form>`,
    `trakvo('InitiateCheckout', ${scriptJson({ content_ids: [p.id], value: p.price, currency: 'BRL', num_items: 1 })});`,
  );
}

export function thankYouPage(siteId: string, p: Product, order: { id: string; email: string; phone?: string }): string {
  const props = {
    value: p.price,
    currency: 'BRL',
    order_id: order.id,
    content_ids: [p.id],
    contents: [{ id: p.id, quantity: 1, item_price: p.price }],
    num_items: 1,
    email: order.email,
    ...(order.phone ? { phone: order.phone } : {}),
  };
  return layout(
    'Thank you',
    siteId,
    `<h1>Thank you!</h1><p>Order <b id="order">${escapeHtml(order.id)}</b> confirmed.</p>`,
    `trakvo('Purchase', ${scriptJson(props)});`,
  );
}
