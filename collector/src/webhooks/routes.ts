// POST /webhooks/<platform>/<site>: commerce platforms' order webhooks in, canonical events
// out through the one ingest step.
//
//   404  unknown platform or site, or the platform is not configured for the site (checked
//        before the body is read)
//   401  forged, unsigned or stale: nothing is parsed, looked up or stored
//   400  not JSON, or a field the mapping needs is missing (the error names it)
//   200  committed (or a duplicate of something committed, or not a conversion: `ignored`),
//        or a platform's unsigned activation ping
//   503  the store failed: the platform retries later
//
// Idempotent twice over: event ids derive from the order (refund, dispute) id, so a retry
// or a second topic for the same order is the same event; and the platform's delivery id
// (X-Shopify-Webhook-Id, Stripe's evt_…, …) is remembered after a successful commit so a
// replay is answered at once. No outbound call happens on the request path.
import type { IncomingHttpHeaders } from 'node:http';
import express, { type ErrorRequestHandler, type Request, type RequestHandler, type Response, type Router } from 'express';
import type { SiteConfig } from '../config/schema.js';
import { CanonicalEventSchema, type CanonicalEvent } from '../event/schema.js';
import type { CollectorContext } from '../http/collector-context.js';
import { sendError } from '../http/errors.js';
import type { InsertResult } from '../store/types.js';
import { mergeIdentifiers } from './build-event.js';
import { siteWebhooks } from './config.js';
import { webhookPlatform } from './registry.js';
import type { WebhookPlatform } from './types.js';

export interface WebhookRouterOptions {
  /** Largest accepted body. Default 2 MB (a big Shopify order with many lines fits). */
  bodyLimitBytes?: number;
  /** Delivery ids remembered per process. Default 20,000. */
  rememberDeliveries?: number;
  /** How long a delivery id is remembered. Default 72 h (Stripe retries for up to 3 days). */
  rememberMs?: number;
}

interface Target {
  platform: WebhookPlatform<unknown>;
  site: SiteConfig;
  config: unknown;
}

/** Recently committed delivery ids, oldest evicted first. */
function deliveryMemory(max: number, ttlMs: number, now: () => number) {
  const seen = new Map<string, number>();
  return {
    has(key: string): boolean {
      const at = seen.get(key);
      if (at === undefined) return false;
      if (now() - at > ttlMs) {
        seen.delete(key);
        return false;
      }
      return true;
    },
    add(key: string): void {
      seen.delete(key);
      seen.set(key, now());
      while (seen.size > max) {
        const oldest = seen.keys().next().value;
        if (oldest === undefined) break;
        seen.delete(oldest);
      }
    },
  };
}

function firstValues(query: Request['query']): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(query ?? {})) {
    const first = Array.isArray(v) ? v[0] : v;
    if (typeof first === 'string') out[k] = first;
  }
  return out;
}

