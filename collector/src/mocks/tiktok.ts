// A local stand-in for TikTok's Events API 2.0 `POST /open_api/v1.3/event/track/` that checks
// each request against the documented contract (shared/reference/destinations.md §2) and
// answers the way TikTok does: always HTTP 200 with the `{code, message, request_id, data}`
// envelope, errors included (`code != 0`). The demo can mount it and list `GET /_received`.
import { randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import express, { type RequestHandler } from 'express';
import { isObject, isSha256Hashes, isCurrencyCode } from './support/values.js';
import { bodyParseErrors, createScriptedLog, serveMock, type RunningMock, type PlatformMock } from './support/mock-server.js';

export type { ScriptedResponse } from './support/mock-server.js';

export interface ReceivedTikTokBatch {
  /** `event_source_id`. */
  pixelCode: string;
  test_event_code?: string;
  /** The parsed request body (the token came in the Access-Token header and is not kept). */
  body: Record<string, unknown>;
  /** `body.data`: find an event by its dedup key with `events.find((e) => e.event_id === id)`. */
  events: Record<string, unknown>[];
  /** Unix ms. */
  receivedAt: number;
}

export interface TikTokMockOptions {
  accessToken: string;
  /** When set, events for any other pixel code are refused (no permission). */
  pixelCode?: string;
}

export interface TikTokMock extends PlatformMock<ReceivedTikTokBatch> {}

const MAX_EVENTS = 1000;
const MAX_FUTURE_SEC = 5 * 60;
const EVENT_SOURCES = new Set(['web', 'app', 'offline', 'crm']);
const HASHED_USER_KEYS = ['email', 'phone', 'external_id', 'first_name', 'last_name', 'city', 'state', 'country', 'zip_code'];
const PLAIN_USER_KEYS = ['ttclid', 'ttp', 'ip', 'user_agent', 'locale', 'idfa', 'idfv', 'gaid'];

/** TikTok's answer: HTTP 200 with a code; 0 is success. */
class TikTokError {
  constructor(
    readonly code: number,
    readonly message: string,
  ) {}
}

function requestId(): string {
  return `${new Date().toISOString().replace(/\D/g, '').slice(0, 14)}${randomBytes(8).toString('hex').toUpperCase()}`;
}

function envelope(code: number, message: string): unknown {
  return { code, message, request_id: requestId(), data: {} };
}

const paramError = (where: string, problem: string) => new TikTokError(40002, `${where}: ${problem}`);

/** A path the mock does not serve, answered in TikTok's shape. */
const notFound: RequestHandler = (req, res) => {
  res.status(404).json(envelope(40400, `route not found: ${req.method} ${req.path}`));
};

/** The first contract violation in one event, if any. */
function checkEvent(ev: unknown, at: string, nowSec: number): TikTokError | undefined {
  if (!isObject(ev)) return paramError(at, 'must be an object');
  if (typeof ev.event !== 'string' || ev.event.trim() === '') return paramError(`${at}.event`, 'is required (a string)');
  const t = ev.event_time;
  if (typeof t !== 'number' || !Number.isInteger(t) || t <= 1_000_000_000) {
    return paramError(`${at}.event_time`, 'must be a Unix timestamp in seconds (integer)');
  }
  if (t > nowSec + MAX_FUTURE_SEC) return paramError(`${at}.event_time`, 'is in the future (a millisecond timestamp?); send Unix seconds');
  if (ev.event_id !== undefined && (typeof ev.event_id !== 'string' || ev.event_id === '')) {
    return paramError(`${at}.event_id`, 'must be a non-empty string');
  }

  const user = ev.user;
  if (user !== undefined) {
    if (!isObject(user)) return paramError(`${at}.user`, 'must be an object');
    for (const key of HASHED_USER_KEYS) {
      const v = user[key];
      if (v === undefined) continue;
      if (!isSha256Hashes(v)) {
        return new TikTokError(40062, `${at}.user.${key}: PII must be SHA-256 hashed (64 lowercase hex characters)`);
      }
    }
    for (const key of PLAIN_USER_KEYS) {
      if (user[key] !== undefined && typeof user[key] !== 'string') return paramError(`${at}.user.${key}`, 'must be a string');
    }
    if (typeof user.ip === 'string' && isIP(user.ip) === 0) return paramError(`${at}.user.ip`, 'must be an IPv4 or IPv6 address');
  }

  const page = ev.page;
  if (page !== undefined) {
    if (!isObject(page)) return paramError(`${at}.page`, 'must be an object');
    for (const key of ['url', 'referrer']) {
      const v = page[key];
      if (v !== undefined && (typeof v !== 'string' || !/^https?:\/\//i.test(v))) return paramError(`${at}.page.${key}`, 'must be an http(s) URL');
    }
  }

  const props = ev.properties;
  if (props !== undefined) {
    if (!isObject(props)) return paramError(`${at}.properties`, 'must be an object');
    if (props.value !== undefined && (typeof props.value !== 'number' || !Number.isFinite(props.value))) {
      return paramError(`${at}.properties.value`, 'must be a number');
    }
    if (props.currency !== undefined && !isCurrencyCode(props.currency)) {
      return paramError(`${at}.properties.currency`, 'must be an ISO 4217 code like BRL');
    }
    if (props.content_type !== undefined && props.content_type !== 'product' && props.content_type !== 'product_group') {
      return paramError(`${at}.properties.content_type`, 'must be product or product_group');
    }
    if (props.contents !== undefined) {
      if (!Array.isArray(props.contents)) return paramError(`${at}.properties.contents`, 'must be an array');
      for (const [i, c] of props.contents.entries()) {
        const where = `${at}.properties.contents[${i}]`;
        if (!isObject(c)) return paramError(where, 'must be an object');
        if (c.content_id !== undefined && typeof c.content_id !== 'string') return paramError(`${where}.content_id`, 'must be a string');
        if (c.quantity !== undefined && (typeof c.quantity !== 'number' || !Number.isInteger(c.quantity))) {
          return paramError(`${where}.quantity`, 'must be an integer');
        }
        if (c.price !== undefined && (typeof c.price !== 'number' || !Number.isFinite(c.price))) return paramError(`${where}.price`, 'must be a number');
      }
    }
  }
  return undefined;
}

export function createTikTokMock(opts: TikTokMockOptions): TikTokMock {
  const log = createScriptedLog<ReceivedTikTokBatch>();
  const { received } = log;
  const router = express.Router();

  router.use(express.json({ limit: '20mb' }));

  router.get('/_received', log.listReceived);

  router.post('/open_api/v1.3/event/track', (req, res) => {
    if (log.answerScripted(res)) return;
    // TikTok reports errors in a 200 body.
    const fail = (e: TikTokError): void => {
      res.status(200).json(envelope(e.code, e.message));
    };

    const token = req.get('access-token');
    if (token === undefined || token === '') return fail(new TikTokError(40104, 'Access token is null, you should pass it in the header (Access-Token).'));
    if (token !== opts.accessToken) return fail(new TikTokError(40105, 'Access token is incorrect or has been revoked.'));

    const body: unknown = req.body;
    if (!isObject(body)) return fail(paramError('body', 'must be a JSON object'));
    if (typeof body.event_source !== 'string' || !EVENT_SOURCES.has(body.event_source)) {
      return fail(paramError('event_source', `must be one of ${[...EVENT_SOURCES].join(', ')}`));
    }
    const pixelCode = body.event_source_id;
    if (typeof pixelCode !== 'string' || pixelCode === '') return fail(paramError('event_source_id', 'is required (the pixel code)'));
    if (opts.pixelCode !== undefined && pixelCode !== opts.pixelCode) {
      return fail(new TikTokError(40001, `No permission to operate pixel code ${pixelCode}.`));
    }
    if (body.test_event_code !== undefined && typeof body.test_event_code !== 'string') return fail(paramError('test_event_code', 'must be a string'));
    if (body.partner_name !== undefined) return fail(new TikTokError(40063, `partner_name "${String(body.partner_name)}" is not a registered partner.`));

    const data = body.data;
    if (!Array.isArray(data)) return fail(paramError('data', 'is required (an array of events)'));
    if (data.length === 0 || data.length > MAX_EVENTS) {
      return fail(new TikTokError(40061, `data has ${data.length} events; send 1 to ${MAX_EVENTS} per request`));
    }
    // One bad event fails the whole batch.
    const nowSec = Math.floor(Date.now() / 1000);
    for (let i = 0; i < data.length; i++) {
      const problem = checkEvent(data[i], `data[${i}]`, nowSec);
      if (problem) return fail(problem);
    }

    received.push({
      pixelCode,
      ...(typeof body.test_event_code === 'string' ? { test_event_code: body.test_event_code } : {}),
      body,
      events: data as Record<string, unknown>[],
      receivedAt: Date.now(),
    });
    res.status(200).json(envelope(0, 'OK'));
  });

  // Body-parser failures (malformed JSON, too large), in TikTok's envelope.
  router.use(
    bodyParseErrors((res, _status, message = 'invalid request') => {
      res.status(200).json(envelope(40002, `request body could not be read: ${message}`));
    }),
  );

  return { router, received, script: log.script, reset: log.reset };
}

export interface RunningTikTokMock extends RunningMock<TikTokMock> {}

/** The mock as its own server on 127.0.0.1 (a random free port unless `port` is given). */
export async function startTikTokMock(opts: TikTokMockOptions & { port?: number }): Promise<RunningTikTokMock> {
  return serveMock(createTikTokMock(opts), notFound, opts.port);
}
