// What the dashboard shows, read from the store: event rows with their destinations'
// states and match quality, per-destination health, chart series. Views render these;
// the live stream sends the same rows as JSON.
import type { SiteConfig } from '../config/schema.js';
import type { CanonicalEvent } from '../event/schema.js';
import { matchQuality, matchQualityFor } from '../quality/match-quality.js';
import type { DeliveryRecord, DestinationSummary, EventListItem, Store, StoredEvent } from '../store/types.js';

export type DeliveryState = 'delivered' | 'retrying' | 'pending' | 'dead' | 'skipped';

/** Pending splits in two: never tried yet, or waiting for another try after a failure. */
export function deliveryState(d: Pick<DeliveryRecord, 'status' | 'attempts'>): DeliveryState {
  if (d.status === 'pending') return d.attempts > 0 ? 'retrying' : 'pending';
  return d.status;
}

export interface RowDelivery {
  id: number;
  destination: string;
  state: DeliveryState;
  attempts: number;
  error: string | null;
}

/** One event as the lists and the live stream show it. */
export interface EventRow {
  key: string;
  site_id: string;
  event_id: string;
  event_name: string;
  source: string;
  received_at: number;
  order_id: string | null;
  value: number | null;
  currency: string | null;
  /** Our 0–10 estimate; null when the event is gone from the store. */
  quality: number | null;
  deliveries: RowDelivery[];
}

export const rowKey = (site_id: string, event_id: string) => `${site_id}/${event_id}`;

/**
 * The event as the platforms got it, for the match-quality estimate. The store drops the IP
 * address and user agent once every delivery has ended; a browser event with marketing
 * consent always carried both (t.js cannot send without a user agent, and the collector
 * adds the visitor's address), so for such an event they are counted back. Placeholders,
 * never shown.
 */
export function eventAsSent(stored: Pick<StoredEvent, 'event' | 'deliveries'>): { event: CanonicalEvent; restored: boolean } {
  const e = stored.event;
  const ended = stored.deliveries.length > 0 && stored.deliveries.every((d) => d.status !== 'pending');
  if (e.ip !== undefined || e.user_agent !== undefined || !ended || e.source !== 'browser' || !e.consent.marketing) {
    return { event: e, restored: false };
  }
  return { event: { ...e, ip: '192.0.2.1', user_agent: 'removed after delivery' }, restored: true };
}

interface EventFacts {
  value: number | null;
  currency: string | null;
  quality: number | null;
  /** Per destination id: the estimate from what that destination receives. */
  byDestination: Map<string, number>;
}

export interface DashboardReader {
  sites: Map<string, SiteConfig>;
  store: Store;
  /** The destination type (`meta`, …) of a configured destination id. */
  destinationType(site_id: string, destination: string): string | undefined;
  toRow(item: EventListItem): Promise<EventRow>;
  rows(items: EventListItem[]): Promise<EventRow[]>;
  /** A row for one event, or undefined when it is not stored. */
  rowOf(site_id: string, event_id: string): Promise<EventRow | undefined>;
  facts(site_id: string, event_id: string): Promise<EventFacts>;
}

const FACTS_CACHE = 5000;

export function createReader(store: Store, sites: Map<string, SiteConfig>): DashboardReader {
  // Events never change after commit except for identity merges, which only add signals:
  // a cache keeps the live stream from re-reading every payload each second.
  const cache = new Map<string, EventFacts>();

  function destinationType(site_id: string, destination: string): string | undefined {
    return sites.get(site_id)?.destinations.find((d) => d.id === destination)?.type;
  }

  function factsOf(stored: StoredEvent): EventFacts {
    const { event } = eventAsSent(stored);
    const byDestination = new Map<string, number>();
    for (const d of sites.get(event.site_id)?.destinations ?? []) byDestination.set(d.id, matchQualityFor(event, d.type).score);
    return {
      value: event.custom.value ?? null,
      currency: event.custom.currency ?? null,
      quality: matchQuality(event).score,
      byDestination,
    };
  }

  async function facts(site_id: string, event_id: string): Promise<EventFacts> {
    const key = rowKey(site_id, event_id);
    const hit = cache.get(key);
    if (hit) return hit;
    const stored = await store.getEvent(site_id, event_id);
    const f = stored ? factsOf(stored) : { value: null, currency: null, quality: null, byDestination: new Map<string, number>() };
    if (stored) {
      if (cache.size >= FACTS_CACHE) cache.delete(cache.keys().next().value!);
      cache.set(key, f);
    }
    return f;
  }

  async function toRow(item: EventListItem): Promise<EventRow> {
    const f = await facts(item.site_id, item.event_id);
    return {
      key: rowKey(item.site_id, item.event_id),
      site_id: item.site_id,
      event_id: item.event_id,
      event_name: item.event_name,
      source: item.source,
      received_at: item.received_at,
      order_id: item.order_id,
      value: f.value,
      currency: f.currency,
      quality: f.quality,
      deliveries: item.deliveries.map((d) => ({
        id: d.delivery_id,
        destination: d.destination,
        state: deliveryState(d),
        attempts: d.attempts,
        error: d.last_error,
      })),
    };
  }

  return {
    sites,
    store,
    destinationType,
    toRow,
    rows: (items) => Promise.all(items.map(toRow)),
    async rowOf(site_id, event_id) {
      const stored = await store.getEvent(site_id, event_id);
      if (!stored) return undefined;
      const e = stored.event;
      return toRow({
        site_id,
        event_id,
        event_name: e.event_name,
        source: e.source,
        event_time: e.event_time,
        received_at: stored.received_at,
        order_id: e.custom.order_id ?? null,
        deliveries: stored.deliveries,
      });
    },
    facts,
  };
}

