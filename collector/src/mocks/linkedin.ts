// A local stand-in for LinkedIn's Conversions API (`POST /rest/conversionEvents`) that
// checks each request against the documented contract (shared/reference/destinations.md
// §5.4, LinkedIn's Conversions API docs) and answers the way LinkedIn does: whole-request
// errors as `{"status","serviceErrorCode","code","message"}`, and for BATCH_CREATE one
// status per element (`{"elements":[{"status":201},{"status":400,"error":{…}}]}`), so a
// wrong payload fails a test.
import express, { type RequestHandler } from 'express';
import { isObject, isSha256Hex, isCurrencyCode, isDecimalString } from './support/values.js';
import { bodyParseErrors, createScriptedLog, serveMock, type RunningMock, type PlatformMock } from './support/mock-server.js';

export type { ScriptedResponse } from './support/mock-server.js';

export interface LinkedinReceivedRequest {
  /** The `LinkedIn-Version` header. */
  version: string;
  /** BATCH_CREATE (`{"elements":[…]}`) or a single CREATE. */
  method: 'BATCH_CREATE' | 'CREATE';
  /** The conversion events LinkedIn accepted; find one by `eventId`. */
  events: Record<string, unknown>[];
  /** How many elements of the request were refused. */
  rejected: number;
  /** Unix ms. */
  receivedAt: number;
}

export interface LinkedinMockOptions {
  /** The OAuth access token the mock accepts. */
  accessToken: string;
  /** When set, the only conversion rule URNs that exist (others: element 404). */
  conversions?: string[];
}

export interface LinkedinMock extends PlatformMock<LinkedinReceivedRequest> {}

const MAX_ELEMENTS = 5000;
const MAX_AGE_MS = 90 * 24 * 60 * 60 * 1000;
const MAX_FUTURE_MS = 5 * 60 * 1000;
const URN = /^urn:lla:llaPartnerConversion:\d+$/;
const ID_TYPES = new Set([
  'SHA256_EMAIL', 'LINKEDIN_FIRST_PARTY_ADS_TRACKING_UUID', 'ACXIOM_ID', 'ORACLE_MOAT_ID',
]);
const ELEMENT_KEYS = new Set(['conversion', 'conversionHappenedAt', 'conversionValue', 'eventId', 'user']);

interface LinkedinError {
  status: number;
  serviceErrorCode: number;
  code: string;
  message: string;
}

function error(status: number, code: string, message: string, serviceErrorCode = 100): LinkedinError {
  return { status, serviceErrorCode, code, message };
}

/** A path the mock does not serve, answered in LinkedIn's shape. */
const notFound: RequestHandler = (req, res) => {
  res.status(404).json(error(404, 'NOT_FOUND', `No resource at ${req.method} ${req.path}`));
};

/** The first contract violation in one conversion event, as LinkedIn's error, if any. */
function checkElement(el: unknown, at: string, nowMs: number, rules: Set<string> | undefined): LinkedinError | undefined {
  const invalid = (message: string): LinkedinError => error(400, 'INVALID_FIELD_VALUE', `${at}${message}`);
  if (!isObject(el)) return invalid(' must be an object');
  for (const key of Object.keys(el)) if (!ELEMENT_KEYS.has(key)) return error(422, 'UNRECOGNIZED_FIELD', `${at}.${key} is not a field of a conversion event`);
  if (typeof el.conversion !== 'string' || !URN.test(el.conversion)) {
    return invalid('.conversion must be a conversion rule URN (urn:lla:llaPartnerConversion:<id>)');
  }
  if (rules && !rules.has(el.conversion)) return error(404, 'NOT_FOUND', `${at}.conversion ${el.conversion} does not exist`);
  const t = el.conversionHappenedAt;
  if (typeof t !== 'number' || !Number.isInteger(t)) return invalid('.conversionHappenedAt must be epoch milliseconds (an integer)');
  if (t < 1e12) return invalid('.conversionHappenedAt looks like seconds; LinkedIn takes epoch milliseconds');
  if (t > nowMs + MAX_FUTURE_MS) return invalid('.conversionHappenedAt is in the future');
  if (t < nowMs - MAX_AGE_MS) return invalid('.conversionHappenedAt is more than 90 days old');
  if (el.eventId !== undefined && (typeof el.eventId !== 'string' || el.eventId === '')) return invalid('.eventId must be a non-empty string');
  const value = el.conversionValue;
  if (value !== undefined) {
    if (!isObject(value)) return invalid('.conversionValue must be an object');
    if (!isCurrencyCode(value.currencyCode)) {
      return invalid('.conversionValue.currencyCode must be an ISO 4217 code');
    }
    if (!isDecimalString(value.amount)) {
      return invalid('.conversionValue.amount must be a decimal string like "50.0"');
    }
  }
  const user = el.user;
  if (!isObject(user)) return invalid('.user is required');
  const ids = user.userIds;
  if (!Array.isArray(ids) || ids.length === 0) return invalid('.user.userIds must hold at least one user id');
  for (const [i, id] of ids.entries()) {
    const where = `.user.userIds[${i}]`;
    if (!isObject(id) || typeof id.idType !== 'string' || !ID_TYPES.has(id.idType)) {
      return invalid(`${where}.idType must be one of ${[...ID_TYPES].join(', ')}`);
    }
    if (typeof id.idValue !== 'string' || id.idValue === '') return invalid(`${where}.idValue is required`);
    if (id.idType === 'SHA256_EMAIL' && !isSha256Hex(id.idValue)) {
      return invalid(`${where}.idValue must be the lowercase hex SHA-256 of the email`);
    }
  }
  if (user.userInfo !== undefined) {
    const info = user.userInfo;
    if (!isObject(info) || typeof info.firstName !== 'string' || typeof info.lastName !== 'string') {
      return invalid('.user.userInfo needs firstName and lastName');
    }
  }
  return undefined;
}