export function webhookRouter(ctx: CollectorContext, opts: WebhookRouterOptions = {}): Router {
  const limit = opts.bodyLimitBytes ?? 2 * 1024 * 1024;
  const memory = deliveryMemory(opts.rememberDeliveries ?? 20_000, opts.rememberMs ?? 72 * 3_600_000, ctx.now);
  const router = express.Router();

  const resolveTarget: RequestHandler = (req, res, next) => {
    const platformName = String(req.params.platform ?? '');
    const siteId = String(req.params.site ?? '');
    const platform = webhookPlatform(platformName);
    if (!platform) return sendError(res, 404, 'unknown_platform', `no webhook platform "${platformName}"`);
    const site = ctx.sites.get(siteId);
    if (!site) return sendError(res, 404, 'unknown_site', `no site "${siteId}"`);
    const config = (siteWebhooks(site) as Record<string, unknown> | undefined)?.[platform.platform];
    if (config === undefined) {
      return sendError(res, 404, 'webhook_not_configured', `site "${siteId}" has no ${platform.platform} webhook configured`);
    }
    res.locals.webhook = { platform, site, config } satisfies Target;
    next();
  };

  /** Fills gaps with what the browser last reported for the visitor id the order carried. */
  async function withVisitorSignals(event: CanonicalEvent): Promise<CanonicalEvent> {
    const vid = event.ids.visitor_id;
    if (!vid || !event.consent.marketing) return event;
    let signals;
    try {
      signals = await ctx.store.getVisitorSignals(event.site_id, vid);
    } catch (err) {
      ctx.logger.warn({ err, site: event.site_id }, 'visitor signals lookup failed; event kept without them');
      return event;
    }
    if (!signals) return event;
    const enriched: CanonicalEvent = {
      ...event,
      ids: mergeIdentifiers(event.ids, signals.ids),
      ...(event.ip === undefined && signals.ip ? { ip: signals.ip } : {}),
      ...(event.user_agent === undefined && signals.user_agent ? { user_agent: signals.user_agent } : {}),
      ...(event.url === undefined && signals.url ? { url: signals.url } : {}),
    };
    const checked = CanonicalEventSchema.safeParse(enriched);
    return checked.success ? checked.data : event;
  }

  const handle = async (req: Request, res: Response): Promise<void> => {
    const { platform, site, config } = res.locals.webhook as Target;
    const rawBody = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    if (req.body !== undefined && !Buffer.isBuffer(req.body)) {
      // Another body parser ran first: the raw bytes the signature covers are gone.
      ctx.logger.error({ platform: platform.platform }, 'webhook body was already parsed; mount the webhook router before JSON body parsers');
      return sendError(res, 500, 'raw_body_unavailable', 'the collector could not read the raw body');
    }
    const headers: IncomingHttpHeaders = req.headers;
    const query = firstValues(req.query);

    const verdict = platform.verify({ rawBody, headers, query }, config, ctx.now());
    if (!verdict.ok) {
      ctx.logger.warn({ platform: platform.platform, site: site.id, code: verdict.code }, 'webhook refused');
      return sendError(res, verdict.status, verdict.code, verdict.message);
    }
    if (verdict.ping) {
      res.status(200).json({ ok: true, ping: true });
      return;
    }

    let payload: unknown;
    try {
      payload = JSON.parse(rawBody.toString('utf8'));
    } catch {
      return sendError(res, 400, 'invalid_json', 'the body is not valid JSON');
    }

    const delivery = platform.deliveryId(headers, payload, config);
    const key = delivery === undefined ? undefined : `${site.id}\u0000${platform.platform}\u0000${delivery}`;
    if (key !== undefined && memory.has(key)) {
      res.status(200).json({ duplicate: true, delivery_id: delivery });
      return;
    }

    const mapped = platform.toEvents(payload, { site, config, now: ctx.now(), headers, query });
    if (mapped.errors?.length) return sendError(res, 400, 'invalid_payload', `the ${platform.platform} payload is invalid`, mapped.errors);
    if (mapped.events.length === 0) {
      if (key !== undefined) memory.add(key);
      res.status(200).json({ ignored: mapped.ignored ?? 'nothing to convert' });
      return;
    }

    let results: InsertResult[];
    try {
      const events = await Promise.all(mapped.events.map(withVisitorSignals));
      // Ingest merges a duplicate's identity into the stored event (the thank-you page was
      // first, or an earlier topic of the same order): one conversion, the richest identity.
      results = await Promise.all(events.map((e) => ctx.ingest.ingest(e, site)));
    } catch (err) {
      ctx.logger.error({ err, platform: platform.platform, site: site.id }, 'webhook commit failed');
      return sendError(res, 503, 'store_unavailable', 'the event could not be stored; retry later');
    }
    if (key !== undefined) memory.add(key);
    ctx.logger.debug(
      { platform: platform.platform, site: site.id, delivery, events: results.map((r) => r.event_id), inserted: results.filter((r) => r.inserted).length },
      'webhook accepted',
    );
    res.status(200).json({
      accepted: results.map((r, i) => ({ event_id: r.event_id, event_name: mapped.events[i]!.event_name, duplicate: !r.inserted })),
    });
  };

  const onBodyError: ErrorRequestHandler = (err: { type?: string; status?: number }, _req, res, next) => {
    if (res.headersSent) return next(err);
    if (err.type === 'entity.too.large') return sendError(res, 413, 'payload_too_large', `the body is larger than ${limit} bytes`);
    if (err.type === 'encoding.unsupported') return sendError(res, 415, 'unsupported_encoding', 'unsupported content encoding');
    if (err.status && err.status >= 400 && err.status < 500) return sendError(res, err.status, 'bad_request', 'the request could not be read');
    next(err);
  };

  router.post('/webhooks/:platform/:site', resolveTarget, express.raw({ type: () => true, limit }), handle, onBodyError);
  return router;
}
