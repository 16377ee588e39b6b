// A local receiver for the generic webhook destination, doing what a careful receiver
// should: it verifies `X-Trakvo-Signature` over the raw body (notify/signature.ts),
// requires the idempotency headers, checks the body is a canonical event or an array of
// them, and answers a delivery id it has already seen with 200 without recording it again.
// Accepts POSTs on any path.
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type NextFunction, type Request, type Response } from 'express';
import { CanonicalEventSchema, type CanonicalEvent } from '../event/schema.js';
import { verifySignature } from '../notify/signature.js';

export interface ScriptedResponse {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

export interface WebhookReceivedDelivery {
  /** The request path (the configured URL's path). */
  path: string;
  /** `X-Trakvo-Delivery-Id` (= `Idempotency-Key`). */
  deliveryId: string;
  /** The events, parsed and validated; find one by `event_id`. */
  events: CanonicalEvent[];
  /** Whether the body was an array (batch mode). */
  batch: boolean;
  /** The `X-Trakvo-Signature` header as received. */
  signature: string;
  /** Unix ms. */
  receivedAt: number;
}

export interface WebhookMockOptions {
  /** The shared secret signatures are checked with. */
  secret: string;
  /** Accepted clock distance for `t` (default 300 s). */
  toleranceSec?: number;
}

export interface WebhookMock {
  router: express.Router;
  received: WebhookReceivedDelivery[];
  /** Deliveries answered as duplicates (their delivery ids), not recorded again. */
  duplicates: string[];
  /** Answer the next requests with these, in order, one per request, before any checks. */
  script(responses: ScriptedResponse[]): void;
  reset(): void;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function createWebhookMock(opts: WebhookMockOptions): WebhookMock {
  const received: WebhookReceivedDelivery[] = [];
  const duplicates: string[] = [];
  const scripted: ScriptedResponse[] = [];
  const seen = new Set<string>();
  const router = express.Router();

  router.get('/_received', (_req, res) => {
    res.json(received);
  });

  // The raw bytes: the signature covers the body exactly as sent.
  router.use(express.raw({ type: () => true, limit: '20mb' }));

  router.use((req, res, next) => {
    if (req.method !== 'POST') return next();
    const script = scripted.shift();
    if (script) {
      res.status(script.status).set(script.headers ?? {});
      if (typeof script.body === 'string') res.send(script.body);
      else res.json(script.body);
      return;
    }
    const fail = (status: number, error: string): void => {
      res.status(status).json({ error });
    };

    const raw = Buffer.isBuffer(req.body) ? req.body.toString('utf8') : '';
    const signature = req.get('x-trakvo-signature');
    if (signature === undefined) return fail(401, 'missing X-Trakvo-Signature');
    const verifyOpts = opts.toleranceSec === undefined ? {} : { toleranceSec: opts.toleranceSec };
    if (!verifySignature(signature, raw, opts.secret, verifyOpts)) return fail(401, 'invalid or stale X-Trakvo-Signature');
    if (!req.is('application/json')) return fail(415, 'Content-Type must be application/json');
    const deliveryId = req.get('x-trakvo-delivery-id');
    if (deliveryId === undefined || deliveryId === '') return fail(400, 'missing X-Trakvo-Delivery-Id');
    if (req.get('idempotency-key') !== deliveryId) return fail(400, 'Idempotency-Key must equal X-Trakvo-Delivery-Id');

    let parsed: unknown;
    try {
      parsed = JSON.parse(raw);
    } catch {
      return fail(400, 'the body is not JSON');
    }
    const batch = Array.isArray(parsed);
    const items: unknown[] = batch ? (parsed as unknown[]) : [parsed];
    if (items.length === 0) return fail(400, 'empty batch');
    const events: CanonicalEvent[] = [];
    for (const [i, item] of items.entries()) {
      const result = CanonicalEventSchema.safeParse(item);
      if (!result.success) {
        const issue = result.error.issues[0];
        return fail(422, `${batch ? `[${i}].` : ''}${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid event'}`);
      }
      events.push(result.data);
    }
    if (!batch && deliveryId !== events[0]!.event_id) return fail(400, 'X-Trakvo-Delivery-Id must be the event_id of a single event');
    if (batch && !deliveryId.startsWith('batch_')) return fail(400, 'a batch X-Trakvo-Delivery-Id starts with batch_');

    if (seen.has(deliveryId)) {
      duplicates.push(deliveryId);
      res.status(200).json({ received: events.length, duplicate: true });
      return;
    }
    seen.add(deliveryId);
    received.push({ path: req.path, deliveryId, events, batch, signature, receivedAt: Date.now() });
    res.status(200).json({ received: events.length });
  });

  router.use((err: unknown, _req: Request, res: Response, next: NextFunction) => {
    if (res.headersSent) return next(err);
    const status = isObject(err) && typeof err.status === 'number' && err.status >= 400 && err.status < 500 ? err.status : 400;
    res.status(status).json({ error: `could not read the body: ${err instanceof Error ? err.message : 'unknown'}` });
  });

  return {
    router,
    received,
    duplicates,
    script(responses) {
      scripted.push(...responses);
    },
    reset() {
      received.length = 0;
      duplicates.length = 0;
      scripted.length = 0;
      seen.clear();
    },
  };
}

export interface RunningWebhookMock extends Omit<WebhookMock, 'router'> {
  /** Base URL; POST to it or any path under it, e.g. `${url}/hooks/trakvo`. */
  url: string;
  close(): Promise<void>;
}

/** The receiver as its own server on 127.0.0.1 (a random free port unless `port` is given). */
export async function startWebhookMock(opts: WebhookMockOptions & { port?: number }): Promise<RunningWebhookMock> {
  const mock = createWebhookMock(opts);
  const app = express();
  app.disable('x-powered-by');
  app.use(mock.router);
  app.use((req, res) => {
    res.status(404).json({ error: `no route ${req.method} ${req.path}` });
  });
  const server: Server = await new Promise((resolve, reject) => {
    const s = app.listen(opts.port ?? 0, '127.0.0.1');
    s.once('listening', () => resolve(s));
    s.once('error', reject);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    received: mock.received,
    duplicates: mock.duplicates,
    script: mock.script,
    reset: mock.reset,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}
