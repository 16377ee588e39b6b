// A local stand-in for Pinterest's Conversions API `POST /v5/ad_accounts/{id}/events` that
// checks each request against the documented contract (Pinterest's OpenAPI description,
// shared/reference/destinations.md §5.1) and answers the way Pinterest does: 401 code 2 for a
// bad token, 403 code 29 for another ad account, 400 code 4196 for a malformed request, and
// 422 with per-event statuses when some events fail (the others are processed). `?test=true`
// validates the same way; such requests are recorded with `test: true` (Pinterest would not
// record them at all).
import { isIP } from 'node:net';
import express, { type RequestHandler } from 'express';
import { isObject, isSha256Hashes, isCurrencyCode, isDecimalString } from './support/values.js';
import { bodyParseErrors, createScriptedLog, serveMock, type RunningMock, type PlatformMock } from './support/mock-server.js';

export type { ScriptedResponse } from './support/mock-server.js';

export interface ReceivedPinterestBatch {
  adAccountId: string;
  /** The request had `?test=true`. */
  test: boolean;
  /** The parsed body as sent (the token came in the Authorization header and is not kept). */
  body: Record<string, unknown>;
  /** The events Pinterest processed: find one with `events.find((e) => e.event_id === id)`. */
  events: Record<string, unknown>[];
  /** Unix ms. */
  receivedAt: number;
}

export interface PinterestMockOptions {
  accessToken: string;
  /** When set, any other ad account is answered like one the token may not access. */
  adAccountId?: string;
}

export interface PinterestMock extends PlatformMock<ReceivedPinterestBatch> {}

const MAX_EVENTS = 1000;
const MAX_FUTURE_SEC = 5 * 60;
const EVENT_NAMES = new Set([
  'add_payment_info', 'add_to_cart', 'add_to_wishlist', 'app_install', 'checkout', 'custom', 'initiate_checkout',
  'lead', 'page_visit', 'search', 'signup', 'subscribe', 'view_category', 'view_content', 'watch_video',
]);
const ACTION_SOURCES = new Set(['app_android', 'app_ios', 'web', 'offline']);
/** Event keys of the OpenAPI schema (additionalProperties: false). */
const EVENT_KEYS = new Set([
  'action_source', 'app_id', 'app_info', 'app_name', 'app_version', 'custom_data', 'device_brand', 'device_carrier',
  'device_info', 'device_model', 'device_type', 'event_id', 'event_name', 'event_source_url', 'event_time',
  'language', 'opt_out', 'os_version', 'partner_name', 'user_data', 'wifi',
]);
const HASHED_USER_KEYS = ['em', 'ph', 'fn', 'ln', 'ge', 'db', 'ct', 'st', 'zp', 'country', 'external_id', 'hashed_maids'];
const PLAIN_USER_KEYS = ['client_ip_address', 'client_user_agent', 'click_id', 'partner_id'];
const CUSTOM_DATA_KEYS = new Set([
  'content_brand', 'content_category', 'content_ids', 'content_name', 'contents', 'currency', 'external_measurement_id',
  'external_measurement_vendor_id', 'np', 'num_items', 'opt_out_type', 'order_id', 'predicted_ltv', 'search_string', 'value',
]);
const CONTENT_KEYS = new Set(['id', 'item_brand', 'item_category', 'item_name', 'item_price', 'quantity']);

class PinterestError {
  constructor(
    readonly status: number,
    readonly code: number,
    readonly message: string,
  ) {}
}

const invalidRequest = (message: string) => new PinterestError(400, 4196, `The request was invalid. ${message}`);

/** A path the mock does not serve, answered in Pinterest's shape. */
const notFound: RequestHandler = (req, res) => {
  res.status(404).json({ code: 404, message: `Resource not found: ${req.method} ${req.path}` });
};

