// The Shopify "custom pixel" a merchant pastes in Shopify admin › Settings › Customer events.
//
// Since Checkout Extensibility, checkout and thank-you pages run no theme script: t.js in the
// theme never sees InitiateCheckout, AddPaymentInfo or Purchase. Third-party code runs there
// only inside Shopify's Web Pixels sandbox, which hands it the shop's standard events
// (`analytics.subscribe`), a page snapshot (`init`), the top frame's cookies
// (`browser.cookie`) and the visitor's consent (`init.customerPrivacy`,
// `customerPrivacy.subscribe('visitorConsentCollected', …)`). The script rendered here maps
// those events to the canonical names and posts them to the collector's POST /e in the
// browser wire format (pipeline/browser-event.ts):
//
//   page_viewed → PageView              checkout_started → InitiateCheckout
//   product_viewed → ViewContent        payment_info_submitted → AddPaymentInfo
//   product_added_to_cart → AddToCart   checkout_completed → Purchase
//   search_submitted → Search
//
// Purchase gets the order-derived event_id (event/order-event-id.ts) from the numeric order
// id (`checkout.order.id`, given as "123" or as a GID "gid://shopify/OrderIdentity/123"),
// the id the order webhook (webhooks/shopify.ts) derives its event_id from, so the two
// reports deduplicate. Other events use Shopify's own event id, so a replayed event is the
// same event.
//
// Consent: marketing = `marketingAllowed` and not a refused sale of data; analytics =
// `analyticsProcessingAllowed`; updated on `visitorConsentCollected`. Without marketing no
// personal data and no cookie leaves the browser (`c.m = 0`); with neither, nothing is sent.
// Without any privacy information the event carries no `c` and the site's default applies,
// as for t.js.
//
// The script is ES2017 without dependencies; the site id, endpoint and options are inlined.
// See pixel-requests.ts for what the collector does with its requests (origin, cookies).
import type { SiteConfig } from '../config/schema.js';
import { siteWebhooks } from '../webhooks/config.js';
import { PIXEL_COOKIE_PROPS, PIXEL_KEY_PARAM, siteShopifyPixel } from './pixel-requests.js';

/** Which Shopify identifier becomes content_ids: as the order webhook's `contentId`. */
export type PixelContentId = 'product' | 'variant' | 'sku';

export interface CustomPixelOptions {
  /** The collector's public base URL, where t.js is served from: `https://shop.com/t`. */
  endpoint: string;
  /**
   * Only the checkout funnel (InitiateCheckout, AddPaymentInfo, Purchase, and PageView on
   * checkout pages), for shops whose theme runs t.js, which reports the storefront itself.
   */
  checkoutOnly?: boolean;
  /** Default: the site's Shopify webhook `contentId`, else `product`. */
  contentId?: PixelContentId;
}

export class PixelOptionError extends Error {}

