// The live stream (Server-Sent Events): every open dashboard tab gets each new or changed
// event row as JSON. Changes are found two ways: the in-process feed (instant, when ingest
// and the dispatcher publish to it) and a poll of the store's newest events once a second
// while anyone watches (catches other processes, and anything the feed missed). Events
// replayed from the dashboard are polled too until they settle, however old they are.
import type { Request, Response } from 'express';
import type { Logger } from '../log.js';
import type { EventFeed } from './event-feed.js';
import { rowKey, type DashboardReader, type EventRow } from './queries.js';

export interface LiveOptions {
  reader: DashboardReader;
  feed: EventFeed;
  logger: Logger;
  pollMs?: number;
  heartbeatMs?: number;
}

export interface LiveStream {
  /** Answers with an SSE stream of `row` events (optionally one site's only). */
  connect(req: Request, res: Response, site_id?: string): Promise<void>;
  /** These events were requeued: follow them until none of their deliveries is pending. */
  watch(keys: { site_id: string; event_id: string }[]): void;
  /** Ends every stream and stops polling. */
  close(): void;
}

/** How many newest events each poll compares, and each new stream starts with. */
export const LIVE_WINDOW = 50;
const MAX_WATCHED = 500;
const WATCH_MS = 15 * 60_000;

interface Client {
  res: Response;
  site_id?: string;
}

const signature = (r: EventRow) => `${r.quality}|${r.deliveries.map((d) => `${d.id}:${d.state}:${d.attempts}`).join(',')}`;

export function createLiveStream(opts: LiveOptions): LiveStream {
  const { reader, logger } = opts;
  const pollMs = opts.pollMs ?? 1000;
  const heartbeatMs = opts.heartbeatMs ?? 15_000;
  const clients = new Set<Client>();
  /** Last signature sent per row key, for the rows in the window and the watched ones. */
  const sent = new Map<string, string>();
  /** Replayed events followed until settled: key → follow until (ms). */
  const watched = new Map<string, { site_id: string; event_id: string; until: number }>();
  /** Keys the feed mentioned since the last flush. */
  const dirty = new Map<string, { site_id: string; event_id: string }>();
  let pollTimer: NodeJS.Timeout | undefined;
  let heartbeat: NodeJS.Timeout | undefined;
  let flushTimer: NodeJS.Timeout | undefined;
  let polling = false;
  let seeded = false;

  function send(client: Client, row: EventRow): void {
    if (client.site_id && client.site_id !== row.site_id) return;
    client.res.write(`event: row\ndata: ${JSON.stringify(row)}\n\n`);
  }

  function broadcast(rows: EventRow[], force = false): void {
    for (const row of rows) {
      const sig = signature(row);
      if (!force && sent.get(row.key) === sig) continue;
      sent.set(row.key, sig);
      for (const c of clients) send(c, row);
    }
  }

  async function poll(): Promise<void> {
    if (polling) return;
    polling = true;
    try {
      const newest = await reader.rows(await reader.store.listEvents({ limit: LIVE_WINDOW }));
      const t = Date.now();
      const extra: EventRow[] = [];
      for (const [key, w] of watched) {
        const row = await reader.rowOf(w.site_id, w.event_id);
        const settled = !row || row.deliveries.every((d) => d.state !== 'pending' && d.state !== 'retrying');
        if (row) extra.push(row);
        if ((settled && sent.get(key) !== undefined && row && sent.get(key) === signature(row)) || w.until < t) watched.delete(key);
      }
      const rows = [...newest.reverse(), ...extra];
      if (!seeded) {
        // The first poll only learns the current state: new streams got it as a snapshot.
        for (const r of rows) sent.set(r.key, signature(r));
        seeded = true;
      } else {
        broadcast(rows);
      }
      const keep = new Set([...rows.map((r) => r.key), ...watched.keys()]);
      for (const k of sent.keys()) if (!keep.has(k)) sent.delete(k);
    } catch (err) {
      logger.warn({ err }, 'dashboard live poll failed');
    } finally {
      polling = false;
    }
  }

  async function flush(): Promise<void> {
    flushTimer = undefined;
    const keys = [...dirty.values()];
    dirty.clear();
    const rows: EventRow[] = [];
    for (const k of keys) {
      try {
        const row = await reader.rowOf(k.site_id, k.event_id);
        if (row) rows.push(row);
      } catch (err) {
        logger.warn({ err }, 'dashboard live read failed');
      }
    }
    broadcast(rows);
  }

  const unsubscribe = opts.feed.subscribe((m) => {
    if (clients.size === 0) return;
    dirty.set(rowKey(m.site_id, m.event_id), { site_id: m.site_id, event_id: m.event_id });
    // Coalesce bursts (a batch of 100 deliveries is one read each, 50 ms later).
    flushTimer ??= setTimeout(() => void flush(), 50);
  });

  function start(): void {
    if (pollTimer) return;
    seeded = false;
    sent.clear();
    void poll();
    pollTimer = setInterval(() => void poll(), pollMs);
    heartbeat = setInterval(() => {
      for (const c of clients) c.res.write(': keep-alive\n\n');
    }, heartbeatMs);
    pollTimer.unref();
    heartbeat.unref();
  }

  function stop(): void {
    clearInterval(pollTimer);
    clearInterval(heartbeat);
    clearTimeout(flushTimer);
    pollTimer = heartbeat = flushTimer = undefined;
  }

  return {
    async connect(req, res, site_id) {
      res.status(200).set({
        'Content-Type': 'text/event-stream; charset=utf-8',
        'Cache-Control': 'no-store',
        Connection: 'keep-alive',
        // nginx and friends would otherwise buffer the stream.
        'X-Accel-Buffering': 'no',
      });
      res.flushHeaders();
      res.write(`retry: 2000\n\n`);
      const client: Client = { res, ...(site_id ? { site_id } : {}) };
      // The snapshot closes the gap between the page render and this connection.
      try {
        const snapshot = await reader.rows(await reader.store.listEvents({ limit: LIVE_WINDOW, ...(site_id ? { site_id } : {}) }));
        for (const row of snapshot.reverse()) send(client, row);
      } catch (err) {
        logger.warn({ err }, 'dashboard live snapshot failed');
      }
      if (res.writableEnded || req.socket.destroyed) return;
      clients.add(client);
      start();
      req.on('close', () => {
        clients.delete(client);
        if (clients.size === 0) stop();
      });
    },

    watch(keys) {
      const until = Date.now() + WATCH_MS;
      for (const k of keys) {
        const key = rowKey(k.site_id, k.event_id);
        watched.delete(key);
        watched.set(key, { ...k, until });
        sent.delete(key);
      }
      while (watched.size > MAX_WATCHED) watched.delete(watched.keys().next().value!);
    },

    close() {
      unsubscribe();
      stop();
      for (const c of clients) c.res.end();
      clients.clear();
    },
  };
}
