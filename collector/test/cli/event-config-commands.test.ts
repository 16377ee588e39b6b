// `trakvo events get` and `trakvo config check [--send-test]` against a real SQLite store
// and the local Meta Graph API mock.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { metaDestination } from '../../src/destinations/meta.js';
import { DESTINATIONS } from '../../src/destinations/registry.js';
import { startMetaGraphMock, type RunningMetaGraphMock } from '../../src/mocks/meta-graph.js';
import { makeEvent, sha256Hex } from '../fixtures/events.js';
import { workspace, type Workspace } from './cli-helpers.js';

let graph: RunningMetaGraphMock;
let ws: Workspace;

beforeAll(async () => {
  graph = await startMetaGraphMock({ accessToken: 'tok', pixelId: '111' });
});
afterAll(async () => {
  await graph.close();
});
beforeEach(() => {
  graph.reset();
  ws = workspace();
});
afterEach(() => ws.remove());

function config(destinations: Record<string, unknown>[], extraSites: Record<string, unknown>[] = []) {
  return { sites: [{ id: 'shop', allowedOrigins: ['https://shop.com'], destinations }, ...extraSites] };
}

describe('trakvo events get', () => {
  async function seedWithAttempts() {
    ws.writeConfig(config([
      { id: 'meta0', type: 'meta', pixelId: '111', accessToken: 'tok' },
      { id: 'meta1', type: 'meta', pixelId: '222', accessToken: 'tok' },
    ], [{ id: 'blog', allowedOrigins: ['https://blog.shop.com'] }]));
    const event = makeEvent({ event_time: Math.floor(Date.now() / 1000), user: { em: sha256Hex('jane@example.com'), ph: sha256Hex('5511999990000'), external_id: sha256Hex('c-42') } });
    const store = ws.openStore();
    try {
      await store.insertEvents([{ event, destinations: ['meta0', 'meta1'] }]);
      const [meta, hook] = (await store.getEvent('shop', event.event_id))!.deliveries;
      const t = Date.now();
      await store.markRetry([meta!.delivery_id], t + 1000, { httpStatus: 503, error: 'Meta HTTP 503', durationMs: 812.4, response: '<html>Service Unavailable</html>' }, t);
      await store.markDelivered([meta!.delivery_id], { httpStatus: 200, durationMs: 95, response: '{"events_received":1,"fbtrace_id":"AbC"}' }, t + 1000);
      await store.markDead([hook!.delivery_id], { httpStatus: 410, error: 'HTTP 410: gone' }, t + 2000);
    } finally {
      await store.close();
    }
    return event;
  }

  it('prints the event, its deliveries and every attempt with the answer, and no personal data', async () => {
    const event = await seedWithAttempts();
    const r = await ws.run(['events', 'get', event.event_id, '-c', ws.configFile]);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const out = r.out;
    expect(out).toContain(`event ${event.event_id} (site shop)`);
    expect(out).toMatch(/name\s+Purchase/);
    expect(out).toMatch(new RegExp(`order\\s+${event.custom.order_id}  129.9 BRL`));
    expect(out).toMatch(/identifiers\s+em, ph, external_id, ip, user_agent, fbc, fbp, visitor_id \(values not shown\)/);
    // em 2.5 + ph 2 + external_id 1 + ip 1 + ua 0.5 + fbc 1.5 + fbp 0.5; Meta receives all of them.
    expect(out).toMatch(/match quality\s+9\.0\/10 \(meta0 9\.0, meta1 9\.0\); Trakvo's estimate/);
    expect(out).toMatch(/DELIVERY\s+DESTINATION\s+STATUS\s+ATTEMPTS\s+HTTP\s+NEXT ATTEMPT\s+DELIVERED\s+LAST ERROR/);
    expect(out).toMatch(/meta0\s+delivered\s+2\s+200\s+-\s+\d{4}-/);
    expect(out).toMatch(/meta1\s+dead\s+1\s+410\s+-\s+-\s+HTTP 410: gone/);
    const attempts = out.slice(out.indexOf('\nattempts\n'));
    expect(attempts).toMatch(/meta0  retry  HTTP 503 812 ms\n\s+error:\s+Meta HTTP 503\n\s+response: <html>Service Unavailable<\/html>/);
    expect(attempts).toMatch(/meta0  delivered  HTTP 200 95 ms\n\s+response: \{"events_received":1,"fbtrace_id":"AbC"\}/);
    expect(attempts).toMatch(/meta1  dead  HTTP 410\n\s+error:\s+HTTP 410: gone/);
    for (const secret of [event.user.em!, event.user.ph!, event.user.external_id!, event.ip!, event.user_agent!, event.ids.fbp!]) {
      expect(out).not.toContain(secret);
    }
  });

  it('--json: deliveries, attempts and match quality, identifiers by name only', async () => {
    const event = await seedWithAttempts();
    const r = await ws.run(['events', 'get', event.event_id, '--site', 'shop', '--json', '-c', ws.configFile]);
    const [entry] = JSON.parse(r.out) as Record<string, any>[];
    expect(entry!.event).toMatchObject({ event_id: event.event_id, identifiers: ['em', 'ph', 'external_id', 'ip', 'user_agent', 'fbc', 'fbp', 'visitor_id'] });
    expect(entry!.event.user).toBeUndefined();
    expect(entry!.event.ip).toBeUndefined();
    expect(entry!.deliveries).toHaveLength(2);
    expect(entry!.attempts.map((a: { outcome: string }) => a.outcome)).toEqual(['retry', 'delivered', 'dead']);
    expect(entry!.match_quality.by_destination.meta0.score).toBe(9);
    expect(r.out).not.toContain(event.user.em!);
  });

  it('an unknown event id is an error naming where it looked', async () => {
    ws.writeConfig(config([]));
    const r = await ws.run(['events', 'get', 'nope', '-c', ws.configFile]);
    expect(r.code).toBe(1);
    expect(r.err).toBe('no event "nope" in sites shop\n');
  });

  it('--help', async () => {
    const r = await ws.run(['events', 'get', '--help']);
    expect(r.out).toContain('Usage: trakvo events get [options] <event_id>');
    expect(r.out).toContain('never printed');
  });
});

describe('trakvo config check', () => {
  it('validates and summarizes; a broken config is refused with the key named', async () => {
    ws.writeConfig(config([{ id: 'meta0', type: 'meta', pixelId: '111', accessToken: 'tok', testEventCode: 'TEST42' }]));
    const ok = await ws.run(['config', 'check', '-c', ws.configFile]);
    expect(ok.code).toBe(0);
    expect(ok.out).toBe('site shop: origins https://shop.com; destinations meta0 (meta, test mode)\nconfig OK\n');
    expect(graph.received).toHaveLength(0);

    ws.writeConfig(config([{ id: 'meta0', type: 'meta', pixelId: 'abc', accessToken: 'env:TRAKVO_TEST_UNSET_TOKEN' }]));
    const bad = await ws.run(['config', 'check', '-c', ws.configFile]);
    expect(bad.code).toBe(1);
    expect(bad.err).toContain('sites[0].destinations[0].accessToken: environment variable TRAKVO_TEST_UNSET_TOKEN is not set');
  });

  it('--send-test sends one test event through the real mapping and HTTP and prints the answer', async () => {
    ws.writeConfig(config([
      { id: 'meta0', type: 'meta', pixelId: '111', accessToken: 'tok', baseUrl: graph.url, testEventCode: 'TEST42' },
      { id: 'meta1', type: 'meta', pixelId: '111', accessToken: 'tok', baseUrl: graph.url },
      { id: 'meta2', type: 'meta', pixelId: '111', accessToken: 'tok', baseUrl: graph.url, testEventCode: 'X', enabled: false },
    ]));
    const r = await ws.run(['config', 'check', '--send-test', '-c', ws.configFile]);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const lines = r.out.trim().split('\n');
    expect(lines[1]).toBe('config OK');
    expect(lines[2]).toMatch(/^shop\/meta0 \(meta\): test event trakvo-config-check-[0-9a-f-]{36} \(testEventCode TEST42\) → HTTP 200 in \d+ ms, accepted$/);
    expect(lines[3]).toMatch(/^ {2}answer: \{"events_received":1,.*"fbtrace_id":/);
    expect(lines[4]).toBe('shop/meta1 (meta): set testEventCode to send a test event, skipped');
    expect(lines[5]).toBe('shop/meta2 (meta): disabled, skipped');
    // Exactly one request, in test mode, valid by Meta's contract (the mock checked it).
    expect(graph.received).toHaveLength(1);
    expect(graph.received[0]!.test_event_code).toBe('TEST42');
    expect(graph.received[0]!.body.data).toEqual([expect.objectContaining({ event_name: 'PageView', action_source: 'website' })]);
    expect(r.out).not.toContain('tok"');
  });

  it('--send-test reports a refusal (bad token) and exits 1', async () => {
    ws.writeConfig(config([{ id: 'meta0', type: 'meta', pixelId: '111', accessToken: 'wrong', baseUrl: graph.url, testEventCode: 'TEST42' }]));
    const r = await ws.run(['config', 'check', '--send-test', '-c', ws.configFile]);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/shop\/meta0 \(meta\): test event \S+ \(testEventCode TEST42\) → HTTP \d{3} in \d+ ms, auth: Meta error 190/);
  });

  it('--send-test with nothing in test mode says so, and contacts no one', async () => {
    // A platform without a test mode, registered for this test only.
    DESTINATIONS.notest = { ...metaDestination, type: 'notest', configSchema: z.object({ type: z.literal('notest') }) };
    try {
      ws.writeConfig(config([{ id: 'other', type: 'notest' }]));
      const r = await ws.run(['config', 'check', '--send-test', '-c', ws.configFile]);
      expect(r.out).toContain('shop/other (notest): the platform has no test mode, skipped (nothing is sent to it)');
      expect(r.out).toContain('no test event sent: no enabled destination has a test mode configured');
      expect(r.code).toBe(0);
      expect(graph.received).toHaveLength(0);
    } finally {
      delete DESTINATIONS.notest;
    }
  });

  it('--help', async () => {
    const r = await ws.run(['config', 'check', '--help']);
    expect(r.out).toContain('Usage: trakvo config check [options]');
    expect(r.out).toContain('--send-test');
  });
});
