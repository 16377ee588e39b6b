// The server-to-server API, an Express router mounted at the collector's root:
//
//   POST /v1/events          one event              GET /v1/events/:id   delivery status
//   POST /v1/events/batch    up to 100 events       GET /v1/pixel.gif    the GET form (e-mail pixels)
//   GET  /v1/openapi.json    this API's OpenAPI 3.1 document
//
// Order of checks on every call: token (401/403) → rate limit (429) → media type (415) →
// size (413) → body (400). A 2xx is sent only after the events are committed.
import express, { type ErrorRequestHandler, type Request, type RequestHandler, type Response, type Router } from 'express';
import type { Redis } from 'ioredis';
import type { SiteConfig } from '../config/schema.js';
import type { CanonicalEvent } from '../event/schema.js';
import type { CollectorContext } from '../http/collector-context.js';
import { sendError } from '../http/errors.js';
import { planDeliveries } from '../pipeline/ingest.js';
import { matchQuality } from '../quality/match-quality.js';
import type { DeliveryRecord } from '../store/types.js';
import { createAuthenticator, type ApiPrincipal } from './auth.js';
import { apiConfigOf, ApiConfigSchema, type ApiConfigInput } from './config.js';
import { openApiDocument } from './openapi.js';
import { createTokenRateLimiter } from './rate-limit.js';
import {
  API_LIMITS,
  BatchEnvelopeSchema,
  PIXEL_CONSENT_PARAMS,
  PIXEL_LIST_PARAMS,
  PIXEL_SCALAR_PARAMS,
  PIXEL_USER_PARAMS,
  type BatchResponse,
  type BatchResult,
  type EventStatusResponse,
  type FieldError,
  type TrackResponse,
} from './schemas.js';
import { fieldErrors, serverEventToCanonical, type ConvertedServerEvent } from './server-event.js';

export interface ApiRouterOptions {
  /** The `api` config block; default: `ctx.config.api`. */
  api?: ApiConfigInput;
  /** A connected ioredis client for shared rate-limit counters (instead of `redisUrl`). */
  redis?: Redis;
}

export type ApiRouter = Router & {
  /** Resolves once the rate limiter's shared store (if any) is connected. */
  ready(): Promise<void>;
  /** Closes the rate limiter's Redis connection, if it opened one. */
  close(): Promise<void>;
};

/** A transparent 1×1 GIF. */
export const PIXEL_GIF = Buffer.from('R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7', 'base64');

const JSON_TYPE = /^application\/(?:[\w.+-]+\+)?json$/;

const principalOf = (res: Response): ApiPrincipal => res.locals['principal'] as ApiPrincipal;

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

