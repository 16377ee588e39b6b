// POST /e: events from t.js. Validates everything first (bad input changes nothing),
// checks the page's origin, enriches with IP, user agent and first-party cookies, and
// answers 2xx only after every event is committed.
import type { Request, RequestHandler, Response } from 'express';
import type { SiteConfig } from '../config/schema.js';
import type { CanonicalEvent } from '../event/schema.js';
import type { Logger } from '../log.js';
import { BrowserWireSchema, browserEventToCanonical, resolveConsent, type BrowserWire } from '../pipeline/browser-event.js';
import type { Ingest } from '../pipeline/ingest.js';
import { resolveClientIp } from './client-ip.js';
import { sendError, type FieldProblem } from './errors.js';
import { planFirstPartyCookies, readIdentifiersFromCookies } from './first-party-cookies.js';
import { isShopifyPixelRequest, PIXEL_KEY_PARAM, splitPixelCookieProps } from '../shopify/pixel-requests.js';
import { parse as parseCookies } from 'cookie';

/** A page sends one event, or a few queued ones together; more is not a browser. */
export const MAX_EVENTS_PER_REQUEST = 20;

const ACCEPTED_TYPES = ['text/plain', 'application/json'];

/** The page's origin, from Origin or else Referer (some browsers omit Origin on beacons). */
function requestOrigin(req: Request): string | undefined {
  const origin = req.get('origin');
  if (origin && origin !== 'null') return origin;
  const referer = req.get('referer');
  if (!referer) return undefined;
  try {
    return new URL(referer).origin;
  } catch {
    return undefined;
  }
}

/** Lets t.js post with `fetch` from an allowed origin on another host (CORS, credentials). */
export function corsForAllowedOrigins(sites: SiteConfig[]): RequestHandler {
  const allowed = new Set(sites.flatMap((s) => s.allowedOrigins));
  return (req, res, next) => {
    const origin = req.get('origin');
    if (origin && allowed.has(origin)) {
      res.set({ 'Access-Control-Allow-Origin': origin, 'Access-Control-Allow-Credentials': 'true' });
      res.vary('Origin');
    }
    if (req.method === 'OPTIONS') {
      res.set({ 'Access-Control-Allow-Methods': 'POST', 'Access-Control-Allow-Headers': 'Content-Type', 'Access-Control-Max-Age': '86400' });
      res.status(204).end();
      return;
    }
    next();
  };
}

