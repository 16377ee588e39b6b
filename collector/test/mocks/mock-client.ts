// What every platform mock test does the same way: serve the mock for the file's tests, and
// send it requests the way the dispatcher does (real HTTP, minus retries).
import { afterAll, beforeAll, beforeEach, expect } from 'vitest';
import type { DestinationRequest, DestinationResponse } from '../../src/destinations/types.js';

/**
 * The mock `start` serves, for the tests of one file: started before the first test, reset
 * before each, closed after the last. It is read through the returned object, so reading it
 * outside a test or hook (before it has started) throws.
 */
export function serveForTests<M extends { reset(): void; close(): Promise<void> }>(start: () => Promise<M>): M {
  let running: M | undefined;
  beforeAll(async () => {
    running = await start();
  });
  afterAll(async () => {
    await running?.close();
  });
  beforeEach(() => {
    started().reset();
  });

  function started(): M {
    if (!running) throw new Error('the mock is not started: read it inside a test or hook');
    return running;
  }
  return new Proxy({} as M, {
    get(_target, key) {
      const mock = started();
      const value: unknown = Reflect.get(mock, key, mock);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(mock) : value;
    },
  });
}

/** What the dispatcher does with a DestinationRequest, minus retries. */
export async function send(req: DestinationRequest): Promise<DestinationResponse> {
  const res = await fetch(req.url, { method: req.method, headers: req.headers, body: req.body });
  const headers: Record<string, string> = {};
  res.headers.forEach((v, k) => {
    headers[k] = v;
  });
  return { status: res.status, headers, body: await res.text() };
}

/** POSTs `body` to `url` with exactly `headers`: a string as it is, anything else as JSON. */
export function postBody(url: string, body: unknown, headers: Record<string, string>): Promise<DestinationResponse> {
  return send({ method: 'POST', url, headers, body: typeof body === 'string' ? body : JSON.stringify(body), eventIds: [] });
}

/** `GET /_received` answers, as JSON, what the mock recorded. */
export async function expectReceivedListed(mock: { url: string; received: unknown }): Promise<void> {
  const res = await fetch(`${mock.url}/_received`);
  expect(res.status).toBe(200);
  expect(await res.json()).toEqual(JSON.parse(JSON.stringify(mock.received)));
}
