// What every inbound commerce webhook (Shopify, WooCommerce, Stripe, Hotmart, Kiwify, Cakto,
// Cartpanda, generic JSON) is: a small definition with its config schema, an authenticity
// check on the raw body, and a pure mapping from the parsed payload to canonical events.
// The route (routes.ts) owns HTTP, idempotency, enrichment and the ingest call.
import type { IncomingHttpHeaders } from 'node:http';
import type { z } from 'zod';
import type { SiteConfig } from '../config/schema.js';
import type { CanonicalEvent } from '../event/schema.js';
import type { FieldProblem } from '../http/errors.js';

export const WEBHOOK_PLATFORMS = [
  'shopify',
  'woocommerce',
  'stripe',
  'hotmart',
  'kiwify',
  'cakto',
  'cartpanda',
  'generic',
] as const;
export type WebhookPlatformName = (typeof WEBHOOK_PLATFORMS)[number];

/** The request as the authenticity check sees it: bytes exactly as received. */
export interface WebhookRequest {
  rawBody: Buffer;
  /** Node's headers: lowercase names. */
  headers: IncomingHttpHeaders;
  /** Query-string parameters (first value of each). */
  query: Record<string, string | undefined>;
}

export type Verification =
  | { ok: true; /** A platform's unsigned "is this URL alive" request, answered 200 and nothing else. */ ping?: boolean }
  | { ok: false; status: 400 | 401; code: string; message: string };

export interface MapContext<C> {
  site: SiteConfig;
  config: C;
  /** Unix ms. */
  now: number;
  headers: IncomingHttpHeaders;
  query: Record<string, string | undefined>;
}

export interface MapResult {
  events: CanonicalEvent[];
  /** Why nothing was produced (a topic or status that is not a conversion); answered 200. */
  ignored?: string;
  /** The payload lacks or mistypes a field the mapping needs; answered 400. */
  errors?: FieldProblem[];
}

export interface WebhookPlatform<C = unknown> {
  platform: WebhookPlatformName;
  /** The platform's block under a site's `webhooks` (secrets already resolved from env:/file:). */
  configSchema: z.ZodType<C>;
  /** Authenticity on the raw body, before anything is parsed or stored. Constant-time. */
  verify(req: WebhookRequest, config: C, now: number): Verification;
  /** Pure: parsed JSON in, canonical events out (event ids derived from the order). */
  toEvents(payload: unknown, ctx: MapContext<C>): MapResult;
  /** The platform's id of this delivery/event, stable across its retries, if it has one. */
  deliveryId(headers: IncomingHttpHeaders, payload: unknown, config: C): string | undefined;
}

/** Loosens a typed definition to the registry's element type. */
export function definePlatform<C>(p: WebhookPlatform<C>): WebhookPlatform<unknown> {
  return p as unknown as WebhookPlatform<unknown>;
}

/** A header's first value, trimmed; undefined when absent or empty. */
export function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name.toLowerCase()];
  const s = Array.isArray(v) ? v[0] : v;
  const t = s?.trim();
  return t ? t : undefined;
}
