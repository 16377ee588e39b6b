// A local stand-in for Meta's Graph API `/{version}/{pixel}/events` that checks each
// request against the documented Conversions API contract (shared/reference/destinations.md
// §1) and answers the way Meta does, so a wrong payload fails a test. The demo uses it too,
// to show what would have been sent (`GET /_received`).
import { randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import express, { type Request, type RequestHandler } from 'express';
import { isObject, isSha256Hashes } from './support/values.js';
import { bodyParseErrors, createScriptedLog, serveMock, type RunningMock, type PlatformMock } from './support/mock-server.js';

export type { ScriptedResponse } from './support/mock-server.js';

export interface ReceivedBatch {
  pixelId: string;
  version: string;
  /** The request's parameters with `data` parsed; `access_token` is left out (it was checked). */
  body: { data: unknown[] } & Record<string, unknown>;
  test_event_code?: string;
  /** Where the access token came from; the destination should use the body. */
  tokenIn: 'body' | 'query';
  /** Unix ms. */
  receivedAt: number;
}

export interface MetaGraphMockOptions {
  accessToken: string;
  /** When set, any other pixel id is answered like a nonexistent object. */
  pixelId?: string;
}

export interface MetaGraphMock extends PlatformMock<ReceivedBatch> {}

const MAX_EVENTS = 1000;
const MAX_AGE_SEC = 7 * 24 * 60 * 60;
const MAX_AGE_PHYSICAL_STORE_SEC = 62 * 24 * 60 * 60;
const MAX_FUTURE_SEC = 5 * 60;

const ACTION_SOURCES = new Set([
  'website', 'app', 'email', 'phone_call', 'chat', 'physical_store', 'system_generated', 'business_messaging', 'other',
]);
const HASHED_KEYS = ['em', 'ph', 'fn', 'ln', 'ct', 'st', 'zp', 'country', 'db', 'ge'];
/** Every documented customer-information parameter; anything else (e.g. `ph_e164`) is refused. */
const USER_DATA_KEYS = new Set([
  ...HASHED_KEYS, 'external_id', 'client_ip_address', 'client_user_agent', 'fbc', 'fbp', 'subscription_id',
  'fb_login_id', 'lead_id', 'anon_id', 'madid', 'page_id', 'page_scoped_user_id', 'ctwa_clid', 'ig_account_id', 'ig_sid',
]);
const FB_COOKIE = /^fb\.\d\.\d{13}\..+$/;

class GraphError {
  constructor(
    readonly code: number,
    readonly message: string,
    readonly extra: { error_subcode?: number; error_user_title?: string; error_user_msg?: string } = {},
  ) {}
}

function fbtraceId(): string {
  return randomBytes(9).toString('base64url');
}

function errorBody(e: GraphError): unknown {
  return {
    error: {
      message: e.message,
      type: 'OAuthException',
      code: e.code,
      ...e.extra,
      is_transient: false,
      fbtrace_id: fbtraceId(),
    },
  };
}

/** A path the mock does not serve, answered in Graph's shape. */
const notFound: RequestHandler = (req, res) => {
  res.status(400).json(errorBody(new GraphError(2500, `Unknown path components: ${req.method} ${req.path}`)));
};

function invalid(where: string, problem: string): GraphError {
  return new GraphError(100, `(#100) Invalid parameter: ${where} ${problem}`, {
    error_user_title: 'Invalid parameter',
    error_user_msg: `${where} ${problem}`,
  });
}

/** The first contract violation in one server event, if any. */
function checkEvent(ev: unknown, at: string, nowSec: number): GraphError | undefined {
  if (!isObject(ev)) return invalid(at, 'must be an object');
  for (const key of ['event_name', 'event_time', 'action_source', 'user_data']) {
    if (ev[key] === undefined || ev[key] === null || ev[key] === '') return invalid(`${at}.${key}`, 'is required');
  }
  if (typeof ev.event_name !== 'string') return invalid(`${at}.event_name`, 'must be a string');
  if (ev.event_id !== undefined && typeof ev.event_id !== 'string') return invalid(`${at}.event_id`, 'must be a string');

  const source = ev.action_source;
  if (typeof source !== 'string' || !ACTION_SOURCES.has(source)) {
    return invalid(`${at}.action_source`, `must be one of ${[...ACTION_SOURCES].join(', ')}`);
  }

  const t = ev.event_time;
  if (typeof t !== 'number' || !Number.isInteger(t) || t <= 0) {
    return invalid(`${at}.event_time`, 'must be a Unix timestamp in seconds (integer)');
  }
  if (t > nowSec + MAX_FUTURE_SEC) {
    return invalid(`${at}.event_time`, 'is in the future (a millisecond timestamp?); send Unix seconds');
  }
  const maxAge = source === 'physical_store' ? MAX_AGE_PHYSICAL_STORE_SEC : MAX_AGE_SEC;
  if (t < nowSec - maxAge) return invalid(`${at}.event_time`, `is too far in the past (max ${maxAge / 86400} days)`);

  const ud = ev.user_data;
  if (!isObject(ud)) return invalid(`${at}.user_data`, 'must be an object');
  for (const key of Object.keys(ud)) {
    if (!USER_DATA_KEYS.has(key)) return invalid(`${at}.user_data.${key}`, 'is not a customer information parameter');
  }
  for (const key of HASHED_KEYS) {
    const v = ud[key];
    if (v === undefined) continue;
    if (!isSha256Hashes(v)) {
      return invalid(`${at}.user_data.${key}`, 'must be a lowercase hex SHA-256 hash (or an array of them)');
    }
  }
  for (const key of ['fbp', 'fbc']) {
    const v = ud[key];
    if (v !== undefined && (typeof v !== 'string' || !FB_COOKIE.test(v))) {
      return invalid(`${at}.user_data.${key}`, 'must look like fb.<subdomain index>.<creation time ms>.<value>');
    }
  }
  const ip = ud.client_ip_address;
  if (ip !== undefined && (typeof ip !== 'string' || isIP(ip) === 0)) {
    return invalid(`${at}.user_data.client_ip_address`, 'must be an IPv4 or IPv6 address');
  }
  if (ud.client_user_agent !== undefined && typeof ud.client_user_agent !== 'string') {
    return invalid(`${at}.user_data.client_user_agent`, 'must be a string');
  }

  if (source === 'website') {
    if (typeof ev.event_source_url !== 'string' || ev.event_source_url === '') {
      return invalid(`${at}.event_source_url`, 'is required for website events');
    }
    if (typeof ud.client_user_agent !== 'string' || ud.client_user_agent === '') {
      return invalid(`${at}.user_data.client_user_agent`, 'is required for website events');
    }
  }

  const cd = ev.custom_data;
  if (cd !== undefined && !isObject(cd)) return invalid(`${at}.custom_data`, 'must be an object');
  if (ev.event_name === 'Purchase') {
    if (!isObject(cd) || typeof cd.value !== 'number' || !Number.isFinite(cd.value)) {
      return invalid(`${at}.custom_data.value`, 'is required (a number) for Purchase events');
    }
    if (typeof cd.currency !== 'string' || !/^[A-Za-z]{3}$/.test(cd.currency)) {
      return invalid(`${at}.custom_data.currency`, 'is required (ISO 4217, 3 letters) for Purchase events');
    }
  }
  return undefined;
}

/** Request parameters from a JSON or form body, with `data` parsed from its JSON string. */
function parameters(req: Request): Record<string, unknown> | GraphError {
  const body: unknown = req.body;
  const params: Record<string, unknown> = isObject(body) ? { ...body } : {};
  if (typeof params.data === 'string') {
    try {
      params.data = JSON.parse(params.data);
    } catch {
      return invalid('data', 'must be a JSON array of server events');
    }
  }
  return params;
}

export function createMetaGraphMock(opts: MetaGraphMockOptions): MetaGraphMock {
  const log = createScriptedLog<ReceivedBatch>();
  const { received } = log;
  const router = express.Router();

  router.use(express.json({ limit: '20mb' }));
  router.use(express.urlencoded({ extended: false, limit: '20mb' }));

  router.get('/_received', log.listReceived);

  router.post('/:version/:pixelId/events', (req, res) => {
    if (log.answerScripted(res)) return;

    const fail = (e: GraphError): void => {
      res.status(400).json(errorBody(e));
    };
    const version = String(req.params.version);
    const pixelId = String(req.params.pixelId);

    const params = parameters(req);
    if (params instanceof GraphError) return fail(params);

    const bodyToken = params.access_token;
    const queryToken = req.query.access_token;
    const token = typeof bodyToken === 'string' ? bodyToken : typeof queryToken === 'string' ? queryToken : undefined;
    // Graph may answer a missing token with code 104; both mean "fix the credentials".
    if (token === undefined || token === '') {
      return fail(new GraphError(190, 'An access token is required to request this resource.'));
    }
    if (token !== opts.accessToken) {
      return fail(new GraphError(190, 'Invalid OAuth access token - Cannot parse access token'));
    }
    if (!/^v\d+\.\d+$/.test(version)) return fail(invalid('version', `"${version}" is not a Graph API version like v26.0`));
    if (!/^\d+$/.test(pixelId) || (opts.pixelId !== undefined && pixelId !== opts.pixelId)) {
      return fail(
        new GraphError(
          100,
          `Unsupported post request. Object with ID '${pixelId}' does not exist, cannot be loaded due to missing permissions, or does not support this operation.`,
          { error_subcode: 33 },
        ),
      );
    }

    const data = params.data;
    if (data === undefined) return fail(invalid('data', 'is required'));
    if (!Array.isArray(data)) return fail(invalid('data', 'must be an array of server events'));
    if (data.length === 0) return fail(invalid('data', 'must contain at least one event'));
    if (data.length > MAX_EVENTS) return fail(invalid('data', `has ${data.length} events; at most ${MAX_EVENTS} per request`));

    // One bad event rejects the whole batch, as Meta does.
    const nowSec = Math.floor(Date.now() / 1000);
    for (let i = 0; i < data.length; i++) {
      const problem = checkEvent(data[i], `data[${i}]`, nowSec);
      if (problem) return fail(problem);
    }

    const testCode = params.test_event_code;
    if (testCode !== undefined && typeof testCode !== 'string') return fail(invalid('test_event_code', 'must be a string'));
    const { access_token: _token, ...recorded } = params;
    received.push({
      pixelId,
      version,
      body: { ...recorded, data },
      ...(testCode !== undefined ? { test_event_code: testCode } : {}),
      tokenIn: typeof bodyToken === 'string' ? 'body' : 'query',
      receivedAt: Date.now(),
    });
    res.status(200).json({ events_received: data.length, messages: [], fbtrace_id: fbtraceId() });
  });

  // Body-parser failures (malformed JSON, too large) answered in Graph's shape.
  router.use(
    bodyParseErrors((res, status, message = 'invalid request') => {
      res.status(status).json(errorBody(invalid('request body', `could not be read: ${message}`)));
    }),
  );

  return { router, received, script: log.script, reset: log.reset };
}

export interface RunningMetaGraphMock extends RunningMock<MetaGraphMock> {}

/** The mock as its own server on 127.0.0.1 (a random free port unless `port` is given). */
export async function startMetaGraphMock(opts: MetaGraphMockOptions & { port?: number }): Promise<RunningMetaGraphMock> {
  return serveMock(createMetaGraphMock(opts), notFound, opts.port);
}
