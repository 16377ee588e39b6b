// A local stand-in for the GA4 Measurement Protocol that checks each request against the
// documented contract (shared/reference/destinations.md §3) and answers the way Google does:
//  - `POST /mp/collect` answers 204 with no body to EVERYTHING. A valid payload is recorded in
//    `received`; an invalid one (or a wrong api_secret) is silently dropped, as Google drops
//    it, and kept in `rejected` with the messages Google's validator would give, so a test can
//    see why it vanished.
//  - `POST /debug/mp/collect` answers 200 `{"validationMessages": [...]}` (empty when valid),
//    records nothing (kept in `validated`), and, like Google, does not check the api_secret.
import { isIP } from 'node:net';
import express, { type RequestHandler } from 'express';
import { isObject, isSha256Hex, isSha256Hashes, isCurrencyCode } from './support/values.js';
import { createScriptedLog, serveMock, type RunningMock, type PlatformMock } from './support/mock-server.js';

export type { ScriptedResponse } from './support/mock-server.js';

export interface ValidationMessage {
  fieldPath: string;
  description: string;
  validationCode: 'VALUE_INVALID' | 'VALUE_REQUIRED' | 'NAME_INVALID' | 'NAME_RESERVED' | 'VALUE_OUT_OF_BOUNDS' | 'EXCEEDED_MAX_ENTITIES' | 'NAME_DUPLICATED';
}

export interface ReceivedGa4Request {
  measurementId: string;
  clientId: string;
  /** The parsed body (the api_secret came in the query string and is not kept). */
  body: Record<string, unknown>;
  /** `body.events`: find one with `events.find((e) => e.params?.event_id === id)` (or `transaction_id`). */
  events: { name: string; params?: Record<string, unknown>; timestamp_micros?: number }[];
  /** Empty for recorded requests. */
  validationMessages: ValidationMessage[];
  /** Unix ms. */
  receivedAt: number;
}

export interface Ga4MockOptions {
  measurementId: string;
  apiSecret: string;
}

export interface Ga4Mock extends PlatformMock<ReceivedGa4Request> {
  /** What GA4 would record (valid payloads sent to /mp/collect). */
  received: ReceivedGa4Request[];
  /** Payloads /mp/collect silently dropped, with the reasons. */
  rejected: ReceivedGa4Request[];
  /** Everything sent to /debug/mp/collect, with the messages returned. */
  validated: ReceivedGa4Request[];
}

const MAX_BODY_BYTES = 130_000;
const MAX_EVENTS = 25;
const MAX_PARAMS = 25;
const MAX_ITEMS = 200;
const MAX_USER_PROPERTIES = 25;
const MAX_AGE_MICROS = 72 * 3600 * 1_000_000;
const MAX_FUTURE_MICROS = 60 * 1_000_000;
const NAME = /^[A-Za-z][A-Za-z0-9_]{0,39}$/;
/** Longer limits for some params (GA4 collection limits); everything else: 100 characters. */
const LONG_PARAMS: Record<string, number> = { page_location: 1000, page_referrer: 420, page_title: 300 };

/** Names the Measurement Protocol reference reserves. */
const RESERVED_EVENT_NAMES = new Set([
  'ad_activeview', 'ad_click', 'ad_exposure', 'ad_impression', 'ad_query', 'ad_reward', 'adunit_exposure',
  'app_background', 'app_clear_data', 'app_exception', 'app_remove', 'app_store_refund',
  'app_store_subscription_cancel', 'app_store_subscription_convert', 'app_store_subscription_renew',
  'app_update', 'app_upgrade', 'dynamic_link_app_open', 'dynamic_link_app_update', 'dynamic_link_first_open',
  'error', 'firebase_campaign', 'firebase_in_app_message_action', 'firebase_in_app_message_dismiss',
  'firebase_in_app_message_impression', 'first_open', 'first_visit', 'in_app_purchase', 'notification_dismiss',
  'notification_foreground', 'notification_open', 'notification_receive', 'os_update', 'session_start',
  'user_engagement',
]);
const RESERVED_PREFIXES = ['_', 'firebase_', 'ga_', 'google_', 'gtag.'];
const TOP_LEVEL_KEYS = new Set([
  'client_id', 'user_id', 'timestamp_micros', 'user_properties', 'consent', 'non_personalized_ads', 'events',
  'user_data', 'user_location', 'ip_override', 'device', 'validation_behavior',
]);
const CONSENT_VALUES = new Set(['GRANTED', 'DENIED']);
const USER_DATA_KEYS = new Set(['sha256_email_address', 'sha256_phone_number', 'address']);
const HASHED_ADDRESS_KEYS = ['sha256_first_name', 'sha256_last_name', 'sha256_street'];
const PLAIN_ADDRESS_KEYS = ['city', 'region', 'postal_code', 'country'];

