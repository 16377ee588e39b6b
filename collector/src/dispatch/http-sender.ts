// Sends destination requests over a keep-alive connection pool with a hard timeout.
import { Agent, request } from 'undici';
import type { DestinationRequest, DestinationResponse } from '../destinations/types.js';

export type Sender = (req: DestinationRequest) => Promise<DestinationResponse>;

export interface HttpSender {
  send: Sender;
  close(): Promise<void>;
}

export function createHttpSender(opts: { timeoutMs: number }): HttpSender {
  const agent = new Agent({ keepAliveTimeout: 30_000, connections: 32, connect: { timeout: opts.timeoutMs } });
  return {
    async send(req) {
      const res = await request(req.url, {
        method: req.method,
        headers: { 'user-agent': 'trakvo-collector', ...req.headers },
        body: req.body,
        dispatcher: agent,
        headersTimeout: opts.timeoutMs,
        bodyTimeout: opts.timeoutMs,
        signal: AbortSignal.timeout(opts.timeoutMs),
      });
      const body = await res.body.text();
      const headers: Record<string, string | undefined> = {};
      for (const [k, v] of Object.entries(res.headers)) headers[k] = Array.isArray(v) ? v.join(', ') : v;
      return { status: res.statusCode, headers, body };
    },
    close: () => agent.close(),
  };
}
