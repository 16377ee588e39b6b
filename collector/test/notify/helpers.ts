// A real local HTTP receiver for notifications: records every request with its raw body,
// checks the signature with the collector's own verifier, and answers from a script.
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { verifySignature } from '../../src/notify/signature.js';

export interface Received {
  headers: Record<string, string | string[] | undefined>;
  body: string;
  /** verifySignature(header, body, secret) at arrival. */
  signatureOk: boolean;
  status: number;
  at: number;
}

export interface Receiver {
  url: string;
  received: Received[];
  close(): Promise<void>;
}

/** `answer(n)` gives the status of the n-th request (0-based). */
export async function startReceiver(secret: string, answer: (n: number) => number): Promise<Receiver> {
  const received: Received[] = [];
  const app = express();
  app.post('/hook', express.text({ type: () => true }), (req, res) => {
    const body = typeof req.body === 'string' ? req.body : '';
    const signatureOk = verifySignature(req.get('x-trakvo-signature'), body, secret, { toleranceSec: 300 });
    // A receiver refuses what it cannot verify; otherwise it answers as scripted.
    const status = signatureOk ? answer(received.length) : 401;
    received.push({ headers: req.headers, body, signatureOk, status, at: Date.now() });
    res.status(status).send(status >= 400 ? 'nope' : '');
  });
  const server: Server = await new Promise((resolve, reject) => {
    const s = app.listen(0, '127.0.0.1');
    s.once('listening', () => resolve(s));
    s.once('error', reject);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    received,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}

export async function waitFor<T>(fn: () => Promise<T | undefined> | T | undefined, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 20));
  }
}
