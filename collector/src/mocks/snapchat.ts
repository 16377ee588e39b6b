// A local stand-in for Snap's Conversions API v3 that checks each request against the
// documented contract (Snap's docs and the official Business SDK v3 OpenAPI schema,
// shared/reference/destinations.md §5.2) and answers the way Snap does:
//  - `POST /v3/{pixel}/events?access_token=…`: 200 `{"status":"VALID",…}`, or for a bad
//    request 400 `{"status":"INVALID","reason":…,"event":<index>,"errors":{codes,error_msgs}}`
//    (one bad event fails the request); 401 for a bad token, 403 for another pixel.
//  - `POST /v3/{pixel}/events/validate?access_token=…` (Test Event Tool): 200 with
//    `status`, `test_event: true` and per-event `event_logs`; recorded with `validate: true`.
import { isIP } from 'node:net';
import express, { type RequestHandler } from 'express';
import { isObject, isSha256Hashes, isCurrencyCode, isDecimalString } from './support/values.js';
import { bodyParseErrors, createScriptedLog, serveMock, type RunningMock, type PlatformMock } from './support/mock-server.js';

export type { ScriptedResponse } from './support/mock-server.js';

export interface ReceivedSnapBatch {
  pixelId: string;
  /** Sent to the Test Event Tool (`/events/validate`). */
  validate: boolean;
  /** Where the token came from: the documented query parameter, or a Bearer header. */
  tokenIn: 'query' | 'header';
  /** The parsed body. */
  body: Record<string, unknown>;
  /** `body.data`: find an event with `events.find((e) => e.event_id === id)` (the pixel's client_dedup_id). */
  events: Record<string, unknown>[];
  /** Unix ms. */
  receivedAt: number;
}

export interface SnapchatMockOptions {
  accessToken: string;
  /** When set, any other pixel is answered like one the token may not send for. */
  pixelId?: string;
}

export interface SnapchatMock extends PlatformMock<ReceivedSnapBatch> {}

/** ⚠ [3p] Snap's batch limit; its own docs we could read give none. */
const MAX_EVENTS = 2000;
const MAX_AGE_SEC = 37 * 24 * 60 * 60;
const MAX_FUTURE_SEC = 5 * 60;
const EVENT_NAMES = new Set([
  'PAGE_VIEW', 'VIEW_CONTENT', 'ADD_CART', 'ADD_TO_WISHLIST', 'START_CHECKOUT', 'ADD_BILLING', 'PURCHASE',
  'SIGN_UP', 'SEARCH', 'SUBSCRIBE', 'START_TRIAL', 'SAVE', 'LIST_VIEW', 'LOGIN', 'SHARE', 'INVITE', 'RESERVE',
  'RATE', 'COMPLETE_TUTORIAL', 'LEVEL_COMPLETE', 'ACHIEVEMENT_UNLOCKED', 'SPENT_CREDITS', 'AD_CLICK', 'AD_VIEW',
  'APP_INSTALL', 'APP_OPEN', 'CUSTOM_EVENT_1', 'CUSTOM_EVENT_2', 'CUSTOM_EVENT_3', 'CUSTOM_EVENT_4', 'CUSTOM_EVENT_5',
]);
/** Snap's own values, plus the Meta-compatible aliases its offline-events guide accepts. */
const WEB_SOURCES = new Set(['WEB', 'website']);
const ACTION_SOURCES = new Set([
  ...WEB_SOURCES, 'MOBILE_APP', 'OFFLINE', 'app', 'physical_store', 'phone_call', 'email', 'chat', 'system_generated', 'other',
]);
const EVENT_KEYS = new Set([
  'event_name', 'event_time', 'action_source', 'event_id', 'event_source_url', 'opt_out', 'data_processing_options',
  'user_data', 'custom_data', 'app_data', 'integration',
]);
const HASHED_USER_KEYS = ['em', 'ph', 'fn', 'ln', 'ge', 'ct', 'st', 'zp', 'country'];
const PLAIN_USER_KEYS = ['client_ip_address', 'client_user_agent', 'sc_click_id', 'sc_cookie1', 'mobile_ad_id', 'madid', 'idfv'];
const CUSTOM_STRING_KEYS = ['currency', 'content_category', 'content_type', 'order_id', 'search_string', 'status', 'brands', 'sign_up_method', 'delivery_category'];

interface Problem {
  code: string;
  message: string;
}

const problem = (code: string, message: string): Problem => ({ code, message });

/** A path the mock does not serve, answered in Snap's shape. */
const notFound: RequestHandler = (req, res) => {
  res.status(404).json({ status: 'INVALID', reason: `Not found: ${req.method} ${req.path}` });
};