/** A path the mock does not serve, answered in Google's shape. */
const notFound: RequestHandler = (_req, res) => {
  res.status(404).type('text/html').send('<html><body>Not Found</body></html>');
};

function reserved(name: string): boolean {
  return RESERVED_EVENT_NAMES.has(name) || RESERVED_PREFIXES.some((p) => name.startsWith(p));
}

function checkTimestamp(v: unknown, path: string, nowMicros: number, out: ValidationMessage[]): void {
  if (v === undefined) return;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1e15) {
    out.push({ fieldPath: path, description: 'timestamp_micros must be a Unix time in MICROseconds (16 digits)', validationCode: 'VALUE_INVALID' });
  } else if (v < nowMicros - MAX_AGE_MICROS || v > nowMicros + MAX_FUTURE_MICROS) {
    out.push({ fieldPath: path, description: 'timestamp_micros must be within the last 72 hours and not in the future', validationCode: 'VALUE_OUT_OF_BOUNDS' });
  }
}

function checkHashes(v: unknown, path: string, out: ValidationMessage[]): void {
  if (!isSha256Hashes(v)) {
    out.push({ fieldPath: path, description: 'must be a lowercase hex SHA-256 hash (or an array of them)', validationCode: 'VALUE_INVALID' });
  }
}

function checkUserData(ud: unknown, out: ValidationMessage[]): void {
  if (!isObject(ud)) {
    out.push({ fieldPath: 'user_data', description: 'must be an object', validationCode: 'VALUE_INVALID' });
    return;
  }
  for (const key of Object.keys(ud)) {
    if (!USER_DATA_KEYS.has(key)) out.push({ fieldPath: `user_data.${key}`, description: 'unknown user_data field', validationCode: 'NAME_INVALID' });
  }
  if (ud.sha256_email_address !== undefined) checkHashes(ud.sha256_email_address, 'user_data.sha256_email_address', out);
  if (ud.sha256_phone_number !== undefined) checkHashes(ud.sha256_phone_number, 'user_data.sha256_phone_number', out);
  if (ud.address === undefined) return;
  const addresses = Array.isArray(ud.address) ? ud.address : [ud.address];
  addresses.forEach((a, i) => {
    const path = `user_data.address[${i}]`;
    if (!isObject(a)) {
      out.push({ fieldPath: path, description: 'must be an object', validationCode: 'VALUE_INVALID' });
      return;
    }
    for (const key of HASHED_ADDRESS_KEYS) if (a[key] !== undefined) checkHashes(a[key], `${path}.${key}`, out);
    for (const key of PLAIN_ADDRESS_KEYS) {
      const v = a[key];
      if (v === undefined) continue;
      // City, region, postal code and country are sent in cleartext, not hashed.
      if (typeof v !== 'string' || isSha256Hex(v)) {
        out.push({ fieldPath: `${path}.${key}`, description: `${key} is sent unhashed`, validationCode: 'VALUE_INVALID' });
      }
    }
    if (typeof a.country === 'string' && !/^[A-Z]{2}$/.test(a.country)) {
      out.push({ fieldPath: `${path}.country`, description: 'country must be an ISO 3166-1 alpha-2 code', validationCode: 'VALUE_INVALID' });
    }
  });
}

