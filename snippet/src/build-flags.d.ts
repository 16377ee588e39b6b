// Compile-time features, replaced by constants when rollup.config.mjs builds a variant of t.js
// (terser global_defs), so a build without a feature carries none of its bytes. See
// docs/auto-detection.md for which variant carries which.
/** Shopify: its product object, Shopify.checkout, /cart/add forms and AJAX, cart attributes. */
declare const F_SHOPIFY: boolean;
/**
 * Shopify's legacy thank-you page object (Shopify.checkout): only where t.js was pasted into
 * the checkout's "additional scripts", which Checkout Extensibility retires.
 */
declare const F_SHOPIFY_THANKYOU: boolean;
/** WooCommerce: product id, order-received page, checkout page, form.cart and wc-ajax adds. */
declare const F_WOO: boolean;
/** schema.org Product JSON-LD and og:type=product meta tags (ViewContent). */
declare const F_JSONLD: boolean;
/** GA4 and Universal Analytics e-commerce events pushed to window.dataLayer. */
declare const F_DATALAYER: boolean;
/** Lead and Search form submits, checkout button clicks. */
declare const F_FORMS: boolean;
/** Landing on a search results page (?s=, /search?q=) from another site. */
declare const F_SEARCH_PAGE: boolean;
/** data-trakvo-event elements. */
declare const F_DECLARED: boolean;
/** Every event also to window.fbq / window.ttq with the same id. */
declare const F_PIXELS: boolean;
/** data-mirror-fbq="1": the page's own fbq('track') calls to the collector. */
declare const F_MIRROR: boolean;