/** The first contract violation in one event, if any. */
function checkEvent(ev: unknown, nowSec: number): Problem | undefined {
  if (!isObject(ev)) return problem('INVALID_EVENT', 'an event must be an object');
  for (const key of Object.keys(ev)) if (!EVENT_KEYS.has(key)) return problem('UNKNOWN_FIELD', `${key} is not an event field`);
  for (const key of ['event_name', 'event_time', 'action_source', 'user_data']) {
    if (ev[key] === undefined || ev[key] === null || ev[key] === '') return problem('MISSING_FIELD', `${key} is required`);
  }
  if (typeof ev.event_name !== 'string' || !EVENT_NAMES.has(ev.event_name)) {
    return problem('INVALID_EVENT_NAME', `event_name "${String(ev.event_name)}" is not a Snap event (PURCHASE, ADD_CART, …, CUSTOM_EVENT_1-5)`);
  }
  const t = ev.event_time;
  if (typeof t !== 'number' || !Number.isInteger(t) || t <= 0) return problem('INVALID_EVENT_TIME', 'event_time must be an integer Unix timestamp');
  // Snap takes seconds or milliseconds.
  const sec = t >= 1e12 ? Math.floor(t / 1000) : t;
  if (sec > nowSec + MAX_FUTURE_SEC) return problem('INVALID_EVENT_TIME', 'event_time is in the future');
  if (sec < nowSec - MAX_AGE_SEC) return problem('INVALID_EVENT_TIME', 'event_time is more than 37 days in the past');
  if (typeof ev.action_source !== 'string' || !ACTION_SOURCES.has(ev.action_source)) {
    return problem('INVALID_ACTION_SOURCE', `action_source must be one of ${[...ACTION_SOURCES].join(', ')}`);
  }
  if (WEB_SOURCES.has(ev.action_source) && (typeof ev.event_source_url !== 'string' || !/^https?:\/\//i.test(ev.event_source_url))) {
    return problem('MISSING_FIELD', 'event_source_url (an http(s) URL) is required for web events');
  }
  if (ev.event_id !== undefined && (typeof ev.event_id !== 'string' || ev.event_id === '')) return problem('INVALID_FIELD', 'event_id must be a non-empty string');

  const ud = ev.user_data;
  if (!isObject(ud)) return problem('INVALID_FIELD', 'user_data must be an object');
  for (const key of Object.keys(ud)) {
    if (!HASHED_USER_KEYS.includes(key) && !PLAIN_USER_KEYS.includes(key)) return problem('UNKNOWN_FIELD', `user_data.${key} is not a user_data field`);
  }
  for (const key of HASHED_USER_KEYS) {
    const v = ud[key];
    if (v === undefined) continue;
    if (!isSha256Hashes(v)) {
      return problem('INVALID_HASH', `user_data.${key} must be lowercase hex SHA-256 (as an array)`);
    }
  }
  for (const key of PLAIN_USER_KEYS) if (ud[key] !== undefined && typeof ud[key] !== 'string') return problem('INVALID_FIELD', `user_data.${key} must be a string`);
  if (typeof ud.client_ip_address === 'string' && isIP(ud.client_ip_address) === 0) return problem('INVALID_FIELD', 'user_data.client_ip_address is not an IP address');
  const hasIpUa = ud.client_ip_address !== undefined && ud.client_user_agent !== undefined;
  if (ud.em === undefined && ud.ph === undefined && !hasIpUa && ud.madid === undefined && ud.mobile_ad_id === undefined) {
    return problem('MISSING_MATCH_KEY', 'user_data needs em, ph, madid, or client_ip_address with client_user_agent');
  }

  const cd = ev.custom_data;
  if (cd === undefined) return undefined;
  if (!isObject(cd)) return problem('INVALID_FIELD', 'custom_data must be an object');
  if (cd.value !== undefined) {
    const ok = (typeof cd.value === 'number' && Number.isFinite(cd.value)) || isDecimalString(cd.value);
    if (!ok) return problem('INVALID_FIELD', 'custom_data.value must be a number');
  }
  if (cd.currency !== undefined && !isCurrencyCode(cd.currency)) return problem('INVALID_FIELD', 'custom_data.currency must be an ISO 4217 code');
  for (const key of CUSTOM_STRING_KEYS) if (cd[key] !== undefined && typeof cd[key] !== 'string') return problem('INVALID_FIELD', `custom_data.${key} must be a string`);
  if (cd.num_items !== undefined && (typeof cd.num_items !== 'number' || !Number.isInteger(cd.num_items))) return problem('INVALID_FIELD', 'custom_data.num_items must be an integer');
  if (cd.content_ids !== undefined && (!Array.isArray(cd.content_ids) || !cd.content_ids.every((s) => typeof s === 'string'))) {
    return problem('INVALID_FIELD', 'custom_data.content_ids must be an array of strings');
  }
  if (cd.contents !== undefined) {
    if (!Array.isArray(cd.contents)) return problem('INVALID_FIELD', 'custom_data.contents must be an array');
    for (const [i, c] of cd.contents.entries()) {
      if (!isObject(c)) return problem('INVALID_FIELD', `custom_data.contents[${i}] must be an object`);
      for (const key of ['id', 'quantity', 'item_price', 'delivery_category']) {
        if (c[key] !== undefined && typeof c[key] !== 'string') return problem('INVALID_FIELD', `custom_data.contents[${i}].${key} must be a string`);
      }
    }
  }
  if (cd.custom_fields !== undefined && (!isObject(cd.custom_fields) || !Object.values(cd.custom_fields).every((v) => typeof v === 'string'))) {
    return problem('INVALID_FIELD', 'custom_data.custom_fields must map names to strings');
  }
  return undefined;
}

export function createSnapchatMock(opts: SnapchatMockOptions): SnapchatMock {
  const log = createScriptedLog<ReceivedSnapBatch>();
  const { received } = log;
  const router = express.Router();

  router.use(express.json({ limit: '20mb' }));

  router.get('/_received', log.listReceived);

  function handle(validate: boolean): express.RequestHandler {
    return (req, res) => {
      if (log.answerScripted(res)) return;
      const invalid = (status: number, reason: string, extra: Record<string, unknown> = {}): void => {
        res.status(status).json({ status: 'INVALID', reason, ...extra });
      };

      const queryToken = typeof req.query.access_token === 'string' ? req.query.access_token : undefined;
      const headerToken = /^Bearer (.+)$/.exec(req.get('authorization') ?? '')?.[1];
      const token = queryToken ?? headerToken;
      if (token === undefined || token === '') return invalid(401, 'access_token is required');
      if (token !== opts.accessToken) return invalid(401, 'Invalid access token');
      const pixelId = String(req.params.pixelId);
      if (opts.pixelId !== undefined && pixelId !== opts.pixelId) return invalid(403, `The access token may not send events for pixel ${pixelId}`);

      const body: unknown = req.body;
      if (!isObject(body)) return invalid(400, 'The body must be a JSON object');
      const data = body.data;
      if (!Array.isArray(data)) return invalid(400, 'data is required (an array of events)');
      if (data.length === 0 || data.length > MAX_EVENTS) return invalid(400, `data has ${data.length} events; send 1 to ${MAX_EVENTS}`);

      const nowSec = Math.floor(Date.now() / 1000);
      const problems = data.map((ev) => checkEvent(ev, nowSec));
      const entry = (): ReceivedSnapBatch => ({
        pixelId,
        validate,
        tokenIn: queryToken !== undefined ? 'query' : 'header',
        body,
        events: data as Record<string, unknown>[],
        receivedAt: Date.now(),
      });

      if (validate) {
        const ok = problems.every((p) => p === undefined);
        if (ok) received.push(entry());
        res.status(200).json({
          status: ok ? 'VALID' : 'INVALID',
          test_event: true,
          reason: ok ? '' : 'Some events are invalid',
          event_logs: problems.map((p, i) => ({
            event: i,
            status: p === undefined ? 'VALID' : 'INVALID',
            errors: p === undefined ? {} : { codes: [p.code], error_msgs: [p.message] },
            warnings: [],
          })),
        });
        return;
      }
      // One bad event fails the request.
      const bad = problems.findIndex((p) => p !== undefined);
      if (bad >= 0) {
        const p = problems[bad]!;
        return invalid(400, 'Invalid request', { event: bad, errors: { codes: [p.code], error_msgs: [`data[${bad}]: ${p.message}`] } });
      }
      received.push(entry());
      res.status(200).json({ status: 'VALID', reason: `${data.length} events processed` });
    };
  }

  router.post('/v3/:pixelId/events', handle(false));
  router.post('/v3/:pixelId/events/validate', handle(true));

  // Body-parser failures (malformed JSON, too large), in Snap's error shape.
  router.use(
    bodyParseErrors((res, _status, message = 'invalid request') => {
      res.status(400).json({ status: 'INVALID', reason: `The body could not be read: ${message}` });
    }),
  );

  return { router, received, script: log.script, reset: log.reset };
}

export interface RunningSnapchatMock extends RunningMock<SnapchatMock> {}

/** The mock as its own server on 127.0.0.1 (a random free port unless `port` is given). */
export async function startSnapchatMock(opts: SnapchatMockOptions & { port?: number }): Promise<RunningSnapchatMock> {
  return serveMock(createSnapchatMock(opts), notFound, opts.port);
}
