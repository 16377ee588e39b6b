// A local stand-in for Reddit's Conversions API v3
// (`POST /api/v3/pixels/{pixel_id}/conversion_events`) that checks each request against the
// documented contract (shared/reference/destinations.md §5.3, Reddit's v3 docs) and answers
// the way Reddit does, so a wrong payload fails a test. One invalid event refuses the whole
// request ("None were processed"), as Reddit does.
//
// Stricter than Reddit in one place, on purpose: Reddit also accepts cleartext email,
// phone and IP and hashes them itself; Trakvo never sends cleartext, so here those fields
// must be lowercase SHA-256 hex.
import express, { type RequestHandler } from 'express';
import { isObject, isSha256Hex, isCurrencyCode } from './support/values.js';
import { bodyParseErrors, createScriptedLog, serveMock, type RunningMock, type PlatformMock } from './support/mock-server.js';

export type { ScriptedResponse } from './support/mock-server.js';

export interface RedditReceivedBatch {
  pixelId: string;
  /** `data.test_id`, when the request was an Event Testing request. */
  testId?: string;
  /** The conversion events as sent; find one by `metadata.conversion_id`. */
  events: Record<string, unknown>[];
  /** Unix ms. */
  receivedAt: number;
}

export interface RedditMockOptions {
  /** The conversion access token the mock accepts. */
  accessToken: string;
  /** When set, the token has rights on this pixel only (others: 403). */
  pixelId?: string;
}

export interface RedditMock extends PlatformMock<RedditReceivedBatch> {}

const MAX_EVENTS = 1000;
const MAX_AGE_MS = 7 * 24 * 60 * 60 * 1000;
const MAX_FUTURE_MS = 5 * 60 * 1000;
const ACTION_SOURCES = new Set(['WEBSITE', 'APP', 'PHYSICAL_STORE', 'OTHER']);
const TRACKING_TYPES = new Set([
  'PAGE_VISIT', 'VIEW_CONTENT', 'SEARCH', 'ADD_TO_CART', 'ADD_TO_WISHLIST', 'PURCHASE', 'LEAD', 'SIGN_UP', 'CUSTOM',
]);
const USER_KEYS = new Set([
  'email', 'phone_number', 'external_id', 'ip_address', 'user_agent', 'uuid', 'idfa', 'aaid', 'screen_dimensions',
  'data_processing_options',
]);
const HASHED_USER_KEYS = ['email', 'phone_number', 'ip_address'];
const METADATA_KEYS = new Set(['conversion_id', 'currency', 'value', 'item_count', 'products']);

function errorBody(status: number, message: string): unknown {
  return { error: { code: status, message } };
}

/** A path the mock does not serve, answered in Reddit's shape. */
const notFound: RequestHandler = (req, res) => {
  res.status(404).json(errorBody(404, `Not Found: ${req.method} ${req.path}`));
};

/** The first contract violation in one conversion event, if any. */
function checkEvent(ev: unknown, at: string, nowMs: number): string | undefined {
  if (!isObject(ev)) return `${at} must be an object`;
  const t = ev.event_at;
  if (t === undefined) return `${at}.event_at is required`;
  if (typeof t !== 'number' || !Number.isInteger(t)) return `${at}.event_at must be an integer Unix epoch in milliseconds`;
  if (t < 1e12) return `${at}.event_at looks like seconds; v3 takes Unix epoch milliseconds`;
  if (t > nowMs + MAX_FUTURE_MS) return `${at}.event_at is in the future`;
  if (t < nowMs - MAX_AGE_MS) return `${at}.event_at is more than 7 days old`;
  if (typeof ev.action_source !== 'string' || !ACTION_SOURCES.has(ev.action_source)) {
    return `${at}.action_source is required, one of ${[...ACTION_SOURCES].join(', ')}`;
  }
  if (ev.event_type !== undefined || ev.event_metadata !== undefined) return `${at} uses v2 fields (event_type/event_metadata); v3 takes type/metadata`;
  const type = ev.type;
  if (!isObject(type) || typeof type.tracking_type !== 'string' || !TRACKING_TYPES.has(type.tracking_type)) {
    return `${at}.type.tracking_type is required, one of ${[...TRACKING_TYPES].join(', ')}`;
  }
  if (type.tracking_type === 'CUSTOM') {
    const name = type.custom_event_name;
    if (typeof name !== 'string' || name === '' || name.length > 64) return `${at}.type.custom_event_name is required for CUSTOM (1-64 characters)`;
  }
  for (const key of ['event_source_url', 'click_id']) {
    if (ev[key] !== undefined && (typeof ev[key] !== 'string' || ev[key] === '')) return `${at}.${key} must be a non-empty string`;
  }
  const user = ev.user;
  if (user !== undefined) {
    if (!isObject(user)) return `${at}.user must be an object`;
    for (const key of Object.keys(user)) if (!USER_KEYS.has(key)) return `${at}.user.${key} is not a match key`;
    for (const key of HASHED_USER_KEYS) {
      const v = user[key];
      if (v !== undefined && !isSha256Hex(v)) return `${at}.user.${key} must be a lowercase hex SHA-256 hash`;
    }
    for (const key of ['external_id', 'user_agent', 'uuid']) {
      if (user[key] !== undefined && (typeof user[key] !== 'string' || user[key] === '')) return `${at}.user.${key} must be a non-empty string`;
    }
  }
  const md = ev.metadata;
  if (md !== undefined) {
    if (!isObject(md)) return `${at}.metadata must be an object`;
    for (const key of Object.keys(md)) if (!METADATA_KEYS.has(key)) return `${at}.metadata.${key} is not a metadata field`;
    if (md.conversion_id !== undefined && (typeof md.conversion_id !== 'string' || md.conversion_id === '')) {
      return `${at}.metadata.conversion_id must be a non-empty string`;
    }
    if (md.value !== undefined && (typeof md.value !== 'number' || !Number.isFinite(md.value))) return `${at}.metadata.value must be a number (double)`;
    if (md.currency !== undefined && !isCurrencyCode(md.currency)) {
      return `${at}.metadata.currency must be an ISO 4217 code`;
    }
    if (md.value !== undefined && md.currency === undefined) return `${at}.metadata.currency is required with value`;
    if (md.item_count !== undefined && (typeof md.item_count !== 'number' || !Number.isInteger(md.item_count) || md.item_count < 0)) {
      return `${at}.metadata.item_count must be a non-negative integer`;
    }
    if (md.products !== undefined) {
      if (!Array.isArray(md.products)) return `${at}.metadata.products must be an array`;
      for (const [i, p] of md.products.entries()) {
        if (!isObject(p) || typeof p.id !== 'string' || p.id === '') return `${at}.metadata.products[${i}].id is required`;
      }
    }
  }
  return undefined;
}

