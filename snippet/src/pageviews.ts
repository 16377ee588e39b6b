// Automatic PageViews: one on load, then one per distinct URL a single-page app moves to
// through history.pushState / replaceState or back/forward (popstate).
import { hashPageviews } from './config.js';
import { PAGE_VIEW, loc, win } from './globals.js';
import { track } from './track.js';

let lastUrl: string | undefined;

function onNavigate(): void {
  const url = hashPageviews ? loc.href : loc.href.split('#')[0];
  // Never two PageViews in a row for one URL (replaceState to the same URL, hash-only moves).
  if (url !== lastUrl) {
    lastUrl = url;
    track(PAGE_VIEW);
  }
}

/** One wrapper for both history methods: navigate as asked, then count the page. */
function hook(method: 'pushState' | 'replaceState'): void {
  const history = win.history;
  const original = history[method];
  history[method] = function (this: History, ...args: Parameters<History['pushState']>) {
    original.apply(this, args);
    onNavigate();
  };
}

export function trackPageviews(): void {
  onNavigate();
  hook('pushState');
  hook('replaceState');
  win.addEventListener('popstate', onNavigate);
}
