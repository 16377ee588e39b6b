// Event names are merchant input: a name like "constructor" must never be taken for a
// mapped standard event by a lookup that walks the prototype chain.
import { describe, expect, it } from 'vitest';
import { LinkedinConfigSchema, linkedinDestination } from '../../src/destinations/linkedin.js';
import { MicrosoftConfigSchema, microsoftDestination } from '../../src/destinations/microsoft.js';
import { RedditConfigSchema, redditDestination } from '../../src/destinations/reddit.js';
import { makeEvent } from '../fixtures/events.js';

const NAMES = ['constructor', 'toString', '__proto__', 'hasOwnProperty'];
const now = new Date();
const eventNamed = (name: string) => makeEvent({ event_name: name, event_time: Math.floor(now.getTime() / 1000) });

describe('prototype-named events', () => {
  it('LinkedIn skips them: no conversion rule', () => {
    const config = LinkedinConfigSchema.parse({ type: 'linkedin', accessToken: 't', conversions: { Purchase: '123' } });
    for (const name of NAMES) {
      const { requests, skipped } = linkedinDestination.map([eventNamed(name)], config, now);
      expect(requests).toEqual([]);
      expect(skipped[0]!.reason).toContain('no LinkedIn conversion rule');
    }
  });

  it('Microsoft sends them as custom names, not as a page type or a mapped name', () => {
    const config = MicrosoftConfigSchema.parse({ type: 'microsoft', tagId: '12345', accessToken: 't' });
    for (const name of NAMES) {
      const { requests } = microsoftDestination.map([eventNamed(name)], config, now);
      const body = JSON.parse(requests[0]!.body!) as { data: { eventName?: string; eventType?: string }[] };
      expect(body.data[0]!.eventType).toBe('custom');
      expect(body.data[0]!.eventName).toBe(name);
    }
  });

  it('Reddit treats them as custom events', () => {
    const config = RedditConfigSchema.parse({ type: 'reddit', pixelId: 't2_abc', accessToken: 't' });
    for (const name of NAMES) {
      const { requests } = redditDestination.map([eventNamed(name)], config, now);
      expect(requests[0]!.body).toContain(`"tracking_type":"CUSTOM","custom_event_name":${JSON.stringify(name)}`);
    }
  });
});
