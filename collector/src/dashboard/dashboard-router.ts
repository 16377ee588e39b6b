// dashboardRouter(ctx, { feed }): the admin dashboard, an Express router mounted under the
// collector (e.g. at /admin). Server-rendered pages, one static script, uPlot for charts,
// a Server-Sent Events stream for live rows. Off (404) unless `admin` is configured.
//
// Security: every answer carries a strict CSP (no inline script or style) and the usual
// headers; sessions are HMAC-signed HttpOnly SameSite=Strict cookies; every POST needs the
// session's CSRF token and a same-origin request; failed logins are rate-limited per address.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import express, { type ErrorRequestHandler, type NextFunction, type Request, type RequestHandler, type Response, type Router } from 'express';
import type { SiteConfig } from '../config/schema.js';
import type { CollectorContext } from '../http/collector-context.js';
import { sendError } from '../http/errors.js';
import { packageRoot } from '../http/package-root.js';
import { matchQuality, matchQualityFor, type MatchQuality } from '../quality/match-quality.js';
import { renderShopifyCustomPixel } from '../shopify/custom-pixel.js';
import type { EventCursor } from '../store/types.js';
import { checkPassword, createLoginLimiter, createSessions, isSameOriginRequest, type Session } from './auth.js';
import { adminConfigOf, type AdminConfig } from './config.js';
import type { EventFeed } from './event-feed.js';
import { createLiveStream } from './live.js';
import { chartSeries, createReader, destinationHealth, eventAsSent, parseRange } from './queries.js';
import { deadLettersPage } from './views/dead-letters.js';
import { eventDetailPage, eventListPage, prettyAnswer } from './views/events.js';
import type { PageContext } from './views/layout.js';
import { errorPage, loginPage } from './views/login.js';
import { overviewPage } from './views/overview.js';
import { setupPage, type SiteSetup } from './views/setup.js';

export type DashboardContext = Pick<CollectorContext, 'config' | 'sites' | 'store' | 'dispatcher' | 'logger' | 'now'>;

export interface DashboardOptions {
  feed: EventFeed;
  /** Overrides `config.admin`; `null` turns the dashboard off. */
  admin?: AdminConfig | null;
  /** Path of the collector the snippet is served from (default: the mount path's parent). */
  collectorPath?: string;
  /** Live stream store poll (default 1 s). */
  livePollMs?: number;
  /** Woken after dead outbound webhooks are replayed. */
  notifier?: { wake(): void };
}

export type DashboardRouter = Router & {
  /** Ends open live streams and stops polling (call when the collector closes). */
  close(): void;
};

export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "object-src 'none'",
].join('; ');

const securityHeaders: RequestHandler = (_req, res, next) => {
  res.set({
    'Content-Security-Policy': CONTENT_SECURITY_POLICY,
    'X-Content-Type-Options': 'nosniff',
    // same-origin, not no-referrer: with no-referrer, browsers send `Origin: null` on form posts.
    'Referrer-Policy': 'same-origin',
    'X-Frame-Options': 'DENY',
    'Cross-Origin-Opener-Policy': 'same-origin',
    'Cross-Origin-Resource-Policy': 'same-origin',
    'Permissions-Policy': 'camera=(), microphone=(), geolocation=(), payment=()',
  });
  next();
};

const EVENTS_PAGE = 50;
const OVERVIEW_ROWS = 25;
const DEAD_PAGE = 100;
const REQUEUE_CHUNK = 1000;

function str(v: unknown, max = 200): string {
  return typeof v === 'string' ? v.trim().slice(0, max) : '';
}

function wantsJson(req: Request): boolean {
  return (req.get('accept') ?? '').includes('application/json');
}

/** A path inside the dashboard to go to after login; anything else falls back to `/`. */
function safeNext(v: unknown): string {
  const s = typeof v === 'string' ? v : '';
  return /^\/(?![/\\])[^\s\\]*$/.test(s) && s.length < 500 ? s : '/';
}

function uplotDir(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve('uplot/package.json')), 'dist');
}