export function createRedditMock(opts: RedditMockOptions): RedditMock {
  const log = createScriptedLog<RedditReceivedBatch>();
  const { received } = log;
  const router = express.Router();

  router.use(express.json({ limit: '20mb' }));

  router.get('/_received', log.listReceived);

  router.post('/api/v3/pixels/:pixelId/conversion_events', (req, res) => {
    if (log.answerScripted(res)) return;
    const fail = (status: number, message: string): void => {
      res.status(status).json(errorBody(status, message));
    };

    const auth = req.get('authorization');
    if (auth === undefined || !/^Bearer .+/.test(auth)) return fail(401, 'No bearer token provided');
    if (auth.slice('Bearer '.length) !== opts.accessToken) return fail(401, 'UNAUTHORIZED');
    const pixelId = String(req.params.pixelId);
    if (opts.pixelId !== undefined && pixelId !== opts.pixelId) {
      return fail(403, `You're not authorized to post conversions to Pixel ID ${pixelId}.`);
    }
    if (!req.is('application/json')) return fail(400, 'Bad Request: the body must be JSON');

    const body: unknown = req.body;
    if (!isObject(body) || !isObject(body.data)) return fail(400, 'Bad Request: the events belong in a `data` object (v3)');
    const data = body.data;
    const events = data.events;
    if (!Array.isArray(events) || events.length === 0) return fail(400, 'Bad Request: data.events must be a non-empty array');
    if (events.length > MAX_EVENTS) return fail(400, `Bad Request: ${events.length} events; at most ${MAX_EVENTS} per request`);
    if (data.test_id !== undefined && (typeof data.test_id !== 'string' || data.test_id === '')) {
      return fail(400, 'Bad Request: data.test_id must be a string');
    }
    if (data.test_mode !== undefined) return fail(400, 'Bad Request: test_mode is v2; v3 takes data.test_id');

    const nowMs = Date.now();
    const problems: string[] = [];
    events.forEach((ev, i) => {
      const problem = checkEvent(ev, `events[${i}]`, nowMs);
      if (problem) problems.push(problem);
    });
    if (problems.length > 0) {
      return fail(400, `There were ${problems.length} invalid conversion events. None were processed. ${problems.join('; ')}`);
    }

    received.push({
      pixelId,
      ...(typeof data.test_id === 'string' ? { testId: data.test_id } : {}),
      events: events as Record<string, unknown>[],
      receivedAt: Date.now(),
    });
    res.status(200).json({ data: { message: `Successfully processed ${events.length} conversion events.` } });
  });

  // Body-parser failures (malformed JSON, too large) answered in the same shape.
  router.use(
    bodyParseErrors((res, status, message = 'unreadable body') => {
      res.status(status).json(errorBody(status, `Bad Request: ${message}`));
    }),
  );

  return { router, received, script: log.script, reset: log.reset };
}

export interface RunningRedditMock extends RunningMock<RedditMock> {}

/** The mock as its own server on 127.0.0.1 (a random free port unless `port` is given). */
export async function startRedditMock(opts: RedditMockOptions & { port?: number }): Promise<RunningRedditMock> {
  return serveMock(createRedditMock(opts), notFound, opts.port);
}
