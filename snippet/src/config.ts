// The snippet's settings, read once from its own <script> tag's data-* attributes.
import { doc } from './globals.js';

function ownTag(): HTMLScriptElement | undefined {
  const current = doc.currentScript as HTMLScriptElement | null;
  if (current) return current;
  // currentScript is null only when t.js runs from a callback or as a module; then the tag
  // is the last one carrying data-site.
  const tags = doc.querySelectorAll<HTMLScriptElement>('script[data-site]');
  return tags[tags.length - 1];
}

const script = ownTag();
const data: DOMStringMap = script ? script.dataset : {};

/** Without it the snippet does nothing. */
export const site = data.site;

/**
 * Base URL of the collector, without a trailing slash; events go to `${endpoint}/e`.
 * Default: the folder t.js was served from (https://shop.com/t/t.js → https://shop.com/t).
 */
export const endpoint = (data.endpoint || (script ? script.src.split('?')[0]!.replace(/[^/]*$/, '') : '')).replace(/\/$/, '');

/** data-auto="0" turns automatic PageViews (on load and on SPA navigations) off. */
export const autoPageviews = data.auto !== '0';

/** data-hash-pageviews="1": a change of the #fragment alone is a new page. */
export const hashPageviews = data.hashPageviews === '1';

/**
 * data-no-detect="Lead Search": automatic detectors to switch off on this site, by event name
 * (ViewContent AddToCart InitiateCheckout AddPaymentInfo Purchase Lead Search) or by source
 * (dataLayer, attributes = Shopify cart attributes); "all" switches every detector off.
 * Manual trakvo() calls and data-trakvo-event elements are never switched off.
 */
const noDetect = data.noDetect || '';
export const detectorOn = (what: string): boolean => !/all/.test(noDetect) && !noDetect.includes(what);

/** data-currency="EUR": the currency of detected values whose page does not name one. */
export const defaultCurrency = data.currency;

/** data-mirror-fbq="1": the page's own fbq('track', …) calls are sent to the collector too. */
export const mirrorFbq = data.mirrorFbq === '1';
