// `trakvo shopify pixel --site S [--endpoint URL]`: prints the custom pixel a Shopify
// merchant pastes in Settings › Customer events (shopify/custom-pixel.ts). The script goes
// to stdout alone, so it can be piped or redirected; notes go to stderr.
import { InvalidArgumentError, type Command } from 'commander';
import type { CollectorConfig, SiteConfig } from '../config/schema.js';
import { normalizeEndpoint, renderShopifyCustomPixel, type PixelContentId } from '../shopify/custom-pixel.js';
import { siteShopifyPixel } from '../shopify/pixel-requests.js';
import { failWith, UsageError, type Io } from './cli-context.js';

export interface ShopifyCommandDeps {
  /** Loads and validates the config (`--config` or $TRAKVO_CONFIG). */
  loadConfig(configPath?: string): CollectorConfig;
  /** Standard output, one line per call (default: process.stdout). */
  out?(line: string): void;
  /** Standard error (default: process.stderr). */
  err?(line: string): void;
}

const CONTENT_IDS: readonly PixelContentId[] = ['product', 'variant', 'sku'];

function contentIdOption(value: string): PixelContentId {
  if (!(CONTENT_IDS as readonly string[]).includes(value)) throw new InvalidArgumentError(`must be one of ${CONTENT_IDS.join(', ')}`);
  return value as PixelContentId;
}

/** Where the collector is reached by default: the site's first allowed origin + basePath. */
export function defaultEndpoint(config: CollectorConfig, site: SiteConfig): string | undefined {
  const origin = site.allowedOrigins[0];
  if (origin === undefined) return undefined;
  return `${origin}${config.basePath === '/' ? '' : config.basePath.replace(/\/+$/, '')}`;
}

function isLocal(endpoint: string): boolean {
  const host = new URL(endpoint).hostname;
  return host === 'localhost' || host.endsWith('.localhost') || host === '127.0.0.1' || host === '[::1]';
}

export function registerShopifyCommands(program: Command, deps: ShopifyCommandDeps): void {
  const io: Io = {
    out: deps.out ?? ((line) => void process.stdout.write(`${line}\n`)),
    err: deps.err ?? ((line) => void process.stderr.write(`${line}\n`)),
  };
  const shopify = program.command('shopify').description('Shopify tools');
  shopify
    .command('pixel')
    .description('print the custom pixel to paste in Shopify admin › Settings › Customer events')
    .requiredOption('--site <id>', 'site id from the config')
    .option('--endpoint <url>', "the collector's public base URL, where t.js is served (default: the site's first allowed origin + basePath)")
    .option('--checkout-only', 'report only the checkout funnel (for shops whose theme already runs t.js)')
    .option('--content-id <kind>', `content id: ${CONTENT_IDS.join(', ')} (default: the site's Shopify webhook contentId, else product)`, contentIdOption)
    .option('-c, --config <file>', 'config file (default: $TRAKVO_CONFIG)')
    .addHelpText(
      'after',
      `
The pixel posts the shop's standard events (page_viewed, product_viewed,
product_added_to_cart, checkout_started, payment_info_submitted, checkout_completed,
search_submitted) to <endpoint>/e; its Purchase carries the order-derived event_id, so the
Shopify order webhook deduplicates with it. It honours Shopify's customer privacy API.

In Shopify admin: Settings › Customer events › Add custom pixel, paste the script, set
Customer privacy › Permission to "Not required" (the pixel applies consent itself),
Save, Connect. See docs/shopify-pixel.md for the origin and key the collector needs.

Example:
  trakvo shopify pixel --site shop --endpoint https://www.shop.com/t > trakvo-pixel.js`,
    )
    .action((o: { site: string; endpoint?: string; checkoutOnly?: boolean; contentId?: PixelContentId; config?: string }) => {
      try {
        const config = deps.loadConfig(o.config);
        const site = config.sites.find((s) => s.id === o.site);
        if (!site) throw new UsageError(`no site "${o.site}" in the config (sites: ${config.sites.map((s) => s.id).join(', ')})`);
        const endpoint = normalizeEndpoint(o.endpoint ?? defaultEndpoint(config, site) ?? '');
        const script = renderShopifyCustomPixel(site, { endpoint, checkoutOnly: o.checkoutOnly, contentId: o.contentId });
        for (const line of script.replace(/\n$/, '').split('\n')) io.out(line);
        if (o.endpoint === undefined) io.err(`note: events go to ${endpoint}/e (pass --endpoint if the collector is reached elsewhere)`);
        if (new URL(endpoint).protocol === 'http:' && !isLocal(endpoint)) {
          io.err('warning: the endpoint is plain http; Shopify pages are https, so browsers will block the requests');
        }
        if (siteShopifyPixel(site) === undefined) {
          io.err(`note: site "${site.id}" has no shopifyPixel.key: the collector recognizes the pixel only by Origin (see docs/shopify-pixel.md)`);
        }
      } catch (err) {
        failWith(io, err);
      }
    });
}
