// What t.js costs a visitor: main-thread time (Chromium's TaskDuration/ScriptDuration via
// CDP) of a cold page load with the snippet, against the same page without it, measured in
// the same run. Every page load is a fresh browser context (no cache, no cookies).
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express from 'express';
import type { Browser } from 'playwright-core';
import { createCollector } from '../collector/src/http/create-collector.js';
import { createLogger } from '../collector/src/log.js';
import { launchBrowser } from '../e2e/support/browser.js';

const PAGE = (tag: string) => `<!doctype html><html><head><meta charset="utf-8"><title>Product</title>
<script type="application/ld+json">{"@context":"https://schema.org","@type":"Product","sku":"SKU-1","name":"Coffee","offers":{"@type":"Offer","price":"39.90","priceCurrency":"BRL"}}</script>
${tag}</head><body>${'<p>Lorem ipsum dolor sit amet, consectetur adipiscing elit.</p>'.repeat(200)}
<form action="/search"><input name="q" type="search"></form></body></html>`;

/**
 * A reference tracker measured in the same run: the least a tracker can do (one beacon with
 * the URL, referrer and a random id on load), so t.js's cost reads as a ratio to it.
 */
const REFERENCE_TRACKER = `(function(){var s=document.currentScript;var b=JSON.stringify({s:s.getAttribute('data-site'),n:'PageView',i:Math.random().toString(36).slice(2),u:location.href,r:document.referrer,ts:Date.now()});navigator.sendBeacon(s.src.replace(/[^/]*$/,'')+'e',b)})();`;
export const REFERENCE_BUILD = 'reference.js';

export interface BrowserCost {
  build: string;
  /** Median main-thread task time of a cold load, ms. */
  taskMs: number;
  scriptMs: number;
  /** Added over the page without the snippet, ms (median of the differences' inputs). */
  addedTaskMs: number;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function loadCost(browser: Browser, url: string): Promise<{ task: number; script: number }> {
  const context = await browser.newContext();
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send('Performance.enable');
  await page.goto(url, { waitUntil: 'load' });
  await page.waitForTimeout(150); // the snippet's load-time work and its beacon
  const { metrics } = (await cdp.send('Performance.getMetrics')) as { metrics: { name: string; value: number }[] };
  await context.close();
  const m = (n: string) => (metrics.find((x) => x.name === n)?.value ?? 0) * 1000;
  return { task: m('TaskDuration'), script: m('ScriptDuration') };
}

export async function measureBrowserCost(snippetBuilds: string[], rounds = 25): Promise<{ baselineTaskMs: number; builds: BrowserCost[] }> {
  const builds = [REFERENCE_BUILD, ...snippetBuilds];
  const collector = createCollector(
    { dataDir: mkdtempSync(join(tmpdir(), 'trakvo-bench-browser-')), sites: [{ id: 'bench', allowedOrigins: ['http://127.0.0.1'], destinations: [] }] },
    { dispatch: false, logger: createLogger('silent') },
  );
  const app = express();
  app.get(`/t/${REFERENCE_BUILD}`, (_req, res) => {
    res.type('js').send(REFERENCE_TRACKER);
  });
  app.use('/t', collector);
  app.get('/page/:build', (req, res) => {
    const build = req.params.build;
    res.type('html').set('Cache-Control', 'no-store').send(PAGE(build === 'none' ? '' : `<script src="/t/${build}" data-site="bench" async></script>`));
  });
  const server = await new Promise<Server>((ok) => {
    const s = app.listen(0, '127.0.0.1', () => ok(s));
  });
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const browser = await launchBrowser();
  try {
    const samples = new Map<string, { task: number[]; script: number[] }>();
    const all = ['none', ...builds];
    for (const b of all) samples.set(b, { task: [], script: [] });
    await loadCost(browser, `${base}/page/none`); // warm the browser process itself
    // Interleave builds so drift in machine load hits them all alike.
    for (let r = 0; r < rounds; r++) {
      for (const b of all) {
        const c = await loadCost(browser, `${base}/page/${b}`);
        samples.get(b)!.task.push(c.task);
        samples.get(b)!.script.push(c.script);
      }
    }
    const baselineTaskMs = median(samples.get('none')!.task);
    return {
      baselineTaskMs: Math.round(baselineTaskMs * 100) / 100,
      builds: builds.map((build) => {
        const s = samples.get(build)!;
        const taskMs = median(s.task);
        return {
          build,
          taskMs: Math.round(taskMs * 100) / 100,
          scriptMs: Math.round(median(s.script) * 100) / 100,
          addedTaskMs: Math.round((taskMs - baselineTaskMs) * 100) / 100,
        };
      }),
    };
  } finally {
    await browser.close();
    server.closeAllConnections();
    server.close();
    await collector.close();
  }
}
