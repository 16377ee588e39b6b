// The SDK as users import it: `trakvo/client` through package.json "exports" (the built
// file; npm test builds first), with no server code pulled in at runtime.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { startHarness } from './harness.js';

describe("import { Trakvo } from 'trakvo/client'", () => {
  it('resolves to the built SDK, which imports nothing at runtime', () => {
    const resolved = createRequire(import.meta.url).resolve('trakvo/client');
    expect(resolved).toMatch(/build\/collector\/src\/client\/index\.js$/);
    expect(readFileSync(resolved, 'utf8')).not.toMatch(/^\s*import\s.+from\s/m);
  });

  it('sends an event and reads its status against a running collector', async () => {
    const { Trakvo } = (await import('trakvo/client')) as typeof import('../../src/client/index.js');
    const h = await startHarness();
    try {
      const client = new Trakvo({ baseUrl: h.base, token: await h.token() });
      const sent = await client.track({ event: 'Lead', user: { email: 'sdk@example.com' } });
      expect(sent.status).toBe('queued');
      const status = await client.getEvent(sent.event_id);
      expect(status?.event_id).toBe(sent.event_id);
    } finally {
      await h.close();
    }
  });
});
