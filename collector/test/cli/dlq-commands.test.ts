// `trakvo dlq list|replay` against a real SQLite store, and (for --dispatch) the local Meta
// Graph API mock that checks each request against Meta's contract.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startMetaGraphMock, type RunningMetaGraphMock } from '../../src/mocks/meta-graph.js';
import type { CanonicalEvent } from '../../src/event/schema.js';
import { makeEvent } from '../fixtures/events.js';
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
  ws.writeConfig({
    sites: [
      {
        id: 'shop',
        allowedOrigins: ['https://shop.com'],
        destinations: [
          { id: 'meta0', type: 'meta', pixelId: '111', accessToken: 'tok', baseUrl: graph.url },
          { id: 'meta1', type: 'meta', pixelId: '111', accessToken: 'tok', baseUrl: graph.url },
        ],
      },
    ],
  });
});
afterEach(() => ws.remove());

/** Stores events with one delivery per destination and kills those of `dead` destinations. */
async function seed(n: number, dead: Record<string, string> = { meta0: 'Meta error 190 (HTTP 401) — token expired' }) {
  const store = ws.openStore();
  try {
    const now = Date.now();
    const events: CanonicalEvent[] = Array.from({ length: n }, () => makeEvent({ event_time: Math.floor(now / 1000) - 60 }));
    await store.insertEvents(events.map((event) => ({ event, destinations: ['meta0', 'meta1'] })));
    const ids: Record<string, number[]> = {};
    for (const e of events) {
      const stored = await store.getEvent('shop', e.event_id);
      for (const d of stored!.deliveries) (ids[d.destination] ??= []).push(d.delivery_id);
    }
    for (const [dest, error] of Object.entries(dead)) {
      await store.markDead(ids[dest]!, { httpStatus: 401, error }, now);
    }
    return { events, ids };
  } finally {
    await store.close();
  }
}

async function statuses(ids: number[]): Promise<string[]> {
  const store = ws.openStore();
  try {
    const out: string[] = [];
    for (const status of ['pending', 'dead', 'delivered'] as const) {
      const rows = await store.listDeliveries({ status, limit: 1000, offset: 0 });
      for (const r of rows) if (ids.includes(r.delivery_id)) out[ids.indexOf(r.delivery_id)] = status;
    }
    return out;
  } finally {
    await store.close();
  }
}

describe('trakvo dlq list', () => {
  it('prints the dead deliveries as a table, filtered by destination and error text', async () => {
    const { events, ids } = await seed(3, { meta0: 'Meta error 190 (HTTP 401) — token expired', meta1: 'Meta error 100 (HTTP 400) — Invalid parameter' });
    const all = await ws.run(['dlq', 'list', '-c', ws.configFile]);
    expect(all.code).toBe(0);
    const lines = all.out.trim().split('\n');
    expect(lines[0]).toMatch(/^DELIVERY\s+SITE\s+DESTINATION\s+EVENT\s+NAME\s+ATTEMPTS\s+DIED\s+HTTP\s+LAST ERROR$/);
    expect(lines).toHaveLength(1 + 6 + 1);
    expect(lines.at(-1)).toBe('6 dead deliveries');

    const filtered = await ws.run(['dlq', 'list', '-c', ws.configFile, '--destination', 'meta1', '--error', 'INVALID PARAM']);
    const rows = filtered.out.trim().split('\n').slice(1, -1);
    expect(rows).toHaveLength(3);
    for (const [i, row] of rows.entries()) expect(row).toMatch(/^\d+\s+shop\s+meta1\s+evt-\S+\s+Purchase\s+1\s+\d{4}-\d\d-\d\dT[\d:]+Z\s+401\s+Meta error 100/);
    expect(rows.join('\n')).toContain(events[0]!.event_id);
    expect(rows.map((r) => Number(r.split(/\s+/)[0])).sort()).toEqual([...ids.meta1!].sort());

    const none = await ws.run(['dlq', 'list', '-c', ws.configFile, '--error', 'no such error']);
    expect(none.out).toBe('no dead deliveries match\n');
  });

  it('--limit/--offset page, and say more may follow; --json is machine-readable', async () => {
    await seed(5);
    const page = await ws.run(['dlq', 'list', '-c', ws.configFile, '--limit', '2']);
    expect(page.out.trim().split('\n').at(-1)).toBe('2 dead deliveries (more may follow: --offset 2)');
    const json = await ws.run(['dlq', 'list', '-c', ws.configFile, '--json', '--limit', '10', '--offset', '3']);
    const parsed = JSON.parse(json.out) as { destination: string; status: string }[];
    expect(parsed).toHaveLength(2);
    expect(parsed.every((d) => d.destination === 'meta0' && d.status === 'dead')).toBe(true);
  });

  it('a bad --limit is refused by the parser; a bad config names the key', async () => {
    const bad = await ws.run(['dlq', 'list', '-c', ws.configFile, '--limit', 'ten']);
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/--limit <n>.*must be a whole number/);
    ws.writeConfig({ sites: [{ id: 'shop', allowedOrigins: ['not an origin'] }] });
    const cfg = await ws.run(['dlq', 'list', '-c', ws.configFile]);
    expect(cfg.code).toBe(1);
    expect(cfg.err).toContain('sites[0].allowedOrigins[0]');
  });
});