export function dashboardRouter(ctx: DashboardContext, opts: DashboardOptions): DashboardRouter {
  const router = express.Router() as DashboardRouter;
  const admin = opts.admin === undefined ? adminConfigOf(ctx.config) : (opts.admin ?? undefined);
  router.use(securityHeaders);

  if (!admin) {
    // Off: indistinguishable from a path that does not exist.
    router.use((_req, res) => sendError(res, 404, 'not_found', 'not found'));
    return Object.assign(router, { close() {} });
  }

  const { store, logger } = ctx;
  const now = ctx.now;
  const sessions = createSessions(admin, now);
  const limiter = createLoginLimiter(now);
  const reader = createReader(store, ctx.sites);
  const live = createLiveStream({ reader, feed: opts.feed, logger, ...(opts.livePollMs ? { pollMs: opts.livePollMs } : {}) });
  const siteIds = [...ctx.sites.keys()];
  const form = express.urlencoded({ extended: false, limit: '8kb', parameterLimit: 20 });

  // ── static files (no secrets in them; the login page needs the stylesheet) ──────────
  const staticDir = join(packageRoot(), 'collector', 'src', 'dashboard', 'static');
  const uplot = uplotDir();
  const sendStatic = (file: string, dir: string): RequestHandler => (_req, res, next) => {
    res.set('Cache-Control', 'no-cache');
    res.sendFile(file, { root: dir, dotfiles: 'deny' }, (err) => err && next(err));
  };
  router.get('/static/dashboard.js', sendStatic('dashboard.js', staticDir));
  router.get('/static/dashboard.css', sendStatic('dashboard.css', staticDir));
  router.get('/static/uplot.iife.min.js', sendStatic('uPlot.iife.min.js', uplot));
  router.get('/static/uplot.min.css', sendStatic('uPlot.min.css', uplot));

  router.use((_req, res, next) => {
    res.set('Cache-Control', 'no-store');
    next();
  });

  // ── login ──────────────────────────────────────────────────────────────────────────
  const clientOf = (req: Request) => req.ip ?? req.socket.remoteAddress ?? 'unknown';

  router.get('/login', (req, res) => {
    if (sessions.read(req)) return res.redirect(303, `${req.baseUrl}${safeNext(req.query.next)}`);
    res.type('html').send(loginPage(req.baseUrl, { next: safeNext(req.query.next) }));
  });

  router.post('/login', form, (req, res) => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    const next = safeNext(body.next);
    if (!isSameOriginRequest(req)) {
      res.status(403).type('html').send(errorPage(req.baseUrl, 'Forbidden', 'This form must be sent from the dashboard’s own login page.', false));
      return;
    }
    const client = clientOf(req);
    const wait = limiter.retryAfter(client);
    if (wait > 0) {
      res.status(429).set('Retry-After', String(wait)).type('html')
        .send(loginPage(req.baseUrl, { next, error: `Too many failed attempts. Try again in ${Math.ceil(wait / 60)} minute${wait > 60 ? 's' : ''}.` }));
      return;
    }
    const password = typeof body.password === 'string' ? body.password.slice(0, 1024) : '';
    if (!password || !checkPassword(admin, password)) {
      limiter.failed(client);
      logger.warn({ client }, 'dashboard login failed');
      res.status(401).type('html').send(loginPage(req.baseUrl, { next, error: 'Wrong password.' }));
      return;
    }
    limiter.succeeded(client);
    sessions.start(req, res);
    logger.info({ client }, 'dashboard login');
    res.redirect(303, `${req.baseUrl}${next}`);
  });

  // ── everything below needs a session ──────────────────────────────────────────────
  router.use((req, res, next) => {
    const session = sessions.read(req);
    if (session) {
      res.locals.session = session;
      return next();
    }
    if (req.path.startsWith('/api/')) {
      res.status(401).json({ error: { code: 'unauthorized', message: 'log in first' } });
      return;
    }
    if (req.method === 'GET' || req.method === 'HEAD') {
      const here = req.originalUrl.slice(req.baseUrl.length) || '/';
      res.redirect(303, `${req.baseUrl}/login?next=${encodeURIComponent(safeNext(here))}`);
      return;
    }
    res.status(401).type('html').send(errorPage(req.baseUrl, 'Logged out', 'Your session has ended. Log in again.'));
  });

  /** POSTs: same origin, and the session's CSRF token in the form or X-CSRF-Token. */
  const csrf: RequestHandler = (req, res, next) => {
    const session = res.locals.session as Session;
    const token = ((req.body ?? {}) as Record<string, unknown>)._csrf ?? req.get('x-csrf-token');
    if (isSameOriginRequest(req) && sessions.checkCsrf(session, token)) return next();
    logger.warn({ path: req.path }, 'dashboard request refused: CSRF check failed');
    if (wantsJson(req)) {
      res.status(403).json({ error: { code: 'csrf', message: 'reload the page and try again' } });
      return;
    }
    res.status(403).type('html').send(errorPage(req.baseUrl, 'Forbidden', 'The request did not come from this dashboard. Reload the page and try again.'));
  };

  const pageContext = (req: Request, res: Response): PageContext => {
    const site = str(req.query.site, 64);
    return {
      base: req.baseUrl,
      csrf: sessions.csrfToken(res.locals.session as Session),
      sites: siteIds,
      ...(ctx.sites.has(site) ? { site } : {}),
    };
  };

  router.post('/logout', form, csrf, (req, res) => {
    sessions.end(req, res);
    res.redirect(303, `${req.baseUrl}/login`);
  });

  // ── pages ──────────────────────────────────────────────────────────────────────────
  router.get('/', async (req, res) => {
    const pc = pageContext(req, res);
    const t = now();
    const [health, series, depth, list] = await Promise.all([
      destinationHealth(reader, t, pc.site),
      chartSeries(store, '1h', t, pc.site),
      store.queueDepth(),
      store.listEvents({ limit: OVERVIEW_ROWS, ...(pc.site ? { site_id: pc.site } : {}) }),
    ]);
    res.type('html').send(
      overviewPage(pc, {
        health,
        eventsLastHour: Math.round(series.eventsPerMinute.reduce((a, b) => a + b, 0)),
        queueDepth: depth.filter((d) => !pc.site || d.site_id === pc.site).reduce((a, d) => a + d.pending, 0),
        rows: await reader.rows(list),
      }),
    );
  });

  router.get('/events', async (req, res) => {
    const pc = pageContext(req, res);
    const q = str(req.query.q);
    const beforeT = Number(req.query.before_t);
    const before: EventCursor | undefined =
      Number.isFinite(beforeT) && typeof req.query.before_id === 'string'
        ? { received_at: beforeT, event_id: req.query.before_id, ...(typeof req.query.before_site === 'string' ? { site_id: req.query.before_site } : {}) }
        : undefined;
    const list = await store.listEvents({
      limit: EVENTS_PAGE + 1,
      ...(pc.site ? { site_id: pc.site } : {}),
      ...(q ? { search: q } : {}),
      ...(before ? { before } : {}),
    });
    const pageItems = list.slice(0, EVENTS_PAGE);
    const last = pageItems[pageItems.length - 1];
    const older =
      list.length > EVENTS_PAGE && last
        ? `${req.baseUrl}/events?${new URLSearchParams({
            ...(pc.site ? { site: pc.site } : {}),
            ...(q ? { q } : {}),
            before_t: String(last.received_at),
            before_id: last.event_id,
            before_site: last.site_id,
          }).toString()}`
        : undefined;
    res.type('html').send(eventListPage(pc, { q, rows: await reader.rows(pageItems), paged: before !== undefined, ...(older ? { older } : {}) }));
  });

  router.get('/events/:site/:id', async (req, res) => {
    const pc = pageContext(req, res);
    const site_id = String(req.params.site);
    const event_id = String(req.params.id);
    const stored = await store.getEvent(site_id, event_id);
    if (!stored) {
      res.status(404).type('html').send(errorPage(req.baseUrl, 'Not found', `No event ${event_id} on site ${site_id}.`));
      return;
    }
    const attempts = await store.listAttempts(site_id, event_id);
    const destinations = new Map<string, { type: string; quality: MatchQuality }>();
    const configured = ctx.sites.get(site_id)?.destinations ?? [];
    const sent = eventAsSent(stored);
    for (const d of stored.deliveries) {
      const type = configured.find((c) => c.id === d.destination)?.type;
      if (type) destinations.set(d.destination, { type, quality: matchQualityFor(sent.event, type) });
    }
    const replayed = Number(req.query.replayed);
    res.type('html').send(
      eventDetailPage(pc, {
        stored,
        attempts,
        quality: matchQuality(sent.event),
        networkRemoved: sent.restored,
        destinations,
        ...(Number.isInteger(replayed) && req.query.replayed !== undefined ? { message: replayedMessage(replayed) } : {}),
      }),
    );
  });

  router.get('/dead', async (req, res) => {
    const pc = pageContext(req, res);
    const destination = str(req.query.destination, 64);
    const error = str(req.query.error);
    const offset = Math.max(0, Math.floor(Number(req.query.offset) || 0));
    const filter = { ...(pc.site ? { site_id: pc.site } : {}), ...(destination ? { destination } : {}), ...(error ? { errorContains: error } : {}) };
    const [items, notifications] = await Promise.all([
      store.listDeliveries({ status: 'dead', ...filter, limit: DEAD_PAGE + 1, offset }),
      store.listNotifications({ status: 'dead', ...(pc.site ? { site_id: pc.site } : {}), limit: 100 }),
    ]);
    const destinations = [
      ...new Set(
        [...ctx.sites.values()].filter((s) => !pc.site || s.id === pc.site).flatMap((s) => s.destinations.map((d) => d.id)),
      ),
    ].sort();
    const replayed = Number(req.query.replayed);
    res.type('html').send(
      deadLettersPage(pc, {
        destination,
        error,
        destinations,
        items: items.slice(0, DEAD_PAGE),
        offset,
        pageSize: DEAD_PAGE,
        hasMore: items.length > DEAD_PAGE,
        notifications,
        ...(req.query.replayed !== undefined && Number.isInteger(replayed) ? { message: replayedMessage(replayed) } : {}),
      }),
    );
  });

  router.get('/setup', (req, res) => {
    const pc = pageContext(req, res);
    const collectorPath = opts.collectorPath ?? req.baseUrl.replace(/\/[^/]*$/, '');
    // What the shop's pages reach: this host as the browser sees it (trust proxy applies).
    const endpoint = `${req.protocol}://${req.get('host') ?? 'localhost'}${collectorPath}`;
    const sites = [...ctx.sites.values()].filter((s) => !pc.site || s.id === pc.site);
    const pixel = (site: SiteConfig): SiteSetup['shopifyPixel'] => {
      try {
        return {
          checkoutOnly: renderShopifyCustomPixel(site, { endpoint, checkoutOnly: true }),
          everything: renderShopifyCustomPixel(site, { endpoint }),
        };
      } catch (err) {
        return { error: `The custom pixel cannot be made for ${endpoint}: ${(err as Error).message}` };
      }
    };
    res.type('html').send(
      setupPage(
        pc,
        sites.map((site) => ({
          site,
          snippetTag: [
            '<script>window.trakvo=window.trakvo||function(){(trakvo.q=trakvo.q||[]).push(arguments)}</script>',
            `<script src="${collectorPath}/t.js" data-site="${site.id}" async></script>`,
          ].join('\n'),
          shopifyPixel: pixel(site),
        })),
      ),
    );
  });

  // ── replay ─────────────────────────────────────────────────────────────────────────
  function replayed(req: Request, res: Response, count: number, back: string): void {
    if (count > 0) ctx.dispatcher.wake();
    if (wantsJson(req)) {
      res.json({ requeued: count });
      return;
    }
    res.redirect(303, `${back}${back.includes('?') ? '&' : '?'}replayed=${count}`);
  }

  router.post('/events/:site/:id/replay', form, csrf, async (req, res) => {
    const site_id = String(req.params.site);
    const event_id = String(req.params.id);
    const stored = await store.getEvent(site_id, event_id);
    if (!stored) {
      res.status(404).json({ error: { code: 'not_found', message: 'no such event' } });
      return;
    }
    // One delivery of this event, or all of its dead ones.
    const raw = (req.body as Record<string, unknown>).delivery_id;
    const one = raw === undefined ? undefined : Number(raw);
    const ids = stored.deliveries.filter((d) => d.status === 'dead' && (one === undefined || d.delivery_id === one)).map((d) => d.delivery_id);
    const count = ids.length ? await store.requeueDeliveries({ status: 'dead', site_id, deliveryIds: ids }, now()) : 0;
    live.watch([{ site_id, event_id }]);
    logger.info({ site: site_id, event_id, count }, 'dashboard replay');
    replayed(req, res, count, `${req.baseUrl}/events/${encodeURIComponent(site_id)}/${encodeURIComponent(event_id)}`);
  });

  router.post('/dead/replay', form, csrf, async (req, res) => {
    const body = req.body as Record<string, unknown>;
    const site = str(body.site, 64);
    const site_id = ctx.sites.has(site) ? site : undefined;
    const back = `${req.baseUrl}/dead${site_id ? `?site=${encodeURIComponent(site_id)}` : ''}`;
    const t = now();
    if (body.all !== '1') {
      const id = Number(body.delivery_id);
      if (!Number.isSafeInteger(id)) {
        res.status(400).json({ error: { code: 'bad_request', message: 'delivery_id is required' } });
        return;
      }
      const count = await store.requeueDeliveries({ status: 'dead', deliveryIds: [id] }, t);
      // The form names the delivery's event, only so the live stream follows it.
      const ev = str(body.event_id, 128);
      const evSite = str(body.site_id, 64);
      if (ev && ctx.sites.has(evSite)) live.watch([{ site_id: evSite, event_id: ev }]);
      logger.info({ delivery_id: id, count }, 'dashboard replay');
      replayed(req, res, count, back);
      return;
    }
    const destination = str(body.destination, 64) || undefined;
    const error = str(body.error) || undefined;
    const filter = { ...(site_id ? { site_id } : {}), ...(destination ? { destination } : {}) };
    // Collect what will be replayed first: to follow it live, and because the store's
    // requeue filters by destination but not by error text.
    const ids: number[] = [];
    const keys: { site_id: string; event_id: string }[] = [];
    for (let offset = 0; ; offset += REQUEUE_CHUNK) {
      const batch = await store.listDeliveries({ status: 'dead', ...filter, ...(error ? { errorContains: error } : {}), limit: REQUEUE_CHUNK, offset });
      for (const d of batch) {
        ids.push(d.delivery_id);
        if (keys.length < 500) keys.push({ site_id: d.site_id, event_id: d.event_id });
      }
      if (batch.length < REQUEUE_CHUNK) break;
    }
    let count = 0;
    if (!error) count = await store.requeueDeliveries({ status: 'dead', ...filter }, t);
    else for (let i = 0; i < ids.length; i += REQUEUE_CHUNK) count += await store.requeueDeliveries({ status: 'dead', deliveryIds: ids.slice(i, i + REQUEUE_CHUNK) }, t);
    live.watch(keys);
    logger.info({ site: site_id, destination, error, count }, 'dashboard replay all');
    replayed(req, res, count, back);
  });

  router.post('/notifications/replay', form, csrf, async (req, res) => {
    const body = req.body as Record<string, unknown>;
    const site = str(body.site, 64);
    const site_id = ctx.sites.has(site) ? site : undefined;
    let ids: number[];
    if (body.all === '1') {
      ids = (await store.listNotifications({ status: 'dead', ...(site_id ? { site_id } : {}), limit: 1000 })).map((n) => n.id);
    } else {
      const id = Number(body.id);
      if (!Number.isSafeInteger(id)) {
        res.status(400).json({ error: { code: 'bad_request', message: 'id is required' } });
        return;
      }
      ids = [id];
    }
    const count = await store.requeueNotifications(ids, now());
    if (count > 0) opts.notifier?.wake();
    logger.info({ count }, 'dashboard webhook replay');
    replayed(req, res, count, `${req.baseUrl}/dead${site_id ? `?site=${encodeURIComponent(site_id)}` : ''}`);
  });

  // ── JSON for the page script ─────────────────────────────────────────────────────────
  router.get('/api/stream', async (req, res) => {
    const site = str(req.query.site, 64);
    await live.connect(req, res, ctx.sites.has(site) ? site : undefined);
  });

  router.get('/api/charts', async (req, res) => {
    const site = str(req.query.site, 64);
    res.json(await chartSeries(store, parseRange(req.query.range), now(), ctx.sites.has(site) ? site : undefined));
  });

  router.get('/api/events/:site/:id', async (req, res) => {
    const site_id = String(req.params.site);
    const event_id = String(req.params.id);
    const row = await reader.rowOf(site_id, event_id);
    if (!row) {
      res.status(404).json({ error: { code: 'not_found', message: 'no such event' } });
      return;
    }
    const [stored, attempts] = await Promise.all([store.getEvent(site_id, event_id), store.listAttempts(site_id, event_id)]);
    res.json({
      row,
      deliveries: (stored?.deliveries ?? []).map((d) => ({
        ...d,
        state: row.deliveries.find((r) => r.id === d.delivery_id)?.state ?? d.status,
        type: reader.destinationType(site_id, d.destination) ?? '',
      })),
      attempts: attempts.map((a) => ({ ...a, response: a.response === null ? null : prettyAnswer(a.response) })),
    });
  });

  router.use((req, res) => {
    res.status(404).type('html').send(errorPage(req.baseUrl, 'Not found', 'There is no such page in the dashboard.'));
  });

  const onError: ErrorRequestHandler = (err: { status?: number; type?: string }, req: Request, res: Response, next: NextFunction) => {
    if (res.headersSent) return next(err);
    if (err.status && err.status >= 400 && err.status < 500) {
      res.status(err.status).type('html').send(errorPage(req.baseUrl, 'Bad request', 'The request could not be read.'));
      return;
    }
    logger.error({ err }, 'dashboard error');
    res.status(500).type('html').send(errorPage(req.baseUrl, 'Something went wrong', 'The dashboard could not read the store. The error is in the collector’s log.'));
  };
  router.use(onError);

  return Object.assign(router, { close: () => live.close() });
}

function replayedMessage(n: number): string {
  return n === 0 ? 'Nothing to replay: it was already queued or delivered.' : `${n} queued again. Watch the states change below.`;
}