/** `https://shop.com/t/` → `https://shop.com/t`; anything but an http(s) base URL is refused. */
export function normalizeEndpoint(endpoint: string): string {
  let url: URL;
  try {
    url = new URL(endpoint.trim());
  } catch {
    throw new PixelOptionError(`endpoint "${endpoint}" is not an absolute URL like https://shop.com/t`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new PixelOptionError(`endpoint "${endpoint}" must be http(s)`);
  if (url.search || url.hash || url.username || url.password) {
    throw new PixelOptionError(`endpoint "${endpoint}" must be a base URL without query, fragment or credentials`);
  }
  return url.href.replace(/\/+$/, '');
}

/** A JSON literal safe to inline in a script (no line or paragraph separators, no "</"). */
function literal(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

/** A string array literal wrapped to lines of about 90 characters, indented by `indent`. */
function listLiteral(items: readonly string[], indent: string): string {
  const lines: string[] = [];
  let line = '';
  for (const item of items.map(literal)) {
    if (line && line.length + item.length + 2 > 90) {
      lines.push(line);
      line = '';
    }
    line += (line ? ' ' : '') + item + ',';
  }
  if (line) lines.push(line);
  return `[\n${lines.map((l) => indent + '  ' + l).join('\n')}\n${indent}]`;
}

export function renderShopifyCustomPixel(site: SiteConfig, opts: CustomPixelOptions): string {
  const endpoint = normalizeEndpoint(opts.endpoint);
  const key = siteShopifyPixel(site)?.key;
  const url = `${endpoint}/e${key ? `?${PIXEL_KEY_PARAM}=${encodeURIComponent(key)}` : ''}`;
  const contentId: PixelContentId = opts.contentId ?? siteWebhooks(site)?.shopify?.contentId ?? 'product';
  const checkoutOnly = opts.checkoutOnly === true;

  // String.raw keeps the script's regular expressions' backslashes as written.
  return String.raw`// Trakvo custom pixel for Shopify, site ${literal(site.id)}.
// Paste it in Shopify admin > Settings > Customer events > Add custom pixel, set
// Customer privacy > Permission to "Not required" (this pixel applies the visitor's
// consent itself), then Save and Connect.
// It reports ${checkoutOnly ? 'the checkout funnel (InitiateCheckout, AddPaymentInfo, Purchase)' : "the shop's standard events"} to ${endpoint}; Purchase carries
// the order-derived event_id, so the order webhook's Purchase deduplicates with it.
// Generated by "trakvo shopify pixel --site ${site.id}": regenerate it rather than edit it.
(() => {
  const SITE = ${literal(site.id)};
  const ENDPOINT = ${literal(url)};
  const CONTENT_ID = ${literal(contentId)}; // "product", "variant" or "sku", as the order webhook
  const CHECKOUT_ONLY = ${literal(checkoutOnly)};
  // The sandbox's requests carry no cookies: the ones the collector reads go in the props.
  const COOKIES = ${listLiteral(PIXEL_COOKIE_PROPS, '  ')};
  const CHECKOUT_PAGE = /\/checkouts?\/|\/orders\/|\/thank[_-]you/;

  // Consent, as Trakvo's wire format carries it: 1 = granted. Undefined until Shopify says.
  const toConsent = (privacy) =>
    privacy && typeof privacy === "object"
      ? {
          m: privacy.marketingAllowed === true && privacy.saleOfDataAllowed !== false ? 1 : 0,
          a: privacy.analyticsProcessingAllowed === true ? 1 : 0,
        }
      : undefined;
  const INIT = typeof init === "object" && init ? init : {};
  const BROWSER = typeof browser === "object" && browser ? browser : null;
  let consent = toConsent(INIT.customerPrivacy);
  const privacyApi =
    (typeof api === "object" && api && api.customerPrivacy) ||
    (typeof customerPrivacy === "object" ? customerPrivacy : null);
  if (privacyApi && typeof privacyApi.subscribe === "function") {
    privacyApi.subscribe("visitorConsentCollected", (event) => {
      consent = toConsent(event && event.customerPrivacy) || consent;
    });
  }

  const text = (value) => (value === null || value === undefined ? "" : String(value).trim());
  const first = (...values) => values.map(text).find((v) => v !== "");
  const amount = (money) => {
    const v = money ? money.amount : undefined;
    const n = typeof v === "number" ? v : typeof v === "string" && v.trim() !== "" ? Number(v) : NaN;
    return isFinite(n) ? n : undefined;
  };
  // Shopify ids arrive as "123" or as GIDs ("gid://shopify/OrderIdentity/123"); the order
  // webhook knows only the number.
  const numericId = (value) => {
    const m = /^(?:gid:\/\/shopify\/\w+\/)?(\d+)(?:\?.*)?$/.exec(text(value));
    return m ? m[1] : "";
  };
  // Same derivation as the collector's orderEventId: "<event>.<site>.<order>".
  const orderEventId = (name, order) => (name + "." + SITE + "." + order.replace(/[^A-Za-z0-9_-]/g, "_")).slice(0, 128);
  const randomId = () => "px-" + Date.now().toString(36) + "-" + Math.random().toString(36).slice(2, 12);
  const eventIdOf = (event) => {
    const id = text(event && event.id).replace(/[^A-Za-z0-9_.:-]/g, "_").slice(0, 128);
    return id.length >= 8 ? id : randomId();
  };
  const set = (target, key, value) => {
    if (value !== undefined && value !== null && value !== "") target[key] = value;
    return target;
  };

  const contentIdOf = (variant) => {
    if (!variant) return "";
    const product = variant.product || {};
    const variantId = numericId(variant.id) || text(variant.id);
    const productId = numericId(product.id) || text(product.id);
    if (CONTENT_ID === "sku") return text(variant.sku) || variantId || productId;
    if (CONTENT_ID === "variant") return variantId || productId;
    return productId || variantId;
  };
  const item = (variant, quantity) => {
    const id = contentIdOf(variant).slice(0, 200);
    if (!id) return undefined;
    const q = Number(quantity);
    const content = { id: id };
    if (q > 0 && q % 1 === 0) content.quantity = q;
    return set(content, "item_price", amount(variant.price));
  };
  // value/currency of the event, and the products it concerns.
  const commerce = (value, currency, items, extra) => {
    const props = set(set({}, "value", value), "currency", text(currency).toUpperCase());
    const contents = items.filter((c) => c !== undefined);
    if (contents.length) {
      props.content_type = "product";
      props.content_ids = contents.map((c) => c.id);
      props.contents = contents;
      props.num_items = contents.reduce((n, c) => n + (c.quantity || 1), 0);
    }
    return Object.assign(props, extra || {});
  };
  const checkoutCommerce = (checkout, extra) =>
    commerce(
      amount(checkout.totalPrice),
      first(checkout.currencyCode, checkout.totalPrice && checkout.totalPrice.currencyCode),
      (checkout.lineItems || []).map((line) => item(line && line.variant, line && line.quantity)),
      extra,
    );

  // The shopper's details (cleartext; the collector normalizes and hashes them).
  const identity = (checkout) => {
    const customer = (INIT.data && INIT.data.customer) || {};
    const c = checkout || {};
    const billing = c.billingAddress || {};
    const shipping = c.shippingAddress || {};
    const orderCustomer = (c.order && c.order.customer) || {};
    const props = {};
    set(props, "email", first(c.email, customer.email));
    set(props, "phone", first(c.phone, billing.phone, shipping.phone, customer.phone));
    set(props, "first_name", first(billing.firstName, shipping.firstName, customer.firstName));
    set(props, "last_name", first(billing.lastName, shipping.lastName, customer.lastName));
    set(props, "city", first(billing.city, shipping.city));
    set(props, "state", first(billing.provinceCode, shipping.provinceCode));
    set(props, "zip", first(billing.zip, shipping.zip));
    set(props, "country", first(billing.countryCode, shipping.countryCode));
    set(props, "external_id", first(numericId(orderCustomer.id), numericId(customer.id)));
    return props;
  };
  const cookies = async () => {
    const props = {};
    if (!BROWSER || !BROWSER.cookie) return props;
    const values = await Promise.all(
      COOKIES.map((name) => Promise.resolve().then(() => BROWSER.cookie.get(name)).then(text, () => "")),
    );
    COOKIES.forEach((name, i) => set(props, name, values[i].slice(0, 500)));
    return props;
  };

  // sendBeacon outlives the page; when it is missing or refuses, fetch with keepalive.
  // The answer is never read (the sandbox's opaque origin could not read it anyway).
  const post = (body) => {
    const viaFetch = () => {
      try {
        fetch(ENDPOINT, { method: "POST", body: body, keepalive: true, mode: "no-cors" }).catch(() => {});
      } catch (e) {}
    };
    if (!BROWSER || typeof BROWSER.sendBeacon !== "function") return viaFetch();
    Promise.resolve()
      .then(() => BROWSER.sendBeacon(ENDPOINT, body))
      .then((queued) => queued || viaFetch(), viaFetch);
  };

  const report = async (name, event, props, eventId) => {
    const granted = consent;
    if (granted && !granted.m && !granted.a) return; // the visitor allowed nothing
    if (!granted || granted.m) {
      const checkout = event.data && event.data.checkout;
      Object.assign(props, identity(checkout), await cookies());
    }
    const context = event.context || INIT.context || {};
    const doc = context.document || {};
    const url = text(doc.location && doc.location.href).slice(0, 4096);
    if (!/^https?:\/\//.test(url)) return;
    const referrer = text(doc.referrer);
    const wire = { s: SITE, n: name, i: eventId || eventIdOf(event), u: url };
    if (/^https?:\/\//.test(referrer)) wire.r = referrer.slice(0, 4096);
    set(wire, "t", text(doc.title).slice(0, 1000));
    if (Object.keys(props).length) wire.p = props;
    if (granted) wire.c = { m: granted.m, a: granted.a };
    wire.ts = Date.parse(event.timestamp) || Date.now();
    post(JSON.stringify(wire));
  };

  const on = (shopifyEvent, handle) =>
    analytics.subscribe(shopifyEvent, (event) => {
      try {
        return Promise.resolve(handle(event || {}, (event && event.data) || {})).catch(() => {});
      } catch (e) {}
    });

  on("page_viewed", (event) => {
    const location = (event.context && event.context.document && event.context.document.location) || {};
    if (CHECKOUT_ONLY && !CHECKOUT_PAGE.test(text(location.pathname))) return;
    return report("PageView", event, {});
  });
  on("checkout_started", (event, data) => report("InitiateCheckout", event, checkoutCommerce(data.checkout || {})));
  on("payment_info_submitted", (event, data) => report("AddPaymentInfo", event, checkoutCommerce(data.checkout || {})));
  on("checkout_completed", (event, data) => {
    const checkout = data.checkout || {};
    const order = numericId(checkout.order && checkout.order.id);
    // Without the order id the event_id could not match the order webhook's: the webhook
    // reports this purchase alone rather than twice.
    if (!order) return;
    return report("Purchase", event, checkoutCommerce(checkout, { order_id: order }), orderEventId("Purchase", order));
  });
  if (CHECKOUT_ONLY) return;
  on("product_viewed", (event, data) => {
    const variant = data.productVariant || {};
    const props = commerce(amount(variant.price), variant.price && variant.price.currencyCode, [item(variant, 1)]);
    set(props, "content_name", text(variant.product && variant.product.title).slice(0, 500));
    set(props, "content_category", text(variant.product && variant.product.type).slice(0, 500));
    return report("ViewContent", event, props);
  });
  on("product_added_to_cart", (event, data) => {
    const line = data.cartLine || {};
    const cost = line.cost && line.cost.totalAmount;
    const variant = line.merchandise;
    const props = commerce(amount(cost), first(cost && cost.currencyCode, variant && variant.price && variant.price.currencyCode), [
      item(variant, line.quantity),
    ]);
    set(props, "content_name", text(variant && variant.product && variant.product.title).slice(0, 500));
    return report("AddToCart", event, props);
  });
  on("search_submitted", (event, data) => {
    const result = data.searchResult || {};
    const ids = (result.productVariants || []).map(contentIdOf).filter((id) => id !== "").slice(0, 50);
    const props = set({}, "search_string", text(result.query).slice(0, 500));
    if (ids.length) props.content_ids = ids;
    return report("Search", event, props);
  });
})();
`;
}
