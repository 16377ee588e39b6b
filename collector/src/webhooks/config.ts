// A site's `webhooks` block: one optional entry per platform, each validated by the
// platform's own schema. Secrets are written as `env:NAME` or `file:/path` references in the
// config file; the loader resolves them before this schema runs.
//
//   "webhooks": {
//     "shopify":     { "secret": "env:SHOPIFY_WEBHOOK_SECRET" },
//     "woocommerce": { "secret": "env:WC_WEBHOOK_SECRET" },
//     "stripe":      { "secret": "env:STRIPE_WEBHOOK_SECRET", "toleranceSec": 300 },
//     "hotmart":     { "hottok": "env:HOTMART_HOTTOK" },
//     "kiwify":      { "token": "env:KIWIFY_WEBHOOK_TOKEN" },
//     "cakto":       { "secret": "env:CAKTO_WEBHOOK_SECRET" },
//     "cartpanda":   { "token": "env:CARTPANDA_TOKEN" },
//     "generic":     { "secret": "env:CHECKOUT_SECRET", "mapping": { … } }
//   }
import { z } from 'zod';
import type { SiteConfig } from '../config/schema.js';
import { CaktoConfigSchema, type CaktoConfig } from './cakto.js';
import { CartpandaConfigSchema, type CartpandaConfig } from './cartpanda.js';
import { GenericConfigSchema, type GenericConfig } from './generic.js';
import { HotmartConfigSchema, type HotmartConfig } from './hotmart.js';
import { KiwifyConfigSchema, type KiwifyConfig } from './kiwify.js';
import { ShopifyConfigSchema, type ShopifyConfig } from './shopify.js';
import { StripeConfigSchema, type StripeConfig } from './stripe.js';
import { WooCommerceConfigSchema, type WooCommerceConfig } from './woocommerce.js';

export const WebhooksConfigSchema = z
  .object({
    shopify: ShopifyConfigSchema.optional(),
    woocommerce: WooCommerceConfigSchema.optional(),
    stripe: StripeConfigSchema.optional(),
    hotmart: HotmartConfigSchema.optional(),
    kiwify: KiwifyConfigSchema.optional(),
    cakto: CaktoConfigSchema.optional(),
    cartpanda: CartpandaConfigSchema.optional(),
    generic: GenericConfigSchema.optional(),
  })
  .strict();

export interface WebhooksConfig {
  shopify?: ShopifyConfig;
  woocommerce?: WooCommerceConfig;
  stripe?: StripeConfig;
  hotmart?: HotmartConfig;
  kiwify?: KiwifyConfig;
  cakto?: CaktoConfig;
  cartpanda?: CartpandaConfig;
  generic?: GenericConfig;
}
export type WebhooksConfigInput = z.input<typeof WebhooksConfigSchema>;

/** The site's parsed `webhooks` block (SiteSchema's `webhooks: WebhooksConfigSchema.optional()`). */
export function siteWebhooks(site: SiteConfig): WebhooksConfig | undefined {
  return (site as SiteConfig & { webhooks?: WebhooksConfig }).webhooks;
}