/** Why Pinterest would fail this one event, if it would. */
function checkEvent(ev: unknown, nowSec: number): string | undefined {
  if (!isObject(ev)) return 'event must be an object';
  for (const key of Object.keys(ev)) if (!EVENT_KEYS.has(key)) return `${key} is not an event field`;
  for (const key of ['event_name', 'action_source', 'event_time', 'event_id', 'user_data']) {
    if (ev[key] === undefined || ev[key] === null || ev[key] === '') return `${key} is required`;
  }
  if (typeof ev.event_name !== 'string' || !EVENT_NAMES.has(ev.event_name)) return `event_name "${String(ev.event_name)}" is not supported`;
  if (typeof ev.action_source !== 'string' || !ACTION_SOURCES.has(ev.action_source)) {
    return `action_source must be one of ${[...ACTION_SOURCES].join(', ')}`;
  }
  const t = ev.event_time;
  if (typeof t !== 'number' || !Number.isInteger(t) || t <= 0) return 'event_time must be a Unix timestamp in seconds (integer)';
  if (t > nowSec + MAX_FUTURE_SEC) return 'event_time is in the future (a millisecond timestamp?); send Unix seconds';
  if (typeof ev.event_id !== 'string') return 'event_id must be a string';
  if (ev.event_source_url !== undefined && typeof ev.event_source_url !== 'string') return 'event_source_url must be a string';

  const ud = ev.user_data;
  if (!isObject(ud)) return 'user_data must be an object';
  for (const key of Object.keys(ud)) {
    if (!HASHED_USER_KEYS.includes(key) && !PLAIN_USER_KEYS.includes(key)) return `user_data.${key} is not a user_data field`;
  }
  for (const key of HASHED_USER_KEYS) {
    const v = ud[key];
    if (v === undefined) continue;
    if (!Array.isArray(v) || !isSha256Hashes(v)) {
      return `user_data.${key} must be an array of lowercase hex SHA-256 hashes`;
    }
  }
  for (const key of PLAIN_USER_KEYS) if (ud[key] !== undefined && typeof ud[key] !== 'string') return `user_data.${key} must be a string`;
  if (typeof ud.client_ip_address === 'string' && isIP(ud.client_ip_address) === 0) return 'user_data.client_ip_address is not a valid IP address';
  if (ud.em === undefined && ud.hashed_maids === undefined && (ud.client_ip_address === undefined || ud.client_user_agent === undefined)) {
    return 'user_data requires em, hashed_maids, or client_ip_address with client_user_agent';
  }

  const cd = ev.custom_data;
  if (cd === undefined) return undefined;
  if (!isObject(cd)) return 'custom_data must be an object';
  for (const key of Object.keys(cd)) if (!CUSTOM_DATA_KEYS.has(key)) return `custom_data.${key} is not a custom_data field`;
  for (const key of ['value', 'predicted_ltv']) {
    const v = cd[key];
    if (v !== undefined && !isDecimalString(v)) return `custom_data.${key} must be a decimal number as a string, like "72.39"`;
  }
  if (cd.currency !== undefined && !isCurrencyCode(cd.currency)) return 'custom_data.currency must be an ISO 4217 code';
  if (cd.num_items !== undefined && (typeof cd.num_items !== 'number' || !Number.isInteger(cd.num_items))) return 'custom_data.num_items must be an integer';
  if (cd.content_ids !== undefined && (!Array.isArray(cd.content_ids) || !cd.content_ids.every((s) => typeof s === 'string'))) {
    return 'custom_data.content_ids must be an array of strings';
  }
  if (cd.contents !== undefined) {
    if (!Array.isArray(cd.contents)) return 'custom_data.contents must be an array';
    for (const [i, c] of cd.contents.entries()) {
      if (!isObject(c)) return `custom_data.contents[${i}] must be an object`;
      for (const key of Object.keys(c)) if (!CONTENT_KEYS.has(key)) return `custom_data.contents[${i}].${key} is not a contents field`;
      if (c.item_price !== undefined && !isDecimalString(c.item_price)) {
        return `custom_data.contents[${i}].item_price must be a decimal number as a string`;
      }
      if (c.quantity !== undefined && (typeof c.quantity !== 'number' || !Number.isInteger(c.quantity))) return `custom_data.contents[${i}].quantity must be an integer`;
    }
  }
  return undefined;
}

export function createPinterestMock(opts: PinterestMockOptions): PinterestMock {
  const log = createScriptedLog<ReceivedPinterestBatch>();
  const { received } = log;
  const router = express.Router();

  router.use(express.json({ limit: '20mb' }));
  router.get('/_received', log.listReceived);

  router.post('/v5/ad_accounts/:adAccountId/events', (req, res) => {
    if (log.answerScripted(res)) return;
    const fail = (e: PinterestError): void => {
      res.status(e.status).json({ code: e.code, message: e.message });
    };

    const auth = req.get('authorization') ?? '';
    const bearer = /^Bearer (.+)$/.exec(auth)?.[1];
    if (bearer !== opts.accessToken) return fail(new PinterestError(401, 2, 'Authentication failed.'));
    const adAccountId = String(req.params.adAccountId);
    if (!/^\d+$/.test(adAccountId) || (opts.adAccountId !== undefined && adAccountId !== opts.adAccountId)) {
      return fail(new PinterestError(403, 29, 'You are not permitted to access that resource.'));
    }
    const test = req.query.test === 'true';

    const body: unknown = req.body;
    if (!isObject(body)) return fail(invalidRequest('The body must be a JSON object.'));
    for (const key of Object.keys(body)) if (key !== 'data') return fail(invalidRequest(`${key} is not a request field.`));
    const data = body.data;
    if (!Array.isArray(data)) return fail(invalidRequest('data is required (an array of events).'));
    if (data.length === 0 || data.length > MAX_EVENTS) return fail(invalidRequest(`data has ${data.length} events; send 1 to ${MAX_EVENTS}.`));

    // Each event is processed or fails on its own.
    const nowSec = Math.floor(Date.now() / 1000);
    const results = data.map((ev) => checkEvent(ev, nowSec));
    const processed = data.filter((_ev, i) => results[i] === undefined) as Record<string, unknown>[];
    const summary = {
      num_events_received: data.length,
      num_events_processed: processed.length,
      events: results.map((error) =>
        error === undefined
          ? { status: 'processed', error_message: null, warning_message: null }
          : { status: 'failed', error_message: error, warning_message: null },
      ),
    };
    if (processed.length > 0) {
      received.push({ adAccountId, test, body, events: processed, receivedAt: Date.now() });
    }
    if (processed.length < data.length) {
      res.status(422).json({ code: 4196, message: 'Not all events were successfully processed.', details: summary });
      return;
    }
    res.status(200).json(summary);
  });

  // Body-parser failures (malformed JSON, too large), in Pinterest's error shape.
  router.use(
    bodyParseErrors((res, _status, message = 'invalid request') => {
      res.status(400).json({ code: 4196, message: `The request was invalid. The body could not be read: ${message}` });
    }),
  );

  return { router, received, script: log.script, reset: log.reset };
}

export interface RunningPinterestMock extends RunningMock<PinterestMock> {}

/** The mock as its own server on 127.0.0.1 (a random free port unless `port` is given). */
export async function startPinterestMock(opts: PinterestMockOptions & { port?: number }): Promise<RunningPinterestMock> {
  return serveMock(createPinterestMock(opts), notFound, opts.port);
}
