// A local stand-in for Tracify's server-side events API (`POST /api/v1/events`) that checks
// each request against the contract as far as Tracify documents it (tracify.dev/events and
// its OpenAPI spec; see destinations/tracify.ts for what is and is not confirmed) and
// answers the way Tracify does: `{"status": true}` or `{"status": false, "error": "…"}`.
// Points Tracify does not document (batch size, amount format) are checked as
// destinations/tracify.ts sends them, marked ⚠.
import express, { type RequestHandler } from 'express';
import { isObject, isSha256Hex, isCurrencyCode } from './support/values.js';
import { bodyParseErrors, createScriptedLog, serveMock, type RunningMock, type PlatformMock } from './support/mock-server.js';

export type { ScriptedResponse } from './support/mock-server.js';

export interface TracifyReceivedBatch {
  /** The events as sent; find a purchase by `data.order_id`, a conversion by `data.conversion_id`. */
  events: Record<string, unknown>[];
  /** Purchase order ids Tracify had already received (it ignores them, as documented). */
  duplicateOrderIds: string[];
  /** Unix ms. */
  receivedAt: number;
}

export interface TracifyMockOptions {
  /** The API key the mock accepts in `tracify-token`. */
  apiToken: string;
  /** When set, the only customer site id the key may send for. */
  customerSiteId?: string;
}

export interface TracifyMock extends PlatformMock<TracifyReceivedBatch> {}

/** ⚠ Not documented by Tracify; the destination sends at most 100. */
const MAX_EVENTS = 100;
const TYPES = new Set(['pageview', 'productview', 'addtocart', 'purchase', 'conversion']);
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const DATETIME = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/;
/** ⚠ "2 decimals after the comma". */
const AMOUNT = /^\d+,\d{2}$/;
const ITEM_KEY = /^(ITEM|AMT|QTY)([1-9]\d*)$/;
const TRACKING_PARAM = /^(utm|trc)_[_a-z]/;

/** A path the mock does not serve, answered in Tracify's shape. */
const notFound: RequestHandler = (req, res) => {
  res.status(404).json({ status: false, error: `no endpoint ${req.method} ${req.path}` });
};

/** The first contract violation in one event, if any. */
function checkEvent(ev: unknown, at: string, siteId: string | undefined): string | undefined {
  if (!isObject(ev)) return `${at} must be an object`;
  if (typeof ev.url !== 'string') return `${at}.url is required`;
  let origin: string;
  try {
    origin = new URL(ev.url).origin;
  } catch {
    return `${at}.url must be a full URL (domain + path)`;
  }
  if (typeof ev.customer_site_id !== 'string' || !UUID.test(ev.customer_site_id)) return `${at}.customer_site_id must be a UUID`;
  if (siteId !== undefined && ev.customer_site_id !== siteId) return `${at}.customer_site_id ${ev.customer_site_id} is not a site of this API key`;
  const ids = ev.identity_data;
  if (!isObject(ids) || Object.keys(ids).length === 0) return `${at}.identity_data must hold at least one anonymized identifier`;
  for (const [key, kind] of Object.entries(ids)) {
    if (!isSha256Hex(key)) return `${at}.identity_data keys must be anonymized (SHA-256 hex) values`;
    if (kind !== 1 && kind !== 2 && kind !== 3 && kind !== 4) return `${at}.identity_data values must be 1, 2, 3 or 4`;
  }
  if (ev.datetime !== undefined) {
    if (typeof ev.datetime !== 'string' || !DATETIME.test(ev.datetime) || Number.isNaN(Date.parse(`${ev.datetime.replace(' ', 'T')}Z`))) {
      return `${at}.datetime must be formatted %Y-%m-%d %H:%M:%S (UTC)`;
    }
  }
  if (typeof ev.type !== 'string' || !TYPES.has(ev.type)) return `${at}.type must be one of ${[...TYPES].join(', ')}`;
  const data = ev.data;
  if (!isObject(data)) return `${at}.data is required`;
  if (typeof data.origin !== 'string' || data.origin === '') return `${at}.data.origin is required`;
  if (data.origin !== origin) return `${at}.data.origin must be the origin of url (${origin})`;
  for (const [key, value] of Object.entries(data)) {
    if (typeof value !== 'string') return `${at}.data.${key} must be a string`;
    const item = ITEM_KEY.exec(key);
    if (item?.[1] === 'AMT' && !AMOUNT.test(value)) return `${at}.data.${key} must be an amount like 12,50`;
    if (item?.[1] === 'QTY' && !/^\d+$/.test(value)) return `${at}.data.${key} must be a whole number`;
  }
  if (ev.type === 'pageview' || ev.type === 'productview') {
    for (const key of Object.keys(data)) {
      if (key !== 'origin' && !TRACKING_PARAM.test(key)) return `${at}.data.${key} is not a field of a ${ev.type} event`;
    }
  }
  if (ev.type === 'purchase') {
    if (typeof data.order_id !== 'string' || data.order_id === '') return `${at}.data.order_id is required for a purchase`;
    if (!isCurrencyCode(data.currency)) return `${at}.data.currency must be an ISO 4217 code`;
    if (typeof data.amount !== 'string' || !AMOUNT.test(data.amount)) return `${at}.data.amount must be a string with 2 decimals after the comma`;
  }
  if (ev.type === 'conversion') {
    if (typeof data.conversion_id !== 'string' || data.conversion_id === '') return `${at}.data.conversion_id is required for a conversion`;
    if (data.value !== undefined && (typeof data.value !== 'string' || !AMOUNT.test(data.value))) return `${at}.data.value must be a string with 2 decimals after the comma`;
  }
  return undefined;
}