export function createLinkedinMock(opts: LinkedinMockOptions): LinkedinMock {
  const log = createScriptedLog<LinkedinReceivedRequest>();
  const { received } = log;
  const rules = opts.conversions ? new Set(opts.conversions) : undefined;
  const router = express.Router();

  router.use(express.json({ limit: '20mb' }));

  router.get('/_received', log.listReceived);

  router.post('/rest/conversionEvents', (req, res) => {
    if (log.answerScripted(res)) return;
    const fail = (e: LinkedinError): void => {
      res.status(e.status).json(e);
    };

    const auth = req.get('authorization');
    if (auth === undefined || !auth.startsWith('Bearer ')) return fail(error(401, 'EMPTY_ACCESS_TOKEN', 'Empty oauth2 access token', 65601));
    if (auth.slice('Bearer '.length) !== opts.accessToken) return fail(error(401, 'INVALID_ACCESS_TOKEN', 'Invalid access token', 65600));
    const version = req.get('linkedin-version');
    if (version === undefined) {
      return fail(error(400, 'VERSION_MISSING', 'A version must be present. Please specify a version by adding the LinkedIn-Version header.'));
    }
    if (!/^\d{6}(\.\d{2})?$/.test(version)) return fail(error(426, 'NONEXISTENT_VERSION', `Requested version ${version} is not active`));
    if (req.get('x-restli-protocol-version') !== '2.0.0') {
      return fail(error(400, 'INVALID_PROTOCOL_VERSION', 'X-Restli-Protocol-Version: 2.0.0 is required'));
    }
    if (!req.is('application/json')) return fail(error(415, 'UNSUPPORTED_MEDIA_TYPE', 'Content-Type must be application/json'));

    const method = req.get('x-restli-method')?.toUpperCase();
    const nowMs = Date.now();
    const body: unknown = req.body;

    if (method === undefined || method === 'CREATE') {
      // A single create: the body is one conversion event; 201 with no body.
      const problem = checkElement(body, 'body', nowMs, rules);
      if (problem) return fail(problem);
      received.push({ version, method: 'CREATE', events: [body as Record<string, unknown>], rejected: 0, receivedAt: Date.now() });
      res.status(201).end();
      return;
    }
    if (method !== 'BATCH_CREATE') return fail(error(400, 'INVALID_METHOD', `X-RestLi-Method ${method} is not supported here`));
    if (!isObject(body) || !Array.isArray(body.elements)) return fail(error(400, 'INVALID_REQUEST', 'BATCH_CREATE needs a body {"elements":[…]}'));
    const elements = body.elements;
    if (elements.length === 0) return fail(error(400, 'INVALID_REQUEST', 'elements must not be empty'));
    if (elements.length > MAX_ELEMENTS) {
      return fail(error(400, 'INVALID_REQUEST', `elements has ${elements.length} conversion events; at most ${MAX_ELEMENTS} per batch`));
    }

    const accepted: Record<string, unknown>[] = [];
    const statuses = elements.map((el, i) => {
      const problem = checkElement(el, `elements[${i}]`, nowMs, rules);
      if (problem) return { status: problem.status, error: problem };
      accepted.push(el as Record<string, unknown>);
      return { status: 201 };
    });
    received.push({ version, method: 'BATCH_CREATE', events: accepted, rejected: elements.length - accepted.length, receivedAt: Date.now() });
    res.status(200).json({ elements: statuses });
  });

  // Body-parser failures (malformed JSON, too large) answered in LinkedIn's shape.
  router.use(
    bodyParseErrors((res, status, message = 'unknown') => {
      res.status(status).json(error(status, 'INVALID_REQUEST', `could not read the body: ${message}`));
    }),
  );

  return { router, received, script: log.script, reset: log.reset };
}

export interface RunningLinkedinMock extends RunningMock<LinkedinMock> {}

/** The mock as its own server on 127.0.0.1 (a random free port unless `port` is given). */
export async function startLinkedinMock(opts: LinkedinMockOptions & { port?: number }): Promise<RunningLinkedinMock> {
  return serveMock(createLinkedinMock(opts), notFound, opts.port);
}