export function browserEventsRoute(deps: { sites: Map<string, SiteConfig>; ingest: Ingest; logger: Logger; now?: () => number }): RequestHandler {
  const now = deps.now ?? Date.now;
  return async (req: Request, res: Response) => {
    const type = (req.get('content-type') ?? 'text/plain').split(';')[0]!.trim().toLowerCase();
    if (!ACCEPTED_TYPES.includes(type)) {
      sendError(res, 415, 'unsupported_media_type', `send text/plain or application/json, not ${type}`);
      return;
    }
    let body: unknown;
    try {
      body = JSON.parse(typeof req.body === 'string' ? req.body : '');
    } catch {
      sendError(res, 400, 'invalid_json', 'the body is not valid JSON');
      return;
    }
    const items = Array.isArray(body) ? body : [body];
    if (items.length === 0 || items.length > MAX_EVENTS_PER_REQUEST) {
      sendError(res, 400, 'invalid_batch', `send 1 to ${MAX_EVENTS_PER_REQUEST} events per request`);
      return;
    }
    const prefix = (i: number) => (Array.isArray(body) ? `[${i}].` : '');

    const problems: FieldProblem[] = [];
    const wires: { wire: BrowserWire; site: SiteConfig; i: number }[] = [];
    items.forEach((item, i) => {
      const parsed = BrowserWireSchema.safeParse(item);
      if (!parsed.success) {
        problems.push(...parsed.error.issues.map((iss) => ({ field: prefix(i) + iss.path.join('.'), message: iss.message })));
        return;
      }
      const site = deps.sites.get(parsed.data.s);
      if (!site) problems.push({ field: `${prefix(i)}s`, message: `unknown site "${parsed.data.s}"` });
      else wires.push({ wire: parsed.data, site, i });
    });
    if (problems.length) {
      sendError(res, 400, 'invalid_event', 'the event is invalid', problems);
      return;
    }

    const origin = requestOrigin(req);
    // Shopify's custom pixel runs in a sandbox that sends `Origin: null` and no cookies:
    // the site's pixel key stands in for the origin (see shopify/pixel-requests.ts).
    const fromPixel = wires.every(({ site }) => isShopifyPixelRequest(site, req.query[PIXEL_KEY_PARAM]));
    const refused = fromPixel ? undefined : wires.find(({ site }) => !origin || !site.allowedOrigins.includes(origin));
    if (refused) {
      sendError(res, 403, 'origin_not_allowed', `origin ${origin ?? '(none)'} is not allowed for site "${refused.site.id}"`);
      return;
    }

    const t = now();
    const gpc = req.get('sec-gpc') === '1';
    const trustFn = req.app.get('trust proxy fn') as ((addr: string, i: number) => boolean) | undefined;
    const ip = resolveClientIp({
      remoteAddress: req.socket.remoteAddress,
      forwardedFor: req.get('x-forwarded-for'),
      isTrustedProxy: (addr) => (trustFn ? trustFn(addr, 0) : false),
    });
    const userAgent = req.get('user-agent') || undefined;
    const consents = wires.map(({ wire, site }) => resolveConsent(wire.c, site, gpc));
    // Ad cookies only with marketing consent; the landing URL (fbclid, gclid…) is the
    // first consenting event's page.
    const firstMarketing = wires.findIndex((_, k) => consents[k]!.marketing);
    // Props named after our cookies (`_fbp`, `_tk_vid`, …) are identifiers, never custom data.
    const split = wires.map(({ wire }) => splitPixelCookieProps(wire.p));
    const propCookies = firstMarketing >= 0 ? split[firstMarketing]!.cookies : {};
    const landingUrl = firstMarketing >= 0 ? wires[firstMarketing]!.wire.u : undefined;
    const cookies =
      firstMarketing < 0
        ? { ids: {}, setCookies: [] }
        : fromPixel
          ? // The sandbox drops Set-Cookie: read what the pixel sent, mint nothing.
            { ids: readIdentifiersFromCookies(propCookies, landingUrl, { now: t }), setCookies: [] }
          : planFirstPartyCookies({
              host: req.hostname,
              secure: req.secure,
              pageUrl: landingUrl,
              cookies: { ...propCookies, ...(parseCookies(req.get('cookie') ?? '') as Record<string, string>) },
              now: t,
            });

    const events: { event: CanonicalEvent; site: SiteConfig }[] = [];
    wires.forEach(({ wire, site, i }, k) => {
      const converted = browserEventToCanonical(
        { ...wire, p: split[k]!.props },
        { site, ip, userAgent, ids: cookies.ids, consent: consents[k]!, now: t },
        prefix(i),
      );
      if (converted.errors) problems.push(...converted.errors);
      else events.push({ event: converted.event, site });
    });
    if (problems.length) {
      sendError(res, 400, 'invalid_event', 'the event is invalid', problems);
      return;
    }

    try {
      const results = await Promise.all(events.map(({ event, site }) => deps.ingest.ingest(event, site)));
      if (cookies.setCookies.length) res.append('Set-Cookie', cookies.setCookies);
      res.status(200).json({ accepted: results.map((r) => ({ event_id: r.event_id, duplicate: !r.inserted })) });
    } catch (err) {
      deps.logger.error({ err }, 'browser event commit failed');
      sendError(res, 503, 'store_unavailable', 'the event could not be stored; retry later');
    }
  };
}
