// The events t.js sends to the collector (POST …/t/e), as the page put them on the wire.
import type { BrowserContext, Page, Request } from 'playwright-core';
import { waitFor } from './wait.js';

/** The wire format as the collector parses it. */
export interface Wire {
  s: string;
  n: string;
  i: string;
  u: string;
  r?: string;
  t?: string;
  p?: Record<string, unknown>;
  c?: { m: 0 | 1; a: 0 | 1 };
  ts: number;
}

/**
 * Collects the events the pages of `source` (one page, or every page of a browser context)
 * send to the collector's /t/e, in the order they are sent: one per event, whether the
 * request carried a single event or an array of them.
 */
export function captureBeacons(source: Page | BrowserContext): Wire[] {
  const sent: Wire[] = [];
  const onRequest = (req: Request) => {
    if (req.method() !== 'POST' || new URL(req.url()).pathname !== '/t/e') return;
    const body = JSON.parse(req.postData() ?? 'null') as Wire | Wire[];
    sent.push(...(Array.isArray(body) ? body : [body]));
  };
  // Two calls: `on` is overloaded on both types, so it cannot be called on their union.
  if ('newPage' in source) source.on('request', onRequest);
  else source.on('request', onRequest);
  return sent;
}

/** Waits until `beacons` (from `captureBeacons`) holds an event named `name`, and returns the first. */
export function waitForBeacon(beacons: Wire[], name: string, timeoutMs?: number): Promise<Wire> {
  return waitFor(() => beacons.find((b) => b.n === name), `${name} beacon`, timeoutMs);
}
