// Config: file + environment, secret references, and errors that name the bad key.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, parseConfig } from '../src/config/load-config.js';

const dir = mkdtempSync(join(tmpdir(), 'trakvo-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const site = (over: Record<string, unknown> = {}) => ({
  id: 'shop',
  allowedOrigins: ['https://shop.com'],
  destinations: [{ id: 'meta', type: 'meta', pixelId: '123', accessToken: 'env:META_TOKEN' }],
  ...over,
});

function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('parseConfig', () => {
  it('resolves env: and file: secret references and applies defaults', () => {
    const secretFile = join(dir, 'meta-secret');
    writeFileSync(secretFile, 'from-file-token\n');
    const cfg = parseConfig(
      { sites: [site({ destinations: [{ id: 'meta', type: 'meta', pixelId: '123', accessToken: `file:${secretFile}` }, { id: 'm2', type: 'meta', pixelId: '456', accessToken: 'env:META_TOKEN' }] })] },
      { META_TOKEN: 'from-env-token' },
    );
    expect(cfg.sites[0]!.destinations.map((d) => (d.config as unknown as { accessToken: string }).accessToken)).toEqual(['from-file-token', 'from-env-token']);
    expect(cfg).toMatchObject({ port: 8080, basePath: '/', dataDir: './.trakvo-data', store: { engine: 'sqlite' } });
    expect(cfg.sites[0]!.consentDefault).toEqual({ marketing: true, analytics: true });
    expect(cfg.sites[0]!.destinations[0]).toMatchObject({ id: 'meta', type: 'meta', enabled: true, config: { apiVersion: 'v26.0' } });
  });

  it('names a missing environment variable with the key that references it', () => {
    expect(problemsOf(() => parseConfig({ sites: [site()] }, {}))).toEqual([
      'sites[0].destinations[0].accessToken: environment variable META_TOKEN is not set',
    ]);
  });

  const bad: [string, Record<string, unknown>, string][] = [
    ['no sites', { sites: [] }, 'sites: configure at least one site'],
    ['bad origin', { sites: [site({ allowedOrigins: ['shop.com/path'] })] }, 'sites[0].allowedOrigins[0]: must be an origin'],
    ['unknown destination type', { sites: [site({ destinations: [{ id: 'x', type: 'myspace' }] })] }, 'sites[0].destinations[0].type: unknown destination type "myspace"'],
    ['platform key invalid', { sites: [site({ destinations: [{ id: 'm', type: 'meta', pixelId: 'abc', accessToken: 't' }] })] }, 'sites[0].destinations[0].pixelId'],
    ['duplicate destination id', { sites: [site({ destinations: [{ id: 'm', type: 'meta', pixelId: '1', accessToken: 't' }, { id: 'm', type: 'meta', pixelId: '2', accessToken: 't' }] })] }, 'sites[0].destinations[1].id: duplicate id "m"'],
    ['duplicate site id', { sites: [site({ destinations: [] }), site({ destinations: [] })] }, 'sites[1].id: duplicate site id "shop"'],
    ['unknown top-level key', { sites: [site({ destinations: [] })], prot: 1 }, 'prot'],
    ['bad country', { sites: [site({ destinations: [], defaultCountry: 'Brazil' })] }, 'sites[0].defaultCountry: ISO 3166-1 alpha-2'],
    ['postgres without url scheme', { sites: [site({ destinations: [] })], store: { engine: 'postgres', url: 'mysql://x' } }, 'store.url: must be a postgres:// URL'],
  ];
  it.each(bad)('rejects %s, naming the key', (_name, input, expected) => {
    const problems = problemsOf(() => parseConfig(input, { META_TOKEN: 't' }));
    expect(problems.join('\n')).toContain(expected);
  });
});

describe('loadConfig', () => {
  it('reads the file named by TRAKVO_CONFIG and lets PORT, TRAKVO_DATA_DIR, LOG_LEVEL override it', () => {
    const file = join(dir, 'trakvo.config.json');
    writeFileSync(file, JSON.stringify({ port: 9000, dataDir: '/from/file', sites: [site()] }));
    const env = { TRAKVO_CONFIG: file, META_TOKEN: 't', PORT: '7001', TRAKVO_DATA_DIR: '/from/env', LOG_LEVEL: 'warn' };
    expect(loadConfig(undefined, env)).toMatchObject({ port: 7001, dataDir: '/from/env', logLevel: 'warn' });
    expect(loadConfig(file, { META_TOKEN: 't' })).toMatchObject({ port: 9000, dataDir: '/from/file' });
  });

  it('says what is wrong with a missing or unreadable file', () => {
    expect(problemsOf(() => loadConfig(undefined, {}))[0]).toMatch(/no config file/);
    expect(problemsOf(() => loadConfig(join(dir, 'nope.json'), {}))[0]).toMatch(/cannot read .*nope\.json/);
    const broken = join(dir, 'broken.json');
    writeFileSync(broken, '{ "sites": [');
    expect(problemsOf(() => loadConfig(broken, {}))[0]).toMatch(/cannot read .*broken\.json/);
  });
});

describe('trakvo.config.example.json', () => {
  it('is a valid config once its secrets are in the environment', () => {
    const file = new URL('../../trakvo.config.example.json', import.meta.url).pathname;
    const env = {
      TRAKVO_ADMIN_PASSWORD: 'a-long-admin-password',
      TRAKVO_SESSION_SECRET: 'x'.repeat(40),
      META_ACCESS_TOKEN: 'meta-token',
      TIKTOK_ACCESS_TOKEN: 'tiktok-token',
      SHOPIFY_WEBHOOK_SECRET: 'shopify-secret',
    };
    const cfg = loadConfig(file, env);
    expect(cfg.sites[0]!.destinations.map((d) => [d.type, d.enabled])).toEqual([
      ['meta', true],
      ['tiktok', false],
    ]);
  });
});
