// GET /shopify/pixel/<site>.js: the site's Shopify custom pixel as text, for the dashboard
// to show and for a merchant to copy (the same script `trakvo shopify pixel` prints).
//
//   ?checkout_only=1          only the checkout funnel (the theme runs t.js)
//   ?content_id=variant|sku   content ids (default: the site's Shopify webhook contentId)
//
// The pixel posts to the collector this router is mounted in: mount it on the collector's
// router (beside /e) or pass `endpoint`. Served as text/plain: it is for pasting, not for
// running on this origin. It holds nothing secret (site id, endpoint, the public pixel key).
import express, { type Router } from 'express';
import type { CollectorContext } from '../http/collector-context.js';
import { sendError } from '../http/errors.js';
import { normalizeEndpoint, renderShopifyCustomPixel, type PixelContentId } from './custom-pixel.js';

export interface ShopifyPixelRouterOptions {
  /** The collector's public base URL; default: this request's scheme, host and mount path. */
  endpoint?: string;
}

const CONTENT_IDS = new Set<string>(['product', 'variant', 'sku']);

export function shopifyPixelRouter(ctx: Pick<CollectorContext, 'sites'>, opts: ShopifyPixelRouterOptions = {}): Router {
  const configured = opts.endpoint === undefined ? undefined : normalizeEndpoint(opts.endpoint);
  const router = express.Router();
  router.get('/shopify/pixel/:site.js', (req, res) => {
    const site = ctx.sites.get(String(req.params.site));
    if (!site) return sendError(res, 404, 'unknown_site', `no site "${String(req.params.site)}"`);
    const contentId = typeof req.query.content_id === 'string' ? req.query.content_id : undefined;
    if (contentId !== undefined && !CONTENT_IDS.has(contentId)) {
      return sendError(res, 400, 'invalid_query', 'content_id must be product, variant or sku', [
        { field: 'content_id', message: 'must be product, variant or sku' },
      ]);
    }
    const endpoint = configured ?? `${req.protocol}://${req.host}${req.baseUrl}`;
    let script: string;
    try {
      script = renderShopifyCustomPixel(site, {
        endpoint,
        checkoutOnly: req.query.checkout_only === '1' || req.query.checkout_only === 'true',
        ...(contentId !== undefined ? { contentId: contentId as PixelContentId } : {}),
      });
    } catch (err) {
      return sendError(res, 400, 'invalid_endpoint', (err as Error).message);
    }
    res
      .status(200)
      .set({ 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff' })
      .send(script);
  });
  return router;
}