export function apiRouter(ctx: CollectorContext, opts: ApiRouterOptions = {}): ApiRouter {
  const api = opts.api ? ApiConfigSchema.parse(opts.api) : apiConfigOf(ctx.config);
  const log = ctx.logger.child({ component: 'api' });
  const auth = createAuthenticator({ store: ctx.store, sites: ctx.sites, environment: api.environment, now: ctx.now, logger: log });
  const limiter = createTokenRateLimiter({ config: api.rateLimit, sites: ctx.sites, redis: opts.redis, logger: log });

  /** Token, then rate limit. `pixelForm` errors may be answered as a GIF. */
  const guard =
    (pixelForm: boolean): RequestHandler =>
    async (req, res, next) => {
      const result = await auth.authenticate(req, { pixelForm });
      if (!result.ok) {
        if (result.status === 401) res.set('WWW-Authenticate', 'Bearer realm="trakvo"');
        return fail(req, res, pixelForm, result.status, result.code, result.message);
      }
      const { token } = result.principal;
      const decision = await limiter.consume(token.id, token.site_id);
      res.set('RateLimit-Limit', String(decision.limit));
      if (!decision.allowed) {
        res.set('Retry-After', String(decision.retryAfterSec));
        return fail(req, res, pixelForm, 429, 'rate_limited', `too many requests for this token; retry in ${decision.retryAfterSec} s`);
      }
      res.locals['principal'] = result.principal;
      next();
    };

  const jsonBody = (limit: number): RequestHandler[] => [
    (req, res, next) => {
      const type = (req.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
      if (!JSON_TYPE.test(type)) {
        return sendError(res, 415, 'unsupported_media_type', `send Content-Type: application/json${type ? `, not ${type}` : ''}`);
      }
      next();
    },
    express.json({ limit, type: () => true }),
  ];

  async function commit(converted: ConvertedServerEvent[]) {
    return Promise.all(converted.map((c) => ctx.ingest.ingest(c.event, c.site)));
  }

  /** The answer for one committed (or already stored) event. */
  async function answerFor(c: ConvertedServerEvent, inserted: boolean): Promise<TrackResponse> {
    let event: CanonicalEvent = c.event;
    let destinations: TrackResponse['destinations'];
    if (inserted) {
      const plan = planDeliveries(c.event, c.site);
      destinations = [
        ...plan.destinations.map((id) => ({ id, status: 'pending' as const })),
        ...(plan.skipped ?? []).map((s) => ({ id: s.destination, status: 'skipped' as const, reason: s.reason })),
      ];
    } else {
      const stored = await ctx.store.getEvent(c.site.id, c.event.event_id);
      if (stored) event = stored.event;
      destinations = (stored?.deliveries ?? []).map((d: DeliveryRecord) => ({
        id: d.destination,
        status: d.status,
        ...(d.status === 'skipped' && d.last_error ? { reason: d.last_error } : {}),
      }));
    }
    return {
      event_id: c.event.event_id,
      status: 'queued',
      duplicate: !inserted,
      destinations,
      match_quality: matchQuality(event),
      visitor_linked: c.visitorLinked,
      ...(c.warnings.length ? { warnings: c.warnings } : {}),
    };
  }

  const convert = (body: unknown, site: SiteConfig) =>
    serverEventToCanonical(body, {
      site,
      now: ctx.now(),
      store: ctx.store,
      onSignalsError: (err) => log.warn({ err }, 'visitor signals lookup failed; event kept without them'),
    });

  function storeUnavailable(res: Response, err: unknown): void {
    log.error({ err }, 'API event commit failed');
    res.set('Retry-After', '1');
    sendError(res, 503, 'store_unavailable', 'the event could not be stored; retry later (event_id makes retries safe)');
  }

  const router = express.Router();

  router.get('/v1/openapi.json', (req, res) => {
    res.set('Access-Control-Allow-Origin', '*');
    res.json({ ...openApiDocument(), servers: [{ url: `${req.protocol}://${req.get('host') ?? 'localhost'}${req.baseUrl}` }] });
  });

  router.post('/v1/events/batch', guard(false), ...jsonBody(API_LIMITS.maxBatchBytes), async (req, res) => {
    const { site } = principalOf(res);
    const envelope = BatchEnvelopeSchema.safeParse(req.body);
    if (!envelope.success) {
      return sendError(res, 400, 'invalid_batch', 'send {"events": [ … ]} with 1 to 100 events', fieldErrors(envelope.error.issues));
    }
    const converted = await Promise.all(envelope.data.events.map((body) => convert(body, site)));
    const valid = converted.flatMap((r, index) => (r.ok ? [{ index, value: r.value }] : []));
    let committed;
    try {
      committed = await commit(valid.map((v) => v.value));
    } catch (err) {
      return storeUnavailable(res, err);
    }
    const accepted = new Map<number, TrackResponse>();
    await Promise.all(valid.map(async (v, k) => accepted.set(v.index, await answerFor(v.value, committed[k]!.inserted))));
    const results: BatchResult[] = converted.map((r, index) =>
      r.ok
        ? { index, ...accepted.get(index)! }
        : { index, status: 'rejected' as const, error: { code: 'invalid_event', message: 'the event is invalid', fields: r.errors } },
    );
    const body: BatchResponse = { accepted: valid.length, rejected: converted.length - valid.length, results };
    res.status(200).json(body);
  });

  router.post('/v1/events', guard(false), ...jsonBody(API_LIMITS.maxEventBytes), async (req, res) => {
    const { site } = principalOf(res);
    const result = await convert(req.body, site);
    if (!result.ok) return sendError(res, 400, 'invalid_event', 'the event is invalid', result.errors);
    let inserted: boolean;
    try {
      inserted = (await commit([result.value]))[0]!.inserted;
    } catch (err) {
      return storeUnavailable(res, err);
    }
    res.status(200).json(await answerFor(result.value, inserted));
  });

  router.get('/v1/events/:id', guard(false), async (req, res) => {
    const { site } = principalOf(res);
    const id = String(req.params['id']);
    const stored = await ctx.store.getEvent(site.id, id);
    if (!stored) return sendError(res, 404, 'not_found', `no event "${id}" for site "${site.id}"`);
    const attempts = await ctx.store.listAttempts(site.id, id);
    const body: EventStatusResponse = {
      event_id: stored.event.event_id,
      event_name: stored.event.event_name,
      source: stored.event.source,
      event_time: stored.event.event_time,
      received_at: iso(stored.received_at)!,
      destinations: stored.deliveries.map((d) => ({
        id: d.destination,
        status: d.status,
        attempts: d.attempts,
        last_http_status: d.last_status,
        last_error: d.last_error,
        delivered_at: iso(d.delivered_at),
        next_attempt_at: d.status === 'pending' ? iso(d.next_attempt_at) : null,
        history: attempts
          .filter((a) => a.delivery_id === d.delivery_id)
          .map((a) => ({ at: iso(a.at)!, outcome: a.outcome, http_status: a.http_status, error: a.error, duration_ms: a.duration_ms })),
      })),
    };
    res.json(body);
  });

  router.get('/v1/pixel.gif', guard(true), async (req, res) => {
    const { site } = principalOf(res);
    const { body, errors } = pixelQueryToBody(req.query, site);
    const result = errors.length ? { ok: false as const, errors } : await convert(body, site);
    if (!result.ok) return fail(req, res, true, 400, 'invalid_event', 'the event is invalid', result.errors);
    try {
      await commit([result.value]);
    } catch (err) {
      log.error({ err }, 'API pixel commit failed');
      res.set('Retry-After', '1');
      return fail(req, res, true, 503, 'store_unavailable', 'the event could not be stored; retry later');
    }
    res.set({ 'Content-Type': 'image/gif', 'Cache-Control': 'no-store, max-age=0' });
    res.status(200).end(PIXEL_GIF);
  });

  const onError: ErrorRequestHandler = (err: { type?: string; status?: number; limit?: number }, _req, res, next) => {
    if (res.headersSent) return next(err);
    if (err.type === 'entity.too.large') {
      const batch = err.limit === API_LIMITS.maxBatchBytes;
      return sendError(
        res,
        413,
        'payload_too_large',
        batch ? 'the body is larger than 1 MB; split the batch' : 'the body is larger than 64 kB; send more events with /v1/events/batch',
      );
    }
    if (err.type === 'entity.parse.failed') return sendError(res, 400, 'invalid_json', 'the body is not valid JSON');
    if (err.type === 'charset.unsupported' || err.type === 'encoding.unsupported') {
      return sendError(res, 415, 'unsupported_media_type', String((err as Error).message));
    }
    if (err.status && err.status >= 400 && err.status < 500) return sendError(res, err.status, 'bad_request', String((err as Error).message));
    log.error({ err }, 'unhandled API error');
    sendError(res, 500, 'internal', 'internal error');
  };
  router.use('/v1', onError);

  return Object.assign(router, { ready: () => limiter.ready(), close: () => limiter.close() });
}

/** An error for the GET form: JSON, or a GIF with the error in a header for image clients. */
function fail(req: Request, res: Response, pixelForm: boolean, status: number, code: string, message: string, fields?: FieldError[]): void {
  if (pixelForm && req.accepts(['application/json', 'image/gif']) === 'image/gif') {
    res.set({ 'Content-Type': 'image/gif', 'Cache-Control': 'no-store, max-age=0', 'X-Trakvo-Error': code });
    res.status(status).end(PIXEL_GIF);
    return;
  }
  sendError(res, status, code, message, fields);
}

const TRUE = new Set(['1', 'true', 'yes']);
const FALSE = new Set(['0', 'false', 'no']);
const SCALARS = new Set<string>(PIXEL_SCALAR_PARAMS);
const LISTS = new Set<string>(PIXEL_LIST_PARAMS);
const USER = new Set<string>(PIXEL_USER_PARAMS);

/** The GET form's query string → a POST /v1/events body. */
export function pixelQueryToBody(query: Request['query'], site: SiteConfig): { body: Record<string, unknown>; errors: FieldError[] } {
  const body: Record<string, unknown> = {};
  const user: Record<string, string> = {};
  const properties: Record<string, string> = {};
  const consent: { marketing?: boolean; analytics?: boolean } = {};
  const errors: FieldError[] = [];
  for (const [key, raw] of Object.entries(query)) {
    if (key === 'api_key') continue;
    if (typeof raw !== 'string') {
      errors.push({ field: key, message: 'must be given once, as a plain value' });
      continue;
    }
    if (SCALARS.has(key)) {
      body[key] = key === 'event_time' && /^\d+$/.test(raw) ? Number(raw) : raw;
    } else if (LISTS.has(key)) {
      body[key] = raw.split(',').map((s) => s.trim()).filter(Boolean);
    } else if (USER.has(key)) {
      user[key] = raw;
    } else if ((PIXEL_CONSENT_PARAMS as readonly string[]).includes(key)) {
      const v = raw.trim().toLowerCase();
      if (!TRUE.has(v) && !FALSE.has(v)) errors.push({ field: key, message: 'must be 1/0 or true/false' });
      consent[key === 'consent_marketing' ? 'marketing' : 'analytics'] = TRUE.has(v);
    } else if (key.startsWith('p.') && key.length > 2) {
      properties[key.slice(2)] = raw;
    } else {
      errors.push({ field: key, message: 'unknown parameter' });
    }
  }
  if (Object.keys(user).length) body['user'] = user;
  if (Object.keys(properties).length) body['properties'] = properties;
  if (consent.marketing !== undefined || consent.analytics !== undefined) {
    body['consent'] = { marketing: consent.marketing ?? site.consentDefault.marketing, analytics: consent.analytics ?? site.consentDefault.analytics };
  }
  return { body, errors };
}
