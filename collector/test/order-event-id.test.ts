import { describe, expect, it } from 'vitest';
import { orderEventId } from '../src/event/order-event-id.js';
import { BrowserWireSchema } from '../src/pipeline/browser-event.js';

describe('orderEventId', () => {
  it('is readable and deterministic', () => {
    expect(orderEventId('shop', 'Purchase', 'ORD-1')).toBe('Purchase.shop.ORD-1');
    expect(orderEventId('shop', 'Purchase', 5012345678901)).toBe('Purchase.shop.5012345678901');
    expect(orderEventId('shop', 'Purchase', ' #1001 ')).toBe('Purchase.shop._1001');
  });
  it('differs per site and per event name', () => {
    expect(orderEventId('a', 'Purchase', '1')).not.toBe(orderEventId('b', 'Purchase', '1'));
    expect(orderEventId('a', 'Purchase', '1')).not.toBe(orderEventId('a', 'Refund', '1'));
  });
  it('always fits the event_id the browser endpoint accepts', () => {
    const id = orderEventId('shop', 'Purchase', `ß/é ${'x'.repeat(300)}`);
    expect(id.length).toBe(128);
    expect(BrowserWireSchema.shape.i.safeParse(id).success).toBe(true);
  });
});
