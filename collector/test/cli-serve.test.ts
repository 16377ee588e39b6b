// `trakvo serve` as a user runs it: the built CLI, a config file, environment secrets, a
// base path; a bad config stops it with the key named. (npm test builds first.)
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const CLI = resolve(import.meta.dirname, '../../build/collector/src/cli.js');
const dir = mkdtempSync(join(tmpdir(), 'trakvo-serve-'));
const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) c.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

function freePort(): Promise<number> {
  return new Promise((ok) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => ok(port));
    });
  });
}

function run(args: string[], env: Record<string, string>) {
  const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((ok) => child.on('exit', (code) => ok(code)));
  return { child, output: () => out, exited };
}

describe('trakvo serve', () => {
  it('serves the collector at its base path with secrets from the environment, and stops on SIGTERM', async () => {
    const port = await freePort();
    const config = join(dir, 'ok.json');
    writeFileSync(
      config,
      JSON.stringify({
        basePath: '/t',
        sites: [{ id: 'shop', allowedOrigins: ['https://shop.com'], destinations: [{ id: 'meta', type: 'meta', pixelId: '1', accessToken: 'env:META_TOKEN' }] }],
      }),
    );
    const p = run(['serve', '--config', config], { PORT: String(port), TRAKVO_DATA_DIR: join(dir, 'data'), META_TOKEN: 'secret-token-value', LOG_LEVEL: 'info' });
    let ready: Response | undefined;
    for (let i = 0; i < 100 && !ready; i++) {
      ready = await fetch(`http://127.0.0.1:${port}/t/readyz`).catch(() => undefined);
      if (!ready) await new Promise((r) => setTimeout(r, 100));
    }
    expect(ready?.status).toBe(200);
    expect((await fetch(`http://127.0.0.1:${port}/t/t.js`)).status).toBe(200);
    const e = await fetch(`http://127.0.0.1:${port}/t/e`, {
      method: 'POST',
      headers: { origin: 'https://shop.com', 'content-type': 'text/plain' },
      body: JSON.stringify({ s: 'shop', n: 'Lead', i: 'lead-0000001', u: 'https://shop.com/', p: { email: 'who@example.com' } }),
    });
    expect(e.status).toBe(200);
    p.child.kill('SIGTERM');
    expect(await p.exited).toBe(0);
    // Logs are structured and carry neither the secret nor the e-mail.
    expect(p.output()).toContain('trakvo collector listening');
    expect(p.output()).not.toContain('secret-token-value');
    expect(p.output()).not.toContain('who@example.com');
  });

  it('refuses to start on a bad config, naming the key', async () => {
    const config = join(dir, 'bad.json');
    writeFileSync(config, JSON.stringify({ sites: [{ id: 'shop', allowedOrigins: ['https://shop.com'], destinations: [{ id: 'meta', type: 'meta', pixelId: 'abc', accessToken: 'env:MISSING_TOKEN' }] }] }));
    const p = run(['serve', '--config', config], {});
    expect(await p.exited).toBe(1);
    expect(p.output()).toContain('sites[0].destinations[0].accessToken: environment variable MISSING_TOKEN is not set');
  });
});
