// Request ids and PII in logs: pino output captured from a real app over real HTTP. An email
// sent in the body, the query string, a header or a cookie, and even one a route logs by
// mistake, never appears in any log line.
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load-config.js';
import type { SiteConfig } from '../../src/config/schema.js';
import { browserEventsRoute } from '../../src/http/browser-events-route.js';
import { REQUEST_ID_HEADER, requestId } from '../../src/http/request-id.js';
import { createLogger, scrubEmails } from '../../src/log.js';
import type { Ingest } from '../../src/pipeline/ingest.js';

const EMAIL = 'Jane.Doe+shop@Example.com';
const lines: string[] = [];
const logger = createLogger('debug', { destination: { write: (s: string) => void lines.push(s) } });
let server: Server;
let base: string;
let failCommit = false;

beforeAll(async () => {
  const config = parseConfig({ sites: [{ id: 'shop', allowedOrigins: ['https://shop.com'] }] });
  const sites = new Map<string, SiteConfig>(config.sites.map((s) => [s.id, s]));
  // An ingest that fails on demand, so the route logs its error path too.
  const ingest: Ingest = {
    async ingest(event) {
      if (failCommit) throw new Error(`disk full while writing ${EMAIL}`);
      return { site_id: event.site_id, event_id: event.event_id, inserted: true };
    },
  };
  const app = express();
  app.use(requestId({ logger }));
  app.post('/e', express.text({ type: () => true }), browserEventsRoute({ sites, ingest, logger }));
  // A careless route: logs what it should not.
  app.post('/careless', express.json(), (req, res) => {
    res.locals.log.info({ body: req.body, email: EMAIL, user: { em: 'abc' }, query: req.query, url: req.originalUrl }, `signup from ${EMAIL}`);
    res.locals.log.warn({ headers: req.headers, note: `encoded ${encodeURIComponent(EMAIL)}` }, 'headers');
    res.locals.log.error({ err: new Error(`could not reach ${EMAIL}`) }, 'failed');
    res.json({ ok: true });
  });
  server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

beforeEach(() => {
  lines.length = 0;
  failCommit = false;
});

function parsed(): Record<string, unknown>[] {
  return lines.map((l) => JSON.parse(l) as Record<string, unknown>);
}

function expectNoEmail() {
  const all = lines.join('');
  expect(all.length).toBeGreaterThan(0);
  for (const needle of [EMAIL, EMAIL.toLowerCase(), encodeURIComponent(EMAIL), 'Jane.Doe', 'jane.doe']) expect(all).not.toContain(needle);
}

describe('request ids', () => {
  it('generates one, echoes it, and stamps it on the access line', async () => {
    const res = await fetch(`${base}/careless`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } });
    const id = res.headers.get(REQUEST_ID_HEADER);
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    const entries = parsed();
    expect(entries.every((e) => e.req_id === id)).toBe(true);
    expect(entries.at(-1)).toMatchObject({ msg: 'request', method: 'POST', path: '/careless', status: 200, req_id: id });
  });

  it('propagates a sane incoming id and replaces an unsafe one', async () => {
    const kept = await fetch(`${base}/careless`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json', 'x-request-id': 'edge-7f3a:42' } });
    expect(kept.headers.get(REQUEST_ID_HEADER)).toBe('edge-7f3a:42');
    expect(parsed().at(-1)).toMatchObject({ req_id: 'edge-7f3a:42' });
    const replaced = await fetch(`${base}/careless`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json', 'x-request-id': `x ${EMAIL}` } });
    expect(replaced.headers.get(REQUEST_ID_HEADER)).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe('no email in the logs', () => {
  it('a browser event carrying an email in props, query string, header and cookie', async () => {
    const body = JSON.stringify({ s: 'shop', n: 'Lead', i: 'evt-12345678', u: `https://shop.com/thanks?email=${encodeURIComponent(EMAIL)}`, p: { email: EMAIL } });
    for (const fail of [false, true]) {
      failCommit = fail;
      const res = await fetch(`${base}/e?email=${encodeURIComponent(EMAIL)}&e2=${EMAIL}`, {
        method: 'POST',
        body,
        headers: { 'content-type': 'text/plain', origin: 'https://shop.com', 'x-customer': EMAIL, cookie: `em=${EMAIL}` },
      });
      expect(res.status).toBe(fail ? 503 : 200);
    }
    expectNoEmail();
    const entries = parsed();
    expect(entries.map((e) => e.msg)).toEqual(['request', 'browser event commit failed', 'request failed']);
    expect(entries[0]).toMatchObject({ path: '/e', status: 200 });
  });

  it('a route that logs the body, fields, headers and an error with the email in it', async () => {
    await fetch(`${base}/careless?email=${encodeURIComponent(EMAIL)}`, {
      method: 'POST',
      body: JSON.stringify({ email: EMAIL, name: 'Jane' }),
      headers: { 'content-type': 'application/json', cookie: `c=${EMAIL}`, authorization: 'Bearer secret-token' },
    });
    expectNoEmail();
    const all = lines.join('');
    expect(all).not.toContain('secret-token');
    const [info, warn, error] = parsed();
    expect(info).toMatchObject({ body: '[redacted]', email: '[redacted]', user: '[redacted]' });
    expect(info!.msg).toBe('signup from [email]');
    expect(warn!.headers).toMatchObject({ cookie: '[redacted]', authorization: '[redacted]' });
    expect((error!.err as { message: string }).message).toBe('could not reach [email]');
  });

  it('scrubEmails leaves ordinary text, package scopes and paths alone', () => {
    expect(scrubEmails('node_modules/@types/node/index.d.ts at /srv/app')).toBe('node_modules/@types/node/index.d.ts at /srv/app');
    expect(scrubEmails('"to":"a.b-c@mail.example.co.uk","x":1')).toBe('"to":"[email]","x":1');
    expect(scrubEmails('q=jane%40example.com&x=1')).toBe('q=[email]&x=1');
  });
});