export function createTracifyMock(opts: TracifyMockOptions): TracifyMock {
  const orders = new Set<string>();
  const log = createScriptedLog<TracifyReceivedBatch>(() => orders.clear());
  const { received } = log;
  const router = express.Router();

  router.use(express.json({ limit: '20mb' }));

  router.get('/_received', log.listReceived);

  router.post('/api/v1/events', (req, res) => {
    if (log.answerScripted(res)) return;
    const fail = (status: number, error: string): void => {
      res.status(status).json({ status: false, error });
    };

    const token = req.get('tracify-token');
    if (token === undefined || token === '') return fail(401, 'missing tracify-token header');
    if (token !== opts.apiToken) return fail(401, 'invalid API key');
    if (!req.is('application/json')) return fail(400, 'the body must be JSON');

    const body: unknown = req.body;
    if (!isObject(body) || !Array.isArray(body.events)) return fail(400, 'the body must be {"events": [...]}');
    const events = body.events;
    if (events.length === 0) return fail(400, 'events must not be empty');
    if (events.length > MAX_EVENTS) return fail(400, `${events.length} events; at most ${MAX_EVENTS} per request`);
    for (const [i, ev] of events.entries()) {
      const problem = checkEvent(ev, `events[${i}]`, opts.customerSiteId);
      if (problem) return fail(400, problem);
    }

    const duplicateOrderIds: string[] = [];
    for (const ev of events as Record<string, unknown>[]) {
      const data = ev.data as Record<string, string>;
      if (ev.type !== 'purchase' || data.order_id === undefined) continue;
      if (orders.has(data.order_id)) duplicateOrderIds.push(data.order_id);
      orders.add(data.order_id);
    }
    received.push({ events: events as Record<string, unknown>[], duplicateOrderIds, receivedAt: Date.now() });
    res.status(200).json({ status: true });
  });

  // Body-parser failures (malformed JSON, too large) answered in Tracify's shape.
  router.use(
    bodyParseErrors((res, status, message = 'unknown') => {
      res.status(status).json({ status: false, error: `could not read the body: ${message}` });
    }),
  );

  return { router, received, script: log.script, reset: log.reset };
}

export interface RunningTracifyMock extends RunningMock<TracifyMock> {}

/** The mock as its own server on 127.0.0.1 (a random free port unless `port` is given). */
export async function startTracifyMock(opts: TracifyMockOptions & { port?: number }): Promise<RunningTracifyMock> {
  return serveMock(createTracifyMock(opts), notFound, opts.port);
}