function checkParams(params: Record<string, unknown>, name: string, path: string, out: ValidationMessage[]): void {
  const keys = Object.keys(params);
  if (keys.length > MAX_PARAMS) {
    out.push({ fieldPath: path, description: `at most ${MAX_PARAMS} params per event`, validationCode: 'EXCEEDED_MAX_ENTITIES' });
  }
  for (const key of keys) {
    const v = params[key];
    const at = `${path}.${key}`;
    if (!NAME.test(key)) out.push({ fieldPath: at, description: 'param names are letters, digits and _, start with a letter, max 40', validationCode: 'NAME_INVALID' });
    else if (RESERVED_PREFIXES.some((p) => key.startsWith(p))) out.push({ fieldPath: at, description: 'param name is reserved', validationCode: 'NAME_RESERVED' });
    if (key === 'items') continue;
    if (typeof v === 'string' && v.length > (LONG_PARAMS[key] ?? 100)) {
      out.push({ fieldPath: at, description: `value is longer than ${LONG_PARAMS[key] ?? 100} characters`, validationCode: 'VALUE_OUT_OF_BOUNDS' });
    } else if (v !== null && typeof v === 'object') {
      out.push({ fieldPath: at, description: 'param values are strings or numbers', validationCode: 'VALUE_INVALID' });
    }
  }
  if (params.engagement_time_msec !== undefined && (typeof params.engagement_time_msec !== 'number' || params.engagement_time_msec < 0)) {
    out.push({ fieldPath: `${path}.engagement_time_msec`, description: 'must be a non-negative number', validationCode: 'VALUE_INVALID' });
  }
  if (params.value !== undefined && typeof params.value !== 'number') {
    out.push({ fieldPath: `${path}.value`, description: 'value must be a number', validationCode: 'VALUE_INVALID' });
  }
  if (params.value !== undefined && params.currency === undefined) {
    out.push({ fieldPath: `${path}.currency`, description: 'currency is required when value is set', validationCode: 'VALUE_REQUIRED' });
  }
  if (params.currency !== undefined && !isCurrencyCode(params.currency)) {
    out.push({ fieldPath: `${path}.currency`, description: 'currency must be an ISO 4217 code', validationCode: 'VALUE_INVALID' });
  }
  if (name === 'purchase' && (typeof params.transaction_id !== 'string' || params.transaction_id === '')) {
    out.push({ fieldPath: `${path}.transaction_id`, description: 'transaction_id is required for purchase', validationCode: 'VALUE_REQUIRED' });
  }
  if (params.items !== undefined) {
    if (!Array.isArray(params.items)) {
      out.push({ fieldPath: `${path}.items`, description: 'items must be an array', validationCode: 'VALUE_INVALID' });
    } else {
      if (params.items.length > MAX_ITEMS) {
        out.push({ fieldPath: `${path}.items`, description: `at most ${MAX_ITEMS} items`, validationCode: 'EXCEEDED_MAX_ENTITIES' });
      }
      params.items.forEach((item, i) => {
        if (!isObject(item) || (item.item_id === undefined && item.item_name === undefined)) {
          out.push({ fieldPath: `${path}.items[${i}]`, description: 'an item needs item_id or item_name', validationCode: 'VALUE_REQUIRED' });
        }
      });
    }
  }
}

/** Every validation message for one request body, as the debug endpoint would list them. */
function validate(raw: string, nowMicros: number): { body?: Record<string, unknown>; messages: ValidationMessage[] } {
  const out: ValidationMessage[] = [];
  if (Buffer.byteLength(raw) >= MAX_BODY_BYTES) {
    out.push({ fieldPath: '', description: `the post body must be smaller than ${MAX_BODY_BYTES / 1000} kB`, validationCode: 'VALUE_OUT_OF_BOUNDS' });
    return { messages: out };
  }
  let body: unknown;
  try {
    body = JSON.parse(raw);
  } catch {
    out.push({ fieldPath: '', description: 'the body is not valid JSON', validationCode: 'VALUE_INVALID' });
    return { messages: out };
  }
  if (!isObject(body)) {
    out.push({ fieldPath: '', description: 'the body must be a JSON object', validationCode: 'VALUE_INVALID' });
    return { messages: out };
  }
  for (const key of Object.keys(body)) {
    if (!TOP_LEVEL_KEYS.has(key)) out.push({ fieldPath: key, description: `unknown field "${key}"`, validationCode: 'NAME_INVALID' });
  }
  if (typeof body.client_id !== 'string' || body.client_id === '') {
    out.push({ fieldPath: 'client_id', description: 'client_id is required for web streams', validationCode: 'VALUE_REQUIRED' });
  }
  if (body.user_id !== undefined && typeof body.user_id !== 'string') {
    out.push({ fieldPath: 'user_id', description: 'user_id must be a string', validationCode: 'VALUE_INVALID' });
  }
  checkTimestamp(body.timestamp_micros, 'timestamp_micros', nowMicros, out);
  if (body.ip_override !== undefined && (typeof body.ip_override !== 'string' || isIP(body.ip_override) === 0)) {
    out.push({ fieldPath: 'ip_override', description: 'ip_override must be an IPv4 or IPv6 address', validationCode: 'VALUE_INVALID' });
  }
  if (body.consent !== undefined) {
    const c = body.consent;
    if (!isObject(c)) out.push({ fieldPath: 'consent', description: 'must be an object', validationCode: 'VALUE_INVALID' });
    else {
      for (const key of ['ad_user_data', 'ad_personalization']) {
        if (c[key] !== undefined && !CONSENT_VALUES.has(String(c[key]))) {
          out.push({ fieldPath: `consent.${key}`, description: 'must be GRANTED or DENIED', validationCode: 'VALUE_INVALID' });
        }
      }
    }
  }
  if (isObject(body.user_properties) && Object.keys(body.user_properties).length > MAX_USER_PROPERTIES) {
    out.push({ fieldPath: 'user_properties', description: `at most ${MAX_USER_PROPERTIES} user properties`, validationCode: 'EXCEEDED_MAX_ENTITIES' });
  }
  if (body.user_data !== undefined) checkUserData(body.user_data, out);

  const events = body.events;
  if (!Array.isArray(events) || events.length === 0) {
    out.push({ fieldPath: 'events', description: 'at least one event is required', validationCode: 'VALUE_REQUIRED' });
    return { body, messages: out };
  }
  if (events.length > MAX_EVENTS) {
    out.push({ fieldPath: 'events', description: `at most ${MAX_EVENTS} events per request`, validationCode: 'EXCEEDED_MAX_ENTITIES' });
  }
  events.forEach((ev, i) => {
    const path = `events[${i}]`;
    if (!isObject(ev)) {
      out.push({ fieldPath: path, description: 'an event must be an object', validationCode: 'VALUE_INVALID' });
      return;
    }
    const name = ev.name;
    if (typeof name !== 'string' || name === '') {
      out.push({ fieldPath: `${path}.name`, description: 'event name is required', validationCode: 'VALUE_REQUIRED' });
      return;
    }
    if (!NAME.test(name)) out.push({ fieldPath: `${path}.name`, description: 'event names are letters, digits and _, start with a letter, max 40', validationCode: 'NAME_INVALID' });
    else if (reserved(name)) out.push({ fieldPath: `${path}.name`, description: `"${name}" is a reserved event name`, validationCode: 'NAME_RESERVED' });
    checkTimestamp(ev.timestamp_micros, `${path}.timestamp_micros`, nowMicros, out);
    if (ev.params !== undefined) {
      if (!isObject(ev.params)) out.push({ fieldPath: `${path}.params`, description: 'params must be an object', validationCode: 'VALUE_INVALID' });
      else checkParams(ev.params, name, `${path}.params`, out);
    }
  });
  return { body, messages: out };
}

