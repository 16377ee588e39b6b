// The `webhooks` block of a site: defaults, and errors that name the key.
import { describe, expect, it } from 'vitest';
import { WebhooksConfigSchema } from '../../src/webhooks/config.js';

const issues = (input: unknown) => {
  const r = WebhooksConfigSchema.safeParse(input);
  return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
};

describe('WebhooksConfigSchema', () => {
  it('fills each platform’s defaults', () => {
    const c = WebhooksConfigSchema.parse({
      shopify: { secret: 'shpss_0123456789' },
      stripe: { secret: 'whsec_0123456789' },
      kiwify: { token: 'kiwify-token-1' },
    });
    expect(c.shopify).toEqual({
      secret: 'shpss_0123456789',
      purchaseStatuses: ['paid', 'authorized', 'partially_refunded'],
      includeTest: false,
      contentId: 'product',
      consent: { marketing: true, analytics: true },
    });
    expect(c.stripe?.toleranceSec).toBe(300);
    expect(c.kiwify).toMatchObject({ visitorIdParam: 'sck', defaultCurrency: 'BRL' });
  });

  it('names short secrets, unknown platforms and unknown options', () => {
    expect(issues({ shopify: { secret: 'short' } })).toEqual([expect.stringMatching(/^shopify\.secret: must be at least 8 characters/)]);
    expect(issues({ magento: { secret: 'whatever-123' } })).toEqual([expect.stringMatching(/magento|Unrecognized key/)]);
    expect(issues({ stripe: { secret: 'whsec_0123456789', tolerance: 10 } })).toEqual([expect.stringMatching(/Unrecognized key.*tolerance/)]);
    expect(issues({ stripe: { secret: 'whsec_0123456789', toleranceSec: 0 } })).toEqual([expect.stringMatching(/^stripe\.toleranceSec/)]);
  });

  it('accepts a list of secrets for rotation', () => {
    expect(issues({ shopify: { secret: ['shpss_new_0123', 'shpss_old_0123'] } })).toEqual([]);
    expect(issues({ shopify: { secret: [] } })).toHaveLength(1);
  });

  it('merges a partial Cartpanda mapping over the defaults and names a bad override', () => {
    const c = WebhooksConfigSchema.parse({ cartpanda: { token: 'cp_token_123', mapping: { orderId: 'order.number', defaultCurrency: 'usd' } } });
    expect(c.cartpanda?.mapping).toMatchObject({ orderId: 'order.number', defaultCurrency: 'USD', value: ['order.total_price', 'order.paid_amount'] });
    expect(issues({ cartpanda: { token: 'cp_token_123', mapping: { orderId: '' } } })).toEqual([expect.stringMatching(/^cartpanda\.mapping\.orderId/)]);
  });

  it('requires the generic mapping’s event and order id', () => {
    const errs = issues({ generic: { secret: 'generic-secret', mapping: { value: 'total' } } });
    expect(errs).toEqual(expect.arrayContaining([expect.stringMatching(/^generic\.mapping\.event/), expect.stringMatching(/^generic\.mapping\.orderId/)]));
  });
});
