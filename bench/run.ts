// `npm run bench`: prints figures and writes them to bench/results.json. Never a pass/fail
// test: these machines are noisy, so throughput is reported next to a baseline measured in
// the same run (a bare Express 204 route) and compared as a ratio.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import autocannon from 'autocannon';
import { SNIPPET_FILE } from '../collector/src/http/snippet-route.js';
import { measureBrowserCost, REFERENCE_BUILD } from './browser-cost.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const DURATION_S = Number(process.env.BENCH_SECONDS ?? 8);
const CONNECTIONS = 32;

/** Every build of the snippet (t.js and its per-platform variants), against the budget. */
function snippetSizes() {
  const dir = join(root, 'dist');
  return readdirSync(dir)
    .filter((f) => SNIPPET_FILE.test(f))
    .sort((a, b) => (a === 't.js' ? -1 : b === 't.js' ? 1 : a.localeCompare(b)))
    .map((file) => {
      const raw = readFileSync(join(dir, file));
      return {
        file,
        raw: raw.length,
        gzip: gzipSync(raw, { level: 9 }).length,
        brotli: brotliCompressSync(raw, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).length,
        budgetGzip: 2048,
      };
    });
}

async function startServer(mode: 'bare' | 'collector'): Promise<{ port: number; child: ChildProcess }> {
  const child = spawn(process.execPath, [join(here, 'server.js'), mode], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout!.once('data', (d: Buffer) => resolve(Number(d.toString().trim())));
    child.once('exit', (code) => reject(new Error(`${mode} server exited with ${code}`)));
  });
  return { port, child };
}

/** Each request a fresh browser-like beacon (a new event_id, so every one is a real insert). */
function beacon(): string {
  return JSON.stringify({
    s: 'bench',
    n: 'AddToCart',
    i: randomUUID(),
    u: 'https://shop.example/product/1?utm_source=x',
    r: 'https://shop.example/',
    t: 'Product 1',
    p: { value: 49.9, currency: 'BRL', content_ids: ['SKU-1'], email: 'someone@example.com' },
    ts: Date.now(),
  });
}

async function load(port: number): Promise<{ rps: number; p50: number; p99: number; non2xx: number; errors: number }> {
  const result = await autocannon({
    url: `http://127.0.0.1:${port}/t/e`,
    connections: CONNECTIONS,
    duration: DURATION_S,
    requests: [
      {
        method: 'POST',
        headers: { 'content-type': 'text/plain;charset=UTF-8', origin: 'https://shop.example', 'user-agent': 'Mozilla/5.0 bench' },
        setupRequest: (req) => ({ ...req, body: beacon() }),
      },
    ],
  });
  return {
    rps: Math.round(result.requests.average),
    p50: result.latency.p50,
    p99: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors,
  };
}

async function measure(mode: 'bare' | 'collector') {
  const { port, child } = await startServer(mode);
  try {
    return await load(port);
  } finally {
    child.kill();
  }
}

const sizes = snippetSizes();
for (const size of sizes) {
  const over = size.gzip > size.budgetGzip ? '  OVER BUDGET' : '';
  console.log(`${size.file.padEnd(16)} ${size.raw} B raw, ${size.gzip} B gzip, ${size.brotli} B brotli (budget ${size.budgetGzip} B gzip)${over}`);
}
const browserCost = await measureBrowserCost(sizes.map((s) => s.file));
console.log(`cold page load, main-thread task time without a snippet: ${browserCost.baselineTaskMs} ms (median)`);
const reference = browserCost.builds.find((b) => b.build === REFERENCE_BUILD)!;
for (const b of browserCost.builds) {
  const vsReference = b === reference ? '(a beacon-only reference tracker)' : `(${(b.addedTaskMs / Math.max(reference.addedTaskMs, 0.01)).toFixed(2)}× the reference's added time)`;
  console.log(`  with ${b.build.padEnd(16)} ${b.taskMs} ms (+${b.addedTaskMs} ms; script ${b.scriptMs} ms) ${vsReference}`);
}
const bare = await measure('bare');
console.log(`bare Express 204:        ${bare.rps} req/s (p50 ${bare.p50} ms, p99 ${bare.p99} ms)`);
const ingest = await measure('collector');
console.log(`collector POST /e:       ${ingest.rps} req/s (p50 ${ingest.p50} ms, p99 ${ingest.p99} ms, non-2xx ${ingest.non2xx})`);
const ratio = Number((ingest.rps / bare.rps).toFixed(3));
console.log(`ingest / bare ratio:     ${ratio}  (each request durably committed to SQLite, group commit)`);

const results = {
  measuredAt: new Date().toISOString(),
  node: process.version,
  settings: { durationSeconds: DURATION_S, connections: CONNECTIONS },
  snippet: sizes,
  snippetPageLoadCost: browserCost,
  browserIngest: { bareExpress204: bare, collector: ingest, ratio },
};
writeFileSync(join(root, 'bench', 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
console.log('written to bench/results.json');
