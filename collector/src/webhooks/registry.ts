// Every inbound webhook platform by the name used in `POST /webhooks/<platform>/<site>` and
// in a site's `webhooks` config block.
import { cakto } from './cakto.js';
import { cartpanda } from './cartpanda.js';
import { generic } from './generic.js';
import { hotmart } from './hotmart.js';
import { kiwify } from './kiwify.js';
import { shopify } from './shopify.js';
import { stripe } from './stripe.js';
import type { WebhookPlatform, WebhookPlatformName } from './types.js';
import { woocommerce } from './woocommerce.js';

export const WEBHOOK_DEFINITIONS: Record<WebhookPlatformName, WebhookPlatform<unknown>> = {
  shopify,
  woocommerce,
  stripe,
  hotmart,
  kiwify,
  cakto,
  cartpanda,
  generic,
};

export function webhookPlatform(name: string): WebhookPlatform<unknown> | undefined {
  return Object.prototype.hasOwnProperty.call(WEBHOOK_DEFINITIONS, name) ? WEBHOOK_DEFINITIONS[name as WebhookPlatformName] : undefined;
}
