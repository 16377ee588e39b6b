// What the collector needs to take events from the Shopify custom pixel (custom-pixel.ts).
//
// The pixel runs in Shopify's Lax sandbox: an iframe without `allow-same-origin`, so its
// document has an opaque origin. Requests it makes carry `Origin: null` and no Referer
// (Referrer Policy: an opaque-origin document sends no referrer) and none of the shop's
// cookies (the request is cross-site from an opaque origin). Two consequences:
//
//   - The origin check of POST /e cannot recognize the shop. A site that sets
//     `shopifyPixel.key` lets requests that carry the key in the query (`/e?k=<key>`) in
//     instead. The key is not a secret (it is pasted into the pixel, which any visitor's
//     browser downloads); like an allowed origin, it only tells the collector that the
//     request claims to come from this site's pixel, which also decides where ids come from.
//   - The ids the collector normally reads from cookies arrive as props named after the
//     cookies (`_fbp`, `_fbc`, `_tk_vid`, …), read by the pixel with `browser.cookie.get`.
//     `identifiersFromPixelProps` takes them out of the props and reads them exactly as the
//     request's cookies would be read. No cookie is minted or set for such a request: the
//     browser discards Set-Cookie on it, and a fresh _fbp per event would be noise.
import { timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import type { SiteConfig } from '../config/schema.js';
import type { Identifiers } from '../event/schema.js';
import { CLICK_ID_PARAMS, clickIdCookieName, readIdentifiersFromCookies, SESSION_COOKIE, VISITOR_COOKIE } from '../http/first-party-cookies.js';

/** The query parameter of POST /e that carries the site's pixel key. */
export const PIXEL_KEY_PARAM = 'k';

/** A site's `shopifyPixel` block (SiteSchema: `shopifyPixel: ShopifyPixelSiteSchema.optional()`). */
export const ShopifyPixelSiteSchema = z
  .object({
    /** Public key the pixel sends as `?k=`; any random string of 16–128 URL-safe characters. */
    key: z.string().regex(/^[A-Za-z0-9_-]{16,128}$/, '16 to 128 letters, digits, _ or - (e.g. from `openssl rand -hex 16`)'),
  })
  .strict();
export type ShopifyPixelSiteConfig = z.output<typeof ShopifyPixelSiteSchema>;

/** The site's parsed `shopifyPixel` block, if its SiteSchema carries one. */
export function siteShopifyPixel(site: SiteConfig): ShopifyPixelSiteConfig | undefined {
  return (site as SiteConfig & { shopifyPixel?: ShopifyPixelSiteConfig }).shopifyPixel;
}

/** True when `key` (the request's `?k=`) is the site's pixel key. Constant time. */
export function isShopifyPixelRequest(site: SiteConfig, key: unknown): boolean {
  const expected = siteShopifyPixel(site)?.key;
  if (expected === undefined || typeof key !== 'string') return false;
  const a = Buffer.from(key);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * The cookies the pixel reads and sends as props, by their cookie names: everything
 * `readIdentifiersFromCookies` understands except GA4's `_ga_<container>` (its name is not
 * known in advance).
 */
export const PIXEL_COOKIE_PROPS: readonly string[] = [
  '_fbp',
  '_fbc',
  VISITOR_COOKIE,
  SESSION_COOKIE,
  ...CLICK_ID_PARAMS.map(({ key }) => clickIdCookieName(key)),
  '_ttp',
  '_ga',
  '_scid',
  '_rdt_uuid',
  // The platforms' own cookies, read when ours are missing.
  '_gcl_aw',
  'ttclid',
  '_uetmsclkid',
  '_epik',
  '_rdt_cid',
  'li_fat_id',
];
const COOKIE_PROP_SET = new Set(PIXEL_COOKIE_PROPS);

/**
 * Splits an event's props into the cookie values the pixel put there (by cookie name, as a
 * request's parsed Cookie header would hold them) and the remaining props. Cookie-named
 * props are never custom data: they are identifiers, and are read as such or dropped.
 */
export function splitPixelCookieProps(props: Record<string, unknown> | undefined): {
  cookies: Record<string, string>;
  props: Record<string, unknown>;
} {
  const cookies: Record<string, string> = {};
  const rest: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(props ?? {})) {
    if (!COOKIE_PROP_SET.has(key)) rest[key] = value;
    else if (typeof value === 'string') cookies[key] = value;
  }
  return { cookies, props: rest };
}

/**
 * The identifiers a pixel event's cookie-named props carry, read exactly as request cookies
 * are (malformed values dropped, nothing minted), and the remaining props. `now` lets an
 * `fbclid` in the page URL make a fresh `fbc`, as for a request with cookies.
 */
export function identifiersFromPixelProps(
  props: Record<string, unknown> | undefined,
  pageUrl: string | undefined,
  now: number,
): { ids: Identifiers; props: Record<string, unknown> } {
  const split = splitPixelCookieProps(props);
  return { ids: readIdentifiersFromCookies(split.cookies, pageUrl, { now }), props: split.props };
}
