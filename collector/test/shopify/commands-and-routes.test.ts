// Where a merchant gets the pixel: `trakvo shopify pixel` (in-process, a fresh commander
// program per run, the real config parser) and GET /shopify/pixel/<site>.js over real HTTP.
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Command, CommanderError } from 'commander';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerShopifyCommands } from '../../src/cli/shopify-commands.js';
import { ConfigError, parseConfig } from '../../src/config/load-config.js';
import type { CollectorConfig, SiteConfig } from '../../src/config/schema.js';
import { shopifyPixelRouter } from '../../src/shopify/routes.js';
import { runCustomPixel, pixelFixture } from './harness.js';

function config(extra: Record<string, unknown> = {}): CollectorConfig {
  return parseConfig(
    {
      basePath: '/t',
      sites: [
        { id: 'shop', allowedOrigins: ['https://www.shop.com', 'https://loja-demo.myshopify.com'] },
        { id: 'blog', allowedOrigins: ['https://blog.shop.com'] },
      ],
      ...extra,
    },
    {},
  );
}

async function run(args: string[], load: (path?: string) => CollectorConfig = () => config()) {
  const out: string[] = [];
  const err: string[] = [];
  const program = new Command('trakvo').exitOverride().configureOutput({ writeOut: (s) => void out.push(s), writeErr: (s) => void err.push(s) });
  registerShopifyCommands(program, { loadConfig: load, out: (l) => void out.push(`${l}\n`), err: (l) => void err.push(`${l}\n`) });
  const before = process.exitCode;
  process.exitCode = undefined;
  let code = 0;
  try {
    await program.parseAsync(['node', 'trakvo', ...args]);
    code = Number(process.exitCode ?? 0);
  } catch (e) {
    if (!(e instanceof CommanderError)) throw e;
    code = e.exitCode;
  } finally {
    process.exitCode = before;
  }
  return { out: out.join(''), err: err.join(''), code };
}

describe('trakvo shopify pixel', () => {
  it('prints the site’s pixel for the given endpoint, on stdout alone', async () => {
    const res = await run(['shopify', 'pixel', '--site', 'shop', '--endpoint', 'https://www.shop.com/t/']);
    expect(res.code).toBe(0);
    expect(res.err).toContain('no shopifyPixel.key');
    expect(res.out).toMatch(/^\/\/ Trakvo custom pixel for Shopify, site "shop"\./);
    expect(res.out).toContain('const ENDPOINT = "https://www.shop.com/t/e";');
    // What it printed is the script: it runs and reports.
    const runtime = runCustomPixel(res.out);
    await runtime.publish(pixelFixture('checkout_completed'));
    expect(runtime.wires()[0]).toMatchObject({ s: 'shop', n: 'Purchase', i: 'Purchase.shop.6138412949673' });
  });

  it('defaults the endpoint to the first allowed origin + basePath, and says so', async () => {
    const res = await run(['shopify', 'pixel', '--site', 'shop', '--checkout-only', '--content-id', 'variant']);
    expect(res.code).toBe(0);
    expect(res.out).toContain('const ENDPOINT = "https://www.shop.com/t/e";');
    expect(res.out).toContain('const CHECKOUT_ONLY = true;');
    expect(res.out).toContain('const CONTENT_ID = "variant";');
    expect(res.err).toContain('note: events go to https://www.shop.com/t/e (pass --endpoint');
  });

  it('passes the loader the --config path', async () => {
    const paths: (string | undefined)[] = [];
    await run(['shopify', 'pixel', '--site', 'blog', '-c', '/etc/trakvo.json'], (p) => (paths.push(p), config()));
    expect(paths).toEqual(['/etc/trakvo.json']);
  });

  it('fails clearly: unknown site, bad endpoint, bad option, bad config', async () => {
    const unknown = await run(['shopify', 'pixel', '--site', 'nope']);
    expect(unknown).toMatchObject({ code: 1, out: '' });
    expect(unknown.err).toContain('no site "nope" in the config (sites: shop, blog)');

    const endpoint = await run(['shopify', 'pixel', '--site', 'shop', '--endpoint', 'shop.com/t']);
    expect(endpoint.code).toBe(1);
    expect(endpoint.err).toContain('is not an absolute URL');

    const http = await run(['shopify', 'pixel', '--site', 'shop', '--endpoint', 'http://www.shop.com/t']);
    expect(http.code).toBe(0);
    expect(http.err).toContain('warning: the endpoint is plain http');

    const option = await run(['shopify', 'pixel', '--site', 'shop', '--content-id', 'handle']);
    expect(option.code).not.toBe(0);
    expect(option.err).toContain('must be one of product, variant, sku');

    const missing = await run(['shopify', 'pixel']);
    expect(missing.code).not.toBe(0);
    expect(missing.err).toContain("required option '--site <id>'");

    const broken = await run(['shopify', 'pixel', '--site', 'shop'], () => {
      throw new ConfigError(['sites: configure at least one site']);
    });
    expect(broken.code).toBe(1);
    expect(broken.err).toContain('sites: configure at least one site');
  });

  it('has --help', async () => {
    const res = await run(['shopify', 'pixel', '--help']);
    expect(res.code).toBe(0);
    expect(res.out).toContain('Settings › Customer events');
    expect(res.out).toContain('--endpoint <url>');
    expect(res.out).toContain('--checkout-only');
    expect(res.out).toContain('trakvo shopify pixel --site shop --endpoint https://www.shop.com/t');
  });
});

describe('GET /shopify/pixel/:site.js', () => {
  let server: Server;
  let origin: string;

  beforeAll(async () => {
    const cfg = config();
    const sites = new Map<string, SiteConfig>(cfg.sites.map((s) => [s.id, s]));
    const collectorLike = express.Router();
    collectorLike.use(shopifyPixelRouter({ sites }));
    const app = express();
    app.use('/t', collectorLike);
    app.use('/elsewhere', shopifyPixelRouter({ sites }, { endpoint: 'https://collect.shop.com/' }));
    server = await new Promise<Server>((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server?.closeAllConnections();
    await new Promise((r) => server?.close(r));
  });

  it('serves the pixel as text, pointing at the collector it is mounted in', async () => {
    const res = await fetch(`${origin}/t/shopify/pixel/shop.js?checkout_only=1&content_id=sku`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    const body = await res.text();
    expect(body).toContain(`const ENDPOINT = "${origin}/t/e";`);
    expect(body).toContain('const CHECKOUT_ONLY = true;');
    expect(body).toContain('const CONTENT_ID = "sku";');

    const fixed = await (await fetch(`${origin}/elsewhere/shopify/pixel/blog.js`)).text();
    expect(fixed).toContain('const SITE = "blog";');
    expect(fixed).toContain('const ENDPOINT = "https://collect.shop.com/e";');
  });

  it('answers 404 for an unknown site and 400 for a bad content_id', async () => {
    const unknown = await fetch(`${origin}/t/shopify/pixel/nope.js`);
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toEqual({ error: { code: 'unknown_site', message: 'no site "nope"' } });
    const bad = await fetch(`${origin}/t/shopify/pixel/shop.js?content_id=handle`);
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { code: string } }).error.code).toBe('invalid_query');
  });
});