// ── destination health ───────────────────────────────────────────────────────────────

export interface HealthCounts {
  delivered: number;
  retrying: number;
  pending: number;
  dead: number;
}

export interface DestinationHealth {
  site_id: string;
  destination: string;
  type: string;
  enabled: boolean;
  hour: HealthCounts;
  day: HealthCounts;
  avg_latency_ms: number | null;
  p95_latency_ms: number | null;
  last_error: string | null;
  last_error_at: number | null;
  /** Average estimate over the latest events sent to it (see QUALITY_SAMPLE), null when none. */
  quality: number | null;
  quality_sample: number;
}

/** How many of the day's newest events the per-destination quality averages. */
export const QUALITY_SAMPLE = 200;
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

const counts = (s: DestinationSummary | undefined): HealthCounts => ({
  delivered: s?.delivered ?? 0,
  retrying: s?.retrying ?? 0,
  pending: s?.pending ?? 0,
  dead: s?.dead ?? 0,
});

/** Every configured destination (of one site or all), with zeros where nothing happened. */
export async function destinationHealth(reader: DashboardReader, now: number, site_id?: string): Promise<DestinationHealth[]> {
  const { store, sites } = reader;
  const [hour, day, recent] = await Promise.all([
    store.destinationSummary({ since: now - HOUR, ...(site_id ? { site_id } : {}) }),
    store.destinationSummary({ since: now - DAY, ...(site_id ? { site_id } : {}) }),
    store.listEvents({ limit: QUALITY_SAMPLE, ...(site_id ? { site_id } : {}) }),
  ]);
  const key = (s: string, d: string) => `${s}\u0000${d}`;
  const hourBy = new Map(hour.map((s) => [key(s.site_id, s.destination), s]));
  const dayBy = new Map(day.map((s) => [key(s.site_id, s.destination), s]));

  const quality = new Map<string, { sum: number; n: number }>();
  for (const item of recent) {
    if (item.received_at < now - DAY) continue;
    const f = await reader.facts(item.site_id, item.event_id);
    for (const d of item.deliveries) {
      const q = f.byDestination.get(d.destination);
      if (d.status === 'skipped' || q === undefined) continue;
      const acc = quality.get(key(item.site_id, d.destination)) ?? { sum: 0, n: 0 };
      acc.sum += q;
      acc.n += 1;
      quality.set(key(item.site_id, d.destination), acc);
    }
  }

  const out: DestinationHealth[] = [];
  const seen = new Set<string>();
  const add = (sid: string, destination: string, type: string, enabled: boolean) => {
    const k = key(sid, destination);
    if (seen.has(k)) return;
    seen.add(k);
    const d = dayBy.get(k);
    const q = quality.get(k);
    out.push({
      site_id: sid,
      destination,
      type,
      enabled,
      hour: counts(hourBy.get(k)),
      day: counts(d),
      avg_latency_ms: d?.avg_latency_ms ?? null,
      p95_latency_ms: d?.p95_latency_ms ?? null,
      last_error: d?.last_error ?? null,
      last_error_at: d?.last_error_at ?? null,
      quality: q ? Math.round((q.sum / q.n) * 10) / 10 : null,
      quality_sample: q?.n ?? 0,
    });
  };
  for (const site of sites.values()) {
    if (site_id && site.id !== site_id) continue;
    for (const d of site.destinations) add(site.id, d.id, d.type, d.enabled);
  }
  // Destinations removed from the config that still have deliveries.
  for (const s of day) add(s.site_id, s.destination, reader.destinationType(s.site_id, s.destination) ?? '?', false);
  return out;
}

// ── charts ───────────────────────────────────────────────────────────────────────────

export type ChartRange = '1h' | '24h';

export interface ChartSeries {
  range: ChartRange;
  bucketMs: number;
  /** Bucket starts, Unix seconds (uPlot's x axis). */
  x: number[];
  /** Events received per minute (bucket count divided by minutes per bucket). */
  eventsPerMinute: number[];
  delivered: number[];
  dead: number[];
}

const RANGES: Record<ChartRange, { spanMs: number; bucketMs: number }> = {
  '1h': { spanMs: HOUR, bucketMs: 60_000 },
  '24h': { spanMs: DAY, bucketMs: 15 * 60_000 },
};

export function parseRange(v: unknown): ChartRange {
  return v === '24h' ? '24h' : '1h';
}

export async function chartSeries(store: Store, range: ChartRange, now: number, site_id?: string): Promise<ChartSeries> {
  const { spanMs, bucketMs } = RANGES[range];
  const last = now - (now % bucketMs);
  const n = spanMs / bucketMs;
  const first = last - (n - 1) * bucketMs;
  const q = { since: first, bucketMs, ...(site_id ? { site_id } : {}) };
  const [events, deliveries] = await Promise.all([store.eventTimeline(q), store.deliveryTimeline(q)]);
  const index = (t: number) => Math.round((t - first) / bucketMs);
  const zeros = () => new Array<number>(n).fill(0);
  const perMinute = zeros();
  const delivered = zeros();
  const dead = zeros();
  const minutes = bucketMs / 60_000;
  for (const p of events) {
    const i = index(p.bucket_start);
    if (i >= 0 && i < n) perMinute[i] = Math.round((p.count / minutes) * 100) / 100;
  }
  for (const p of deliveries) {
    const i = index(p.bucket_start);
    if (i < 0 || i >= n) continue;
    if (p.status === 'delivered') delivered[i]! += p.count;
    else dead[i]! += p.count;
  }
  return {
    range,
    bucketMs,
    x: Array.from({ length: n }, (_, i) => (first + i * bucketMs) / 1000),
    eventsPerMinute: perMinute,
    delivered,
    dead,
  };
}
