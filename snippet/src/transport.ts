// Posts events to the collector. A string body is sent as text/plain;charset=UTF-8:
// a "simple" request, so no CORS preflight, whether by beacon or by fetch.
// Events made in the same task (the load-time PageView and the replayed queue, say) go in
// one request: fewer requests, and the collector mints one _fbp for all of them instead of
// racing two first requests that each see no cookie yet.
import { nav } from './globals.js';
import type { WireEvent } from './types.js';

let pending: WireEvent[] = [];

function postBody(url: string, body: string): void {
  // sendBeacon survives the page closing; it answers false when the browser refuses to
  // queue the body. Then fetch with keepalive, which outlives the page as well.
  if (!(nav.sendBeacon && nav.sendBeacon(url, body))) {
    fetch(url, { method: 'POST', body, keepalive: true, credentials: 'include' }).catch(() => {});
  }
}

/** Queues an event; the batch is posted at the end of the current task (a microtask). */
export function send(url: string, event: WireEvent): void {
  if (pending.push(event) < 2) {
    Promise.resolve().then(() => {
      const batch = pending;
      pending = [];
      postBody(url, JSON.stringify(batch.length < 2 ? batch[0] : batch));
    });
  }
}
