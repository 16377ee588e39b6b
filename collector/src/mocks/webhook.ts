// A local receiver for the generic webhook destination, doing what a careful receiver
// should: it verifies `X-Trakvo-Signature` over the raw body (notify/signature.ts),
// requires the idempotency headers, checks the body is a canonical event or an array of
// them, and answers a delivery id it has already seen with 200 without recording it again.
// Accepts POSTs on any path.
import express, { type RequestHandler } from 'express';
import { CanonicalEventSchema, type CanonicalEvent } from '../event/schema.js';
import { verifySignature } from '../notify/signature.js';
import { bodyParseErrors, createScriptedLog, serveMock, type RunningMock, type PlatformMock } from './support/mock-server.js';

export type { ScriptedResponse } from './support/mock-server.js';

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

export interface WebhookMock extends PlatformMock<WebhookReceivedDelivery> {
  /** Deliveries answered as duplicates (their delivery ids), not recorded again. */
  duplicates: string[];
}

/** A path the mock does not serve, answered in the receiver's shape. */
const notFound: RequestHandler = (req, res) => {
  res.status(404).json({ error: `no route ${req.method} ${req.path}` });
};

export function createWebhookMock(opts: WebhookMockOptions): WebhookMock {
  const duplicates: string[] = [];
  const seen = new Set<string>();
  const log = createScriptedLog<WebhookReceivedDelivery>(() => {
    duplicates.length = 0;
    seen.clear();
  });
  const { received } = log;
  const router = express.Router();

  router.get('/_received', log.listReceived);

  // The raw bytes: the signature covers the body exactly as sent.
  router.use(express.raw({ type: () => true, limit: '20mb' }));

  router.use((req, res, next) => {
    if (req.method !== 'POST') return next();
    if (log.answerScripted(res)) return;
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

  router.use(
    bodyParseErrors((res, status, message = 'unknown') => {
      res.status(status).json({ error: `could not read the body: ${message}` });
    }),
  );

  return { router, received, duplicates, script: log.script, reset: log.reset };
}

export interface RunningWebhookMock extends RunningMock<WebhookMock> {}

/** The receiver as its own server on 127.0.0.1 (a random free port unless `port` is given). */
export async function startWebhookMock(opts: WebhookMockOptions & { port?: number }): Promise<RunningWebhookMock> {
  return serveMock(createWebhookMock(opts), notFound, opts.port);
}