describe('trakvo dlq replay', () => {
  it('requeues the named ids that are dead and says which were left alone', async () => {
    const { ids } = await seed(2);
    const [a, b] = ids.meta0!;
    const alive = ids.meta1![0]!;
    const r = await ws.run(['dlq', 'replay', '-c', ws.configFile, String(a), String(alive)]);
    expect(r.code).toBe(0);
    expect(r.out).toContain(`not dead, left alone: ${alive}`);
    expect(r.out).toContain('requeued 1 dead delivery; they are due now');
    expect(await statuses([a!, b!, alive])).toEqual(['pending', 'dead', 'pending']);
  });

  it('--all --error replays only the dead deliveries whose error matches', async () => {
    const { ids } = await seed(2, { meta0: 'Meta error 190 (HTTP 401) — token expired', meta1: 'Meta error 100 (HTTP 400) — Invalid parameter' });
    const r = await ws.run(['dlq', 'replay', '-c', ws.configFile, '--all', '--error', 'error 190']);
    expect(r.out).toContain('requeued 2 dead deliveries');
    expect(await statuses([...ids.meta0!, ...ids.meta1!])).toEqual(['pending', 'pending', 'dead', 'dead']);
  });

  it('needs ids or --all (not both), and ids must be numbers', async () => {
    await seed(1);
    for (const args of [[], ['--all', '1'], ['abc']]) {
      const r = await ws.run(['dlq', 'replay', '-c', ws.configFile, ...args]);
      expect(r.code).toBe(1);
      expect(r.err).toMatch(/delivery ids|not both|not a delivery id: abc/);
    }
  });

  it('--all --dispatch sends them now through the real destination and follows them to delivered', async () => {
    const { ids, events } = await seed(3);
    const r = await ws.run(['dlq', 'replay', '-c', ws.configFile, '--all', '--destination', 'meta0', '--dispatch', '--interval', '20']);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const lines = r.out.trim().split('\n');
    expect(lines[0]).toBe('requeued 3 dead deliveries; they are due now');
    expect(lines.at(-1)).toBe('delivered 3/3, dead again 0, pending 0');
    expect(await statuses(ids.meta0!)).toEqual(['delivered', 'delivered', 'delivered']);
    // The Meta mock got them (and checked the payload against Meta's contract).
    const received = graph.received.flatMap((b) => b.body.data as { event_id: string }[]).map((e) => e.event_id);
    expect(received.sort()).toEqual(events.map((e) => e.event_id).sort());
    // meta1 was never dead: untouched, still pending.
    expect(await statuses(ids.meta1!)).toEqual(['pending', 'pending', 'pending']);
  });

  it('--dispatch reports deliveries that die again and exits 1', async () => {
    const { ids } = await seed(2);
    // Meta refuses the batch, then (split by the dispatcher) the first event alone; the second goes through.
    const invalid = { status: 400, body: { error: { message: 'Invalid parameter', type: 'OAuthException', code: 100, fbtrace_id: 'x' } } };
    graph.script([invalid, invalid]);
    const r = await ws.run(['dlq', 'replay', '-c', ws.configFile, '--all', '--dispatch', '--interval', '20']);
    expect(r.code).toBe(1);
    expect(r.out.trim().split('\n').slice(-2)).toEqual(['delivered 1/2, dead again 1, pending 0', '1 died again: see `trakvo dlq list` for the platform\'s answer']);
    expect((await statuses(ids.meta0!)).sort()).toEqual(['dead', 'delivered']);
  });

  it('--dispatch tells apart deliveries the platform would no longer take (skipped)', async () => {
    const store = ws.openStore();
    const nearlyTooOld = makeEvent({ event_time: Math.floor(Date.now() / 1000) - 7 * 86400 + 60 });
    try {
      await store.insertEvents([{ event: nearlyTooOld, destinations: ['meta0'] }]);
      const [d] = (await store.getEvent('shop', nearlyTooOld.event_id))!.deliveries;
      await store.markDead([d!.delivery_id], { httpStatus: 503, error: 'gave up' }, Date.now());
    } finally {
      await store.close();
    }
    const r = await ws.run(['dlq', 'replay', '-c', ws.configFile, '--all', '--dispatch', '--interval', '20']);
    expect(r.code).toBe(0);
    expect(r.out.trim().split('\n').slice(-2)).toEqual([
      'delivered 0/1, dead again 0, skipped 1, pending 0',
      '1 skipped: the platform would not take them any more (see `trakvo events get`)',
    ]);
    expect(graph.received).toHaveLength(0);
  });

  it('long replays print progress per 500 requeued; --wait gives up after --timeout', async () => {
    await seed(1200);
    const r = await ws.run(['dlq', 'replay', '-c', ws.configFile, '--all', '--wait', '--timeout', '1', '--interval', '200']);
    const lines = r.out.trim().split('\n');
    expect(lines.slice(0, 4)).toEqual([
      'requeued 500/1200 (42%)',
      'requeued 1000/1200 (83%)',
      'requeued 1200/1200 (100%)',
      'requeued 1200 dead deliveries; they are due now',
    ]);
    // No collector runs here, so nothing moves.
    expect(lines[4]).toBe('delivered 0/1200, dead again 0, pending 1200');
    expect(lines.at(-1)).toBe('stopped waiting after 1 s: 1200 still pending (retrying); they stay queued for the collector');
  });
});

describe('--help', () => {
  it('each dlq command explains itself', async () => {
    const list = await ws.run(['dlq', 'list', '--help']);
    expect(list.code).toBe(0);
    expect(list.out).toContain('Usage: trakvo dlq list [options]');
    expect(list.out).toContain('--error <text>');
    const replay = await ws.run(['dlq', 'replay', '--help']);
    expect(replay.out).toContain('Usage: trakvo dlq replay [options] [deliveryIds...]');
    expect(replay.out).toContain('--dispatch');
    expect(replay.out).toContain('fresh retry window');
  });
});
