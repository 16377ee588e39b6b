// Posts one JSON body to the collector. A string body is sent as text/plain;charset=UTF-8:
// a "simple" request, so no CORS preflight, whether by beacon or by fetch.
import { nav } from './globals.js';

export function postBody(url: string, body: string): void {
  // sendBeacon survives the page closing; it answers false when the browser refuses to
  // queue the body. Then fetch with keepalive, which outlives the page as well.
  if (!(nav.sendBeacon && nav.sendBeacon(url, body))) {
    fetch(url, { method: 'POST', body, keepalive: true, credentials: 'include' }).catch(() => {});
  }
}
