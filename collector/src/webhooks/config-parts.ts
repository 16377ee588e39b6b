// Config pieces every platform's webhook block shares. Secrets are plain strings here: the
// config loader has already replaced `env:NAME` / `file:/path` references with their values.
import { z } from 'zod';

const SECRET_MIN = 8;

/** One secret, or a list while rotating (old and new both accepted). */
export const SecretSchema = z.union([
  z.string().min(SECRET_MIN, `must be at least ${SECRET_MIN} characters (use env:NAME)`),
  z
    .array(z.string().min(SECRET_MIN, `must be at least ${SECRET_MIN} characters (use env:NAME)`))
    .min(1, 'list at least one secret'),
]);

/**
 * Consent a webhook event carries. Commerce platforms do not report the shopper's tracking
 * consent, so the default is granted (the purchase happened and the merchant has a
 * contract with the buyer); sites whose law requires opt-in set `marketing: false` here,
 * and an order can also carry the page's choice in `_tk_consent` (see docs/webhooks.md).
 */
export const WebhookConsentSchema = z
  .object({ marketing: z.boolean(), analytics: z.boolean() })
  .default({ marketing: true, analytics: true });

/** Which product identifier becomes the content id (match the ids your pixel/catalog use). */
export const ContentIdSchema = z.enum(['product', 'variant', 'sku']).default('product');

export const CurrencyCodeSchema = z
  .string()
  .regex(/^[A-Za-z]{3}$/, 'ISO 4217 code like BRL')
  .transform((s) => s.toUpperCase());

/** Options every platform block accepts besides its secret. */
export const commonOptions = {
  consent: WebhookConsentSchema,
};
