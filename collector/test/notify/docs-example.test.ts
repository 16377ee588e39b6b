// The receiver example in README.md, run as written: extracted from the Markdown,
// started with node, and sent real notifications by the notifier (and forged ones by hand).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.js';
import type { DeliveryOutcome } from '../../src/metrics/delivery-observer.js';
import { NotifyConfigSchema } from '../../src/notify/config.js';
import { createNotifier } from '../../src/notify/notifier.js';
import { signPayload } from '../../src/notify/signature.js';
import { openSqliteStore } from '../../src/store/sqlite.js';
import { makeEvent } from '../fixtures/events.js';
import { waitFor } from './helpers.js';

const SECRET = 'docs-example-secret-0123456789';
const MARKER = '<!-- example: verify-notification';

function exampleCode(): string {
  const md = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');
  const at = md.indexOf(MARKER);
  if (at < 0) throw new Error('example marker not found in README.md');
  const m = /```js\n([\s\S]*?)```/.exec(md.slice(at));
  if (!m) throw new Error('no js block after the marker');
  return m[1]!;
}

let dir: string;
let child: ChildProcess;
let url: string;
let output = '';

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'trakvo-docs-'));
  const file = join(dir, 'receiver.mjs');
  writeFileSync(file, exampleCode());
  child = spawn(process.execPath, [file], { env: { ...process.env, PORT: '0', TRAKVO_NOTIFY_SECRET: SECRET }, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.setEncoding('utf8').on('data', (s: string) => (output += s));
  child.stderr!.setEncoding('utf8').on('data', (s: string) => (output += s));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`receiver did not start: ${output}`)), 10_000);
    const check = () => {
      const m = /listening on (\d+)/.exec(output);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      } else setTimeout(check, 20);
    };
    check();
    child.once('exit', (code) => reject(new Error(`receiver exited ${code}: ${output}`)));
  });
  url = `http://127.0.0.1:${port}/`;
});

afterAll(() => {
  child?.kill();
  rmSync(dir, { recursive: true, force: true });
});

async function post(body: string, headers: Record<string, string>): Promise<number> {
  const res = await fetch(url, { method: 'POST', body, headers: { 'content-type': 'application/json', ...headers } });
  await res.text();
  return res.status;
}

describe('README.md receiver example', () => {
  it('accepts a notification sent by the notifier', async () => {
    const store = openSqliteStore({ file: ':memory:' });
    const notifier = createNotifier({
      store,
      sites: [{ id: 'shop', notify: NotifyConfigSchema.parse([{ url, secret: SECRET, events: ['event.dead'] }]) }],
      logger: createLogger('silent'),
    });
    const outcome: DeliveryOutcome = {
      site_id: 'shop', destination: 'meta0', destinationType: 'meta', outcome: 'dead', events: [makeEvent()], httpStatus: 400, error: 'bad',
    };
    try {
      await notifier.observer.onOutcome(outcome);
      await notifier.drain();
      const [n] = await store.listNotifications({ limit: 1 });
      expect(n).toMatchObject({ status: 'delivered', last_status: 204, attempts: 1 });
      // The child's stdout arrives on its own schedule.
      await waitFor(() => (output.includes(`event.dead for site shop: ${n!.idempotency_id}`) ? true : undefined));
    } finally {
      await notifier.stop();
      await store.close();
    }
  });

  it('handles a repeated idempotency id once', async () => {
    const body = JSON.stringify({ id: 'ntf_repeat', type: 'event.delivered', site_id: 'shop', data: {} });
    const headers = { 'x-trakvo-signature': signPayload(SECRET, body, Math.floor(Date.now() / 1000)), 'x-trakvo-idempotency-id': 'ntf_repeat' };
    expect(await post(body, headers)).toBe(204);
    await waitFor(() => (output.includes('ntf_repeat') ? true : undefined));
    expect(await post(body, headers)).toBe(204);
    await new Promise((r) => setTimeout(r, 100));
    expect(output.split('ntf_repeat').length - 1).toBe(1);
  });

  it('refuses a changed body, a wrong secret, a stale or future timestamp, no header', async () => {
    const body = JSON.stringify({ id: 'ntf_x', type: 'event.dead', site_id: 'shop', data: {} });
    const now = Math.floor(Date.now() / 1000);
    const good = signPayload(SECRET, body, now);
    expect(await post(body.replace('shop', 'shoq'), { 'x-trakvo-signature': good })).toBe(401);
    expect(await post(body, { 'x-trakvo-signature': signPayload('some-other-secret-xyz', body, now) })).toBe(401);
    expect(await post(body, { 'x-trakvo-signature': signPayload(SECRET, body, now - 301) })).toBe(401);
    // `now` is whole seconds rounded down: the receiver's clock is up to 1 s (plus the trip) later.
    expect(await post(body, { 'x-trakvo-signature': signPayload(SECRET, body, now + 305) })).toBe(401);
    expect(await post(body, {})).toBe(401);
    // Within the tolerance, and with a second (rotated-out) v1 in the header: accepted.
    const rotated = `${signPayload(SECRET, body, now - 200)},v1=${'0'.repeat(64)}`;
    expect(await post(body, { 'x-trakvo-signature': rotated, 'x-trakvo-idempotency-id': 'ntf_x' })).toBe(204);
  });
});