export function createGa4Mock(opts: Ga4MockOptions): Ga4Mock {
  const rejected: ReceivedGa4Request[] = [];
  const validated: ReceivedGa4Request[] = [];
  const log = createScriptedLog<ReceivedGa4Request>(() => {
    rejected.length = 0;
    validated.length = 0;
  });
  const { received } = log;
  const router = express.Router();

  // Raw text, so the size limit and JSON errors are judged here, as Google judges them.
  router.use(express.text({ type: () => true, limit: '10mb' }));

  router.get('/_received', (_req, res) => {
    res.json({ received, rejected, validated });
  });

  function handle(debug: boolean): express.RequestHandler {
    return (req, res) => {
      if (log.answerScripted(res)) return;
      const raw = typeof req.body === 'string' ? req.body : '';
      const { body, messages } = validate(raw, Date.now() * 1000);
      const measurementId = typeof req.query.measurement_id === 'string' ? req.query.measurement_id : '';
      if (measurementId === '') {
        messages.unshift({ fieldPath: 'measurement_id', description: 'measurement_id is required in the query string', validationCode: 'VALUE_REQUIRED' });
      } else if (measurementId !== opts.measurementId) {
        messages.unshift({ fieldPath: 'measurement_id', description: `unknown measurement_id ${measurementId}`, validationCode: 'VALUE_INVALID' });
      }
      // The debug endpoint does not check the secret; collect drops requests with a wrong one.
      if (!debug && req.query.api_secret !== opts.apiSecret) {
        messages.unshift({ fieldPath: 'api_secret', description: 'api_secret is missing or wrong', validationCode: 'VALUE_INVALID' });
      }
      const entry: ReceivedGa4Request = {
        measurementId,
        clientId: typeof body?.client_id === 'string' ? body.client_id : '',
        body: body ?? {},
        events: Array.isArray(body?.events) ? (body.events as ReceivedGa4Request['events']) : [],
        validationMessages: messages,
        receivedAt: Date.now(),
      };
      if (debug) {
        validated.push(entry);
        res.status(200).json({ validationMessages: messages });
        return;
      }
      (messages.length === 0 ? received : rejected).push(entry);
      res.status(204).end();
    };
  }

  router.post('/mp/collect', handle(false));
  router.post('/debug/mp/collect', handle(true));

  return { router, received, rejected, validated, script: log.script, reset: log.reset };
}

export interface RunningGa4Mock extends RunningMock<Ga4Mock> {}

/** The mock as its own server on 127.0.0.1 (a random free port unless `port` is given). */
export async function startGa4Mock(opts: Ga4MockOptions & { port?: number }): Promise<RunningGa4Mock> {
  return serveMock(createGa4Mock(opts), notFound, opts.port);
}
