// A local stand-in for Microsoft's UET Conversions API (`POST /v1/{tagId}/events`) that
// checks each request against the documented contract (shared/reference/destinations.md
// §5.5, Microsoft's CAPI guide) and answers the way Microsoft does:
// `{"eventsReceived":N,"error":{"code","message","details":[{index,propertyName,errorMessage,…}]},"traceId"}`.
// With `continueOnValidationError: true` valid events are taken and the invalid ones
// listed (HTTP 200); otherwise one invalid event refuses the request (HTTP 400).
import { randomUUID } from 'node:crypto';
import { isIP } from 'node:net';
import express, { type RequestHandler } from 'express';
import { isObject, isSha256Hex, isCurrencyCode } from './support/values.js';
import { bodyParseErrors, createScriptedLog, serveMock, type RunningMock, type PlatformMock } from './support/mock-server.js';

export type { ScriptedResponse } from './support/mock-server.js';

export interface MicrosoftReceivedBatch {
  tagId: string;
  /** The events Microsoft accepted; find one by `eventId`. */
  events: Record<string, unknown>[];
  /** Indexes (in the request) of the events refused. */
  refused: number[];
  continueOnValidationError?: boolean;
  dataProvider?: string;
  /** Unix ms. */
  receivedAt: number;
}

export interface MicrosoftMockOptions {
  /** The CAPI token the mock accepts. */
  accessToken: string;
  /** When set, the token belongs to this UET tag only (others: 403). */
  tagId?: string;
}

export interface MicrosoftMock extends PlatformMock<MicrosoftReceivedBatch> {}

const MAX_EVENTS = 1000;
const MAX_AGE_SEC = 7 * 24 * 60 * 60;
const MAX_FUTURE_SEC = 5 * 60;
const BODY_KEYS = new Set(['data', 'continueOnValidationError', 'dataProvider']);
const EVENT_KEYS = new Set([
  'eventType', 'eventId', 'eventName', 'eventTime', 'eventSourceUrl', 'pageLoadId', 'referrerUrl', 'pageTitle', 'keywords',
  'adStorageConsent', 'userData', 'customData',
]);
const USER_KEYS = new Set(['em', 'ph', 'clientIpAddress', 'clientUserAgent', 'anonymousId', 'externalId', 'msclkid', 'idfa', 'gaid']);
const IDENTIFIERS = ['em', 'ph', 'msclkid', 'externalId', 'anonymousId', 'idfa', 'gaid'];
const CUSTOM_KEYS = new Set([
  'eventCategory', 'eventLabel', 'eventValue', 'searchTerm', 'transactionId', 'value', 'currency', 'itemIds', 'pageType',
  'ecommTotalValue', 'ecommCategory', 'items', 'hotelData',
]);
const PAGE_TYPES = new Set(['home', 'searchresults', 'category', 'product', 'cart', 'purchase', 'other']);
const MSCLKID = /^[0-9a-f-]{32,36}$/i;

interface Detail {
  index: number;
  propertyName: string;
  errorMessage: string;
  errorCode: string;
}

function errorBody(eventsReceived: number, code: string, message: string, details: Detail[] = []): unknown {
  return { eventsReceived, error: { code, message, details }, traceId: randomUUID() };
}

/** A path the mock does not serve, answered in Microsoft's shape. */
const notFound: RequestHandler = (req, res) => {
  res.status(404).json(errorBody(0, 'NotFound', `No resource at ${req.method} ${req.path}`));
};

/** The first contract violation in one event, as a Microsoft error detail, if any. */
function checkEvent(ev: unknown, index: number, nowSec: number): Detail | undefined {
  const bad = (propertyName: string, errorMessage: string, errorCode = 'InvalidValue'): Detail => ({ index, propertyName, errorMessage, errorCode });
  if (!isObject(ev)) return bad('', 'Event must be an object');
  for (const key of Object.keys(ev)) if (!EVENT_KEYS.has(key)) return bad(key, 'Unknown property', 'UnknownProperty');
  if (ev.eventType !== 'pageLoad' && ev.eventType !== 'custom') return bad('eventType', 'eventType must be pageLoad or custom', 'Required');
  if (ev.eventId !== undefined && (typeof ev.eventId !== 'string' || ev.eventId === '')) return bad('eventId', 'eventId must be a non-empty string');
  if (ev.eventType === 'custom' && (typeof ev.eventName !== 'string' || ev.eventName === '')) {
    return bad('eventName', 'eventName is required for custom events', 'Required');
  }
  const t = ev.eventTime;
  if (typeof t !== 'number' || !Number.isInteger(t)) return bad('eventTime', 'eventTime must be a Unix timestamp in seconds', 'Required');
  if (t > nowSec + MAX_FUTURE_SEC) return bad('eventTime', 'eventTime is in the future (milliseconds instead of seconds?)');
  if (t < nowSec - MAX_AGE_SEC) return bad('eventTime', 'eventTime is more than 7 days in the past');
  if (ev.eventType === 'pageLoad' && (typeof ev.eventSourceUrl !== 'string' || ev.eventSourceUrl === '')) {
    return bad('eventSourceUrl', 'eventSourceUrl is required for pageLoad events', 'Required');
  }
  if (ev.adStorageConsent !== undefined && ev.adStorageConsent !== 'G' && ev.adStorageConsent !== 'D') {
    return bad('adStorageConsent', 'adStorageConsent must be G or D');
  }
  const ud = ev.userData;
  if (!isObject(ud)) return bad('userData', 'userData is required', 'Required');
  for (const key of Object.keys(ud)) if (!USER_KEYS.has(key)) return bad(`userData.${key}`, 'Unknown property', 'UnknownProperty');
  for (const key of ['em', 'ph']) {
    const v = ud[key];
    if (v !== undefined && !isSha256Hex(v)) return bad(`userData.${key}`, `${key} must be a lowercase hex SHA-256 hash`);
  }
  if (ud.msclkid !== undefined && (typeof ud.msclkid !== 'string' || !MSCLKID.test(ud.msclkid))) {
    return bad('userData.msclkid', 'msclkid must be a click id GUID');
  }
  if (ud.clientIpAddress !== undefined && (typeof ud.clientIpAddress !== 'string' || isIP(ud.clientIpAddress) === 0)) {
    return bad('userData.clientIpAddress', 'clientIpAddress must be an IPv4 or IPv6 address');
  }
  if (!IDENTIFIERS.some((k) => typeof ud[k] === 'string' && ud[k] !== '')) {
    return bad('userData', 'userData needs at least one identifier (em, ph, msclkid, externalId, anonymousId)', 'Required');
  }
  const cd = ev.customData;
  if (cd !== undefined) {
    if (!isObject(cd)) return bad('customData', 'customData must be an object');
    for (const key of Object.keys(cd)) if (!CUSTOM_KEYS.has(key)) return bad(`customData.${key}`, 'Unknown property', 'UnknownProperty');
    if (cd.value !== undefined && (typeof cd.value !== 'number' || !Number.isFinite(cd.value))) return bad('customData.value', 'value must be a number');
    if (cd.currency !== undefined && !isCurrencyCode(cd.currency)) {
      return bad('customData.currency', 'currency must be an ISO 4217 code');
    }
    if (cd.pageType !== undefined && (typeof cd.pageType !== 'string' || !PAGE_TYPES.has(cd.pageType))) {
      return bad('customData.pageType', `pageType must be one of ${[...PAGE_TYPES].join(', ')}`);
    }
    if (cd.itemIds !== undefined && (!Array.isArray(cd.itemIds) || !cd.itemIds.every((s) => typeof s === 'string'))) {
      return bad('customData.itemIds', 'itemIds must be an array of strings');
    }
    if (cd.items !== undefined) {
      if (!Array.isArray(cd.items)) return bad('customData.items', 'items must be an array');
      for (const [i, item] of cd.items.entries()) {
        if (!isObject(item) || typeof item.id !== 'string' || item.id === '') return bad(`customData.items[${i}].id`, 'id is required', 'Required');
      }
    }
  }
  const purchase = ev.eventName === 'purchase' || (isObject(cd) && cd.pageType === 'purchase');
  if (purchase && !(isObject(cd) && typeof cd.transactionId === 'string' && cd.transactionId !== '')) {
    return bad('customData.transactionId', 'transactionId is required for purchases', 'Required');
  }
  return undefined;
}

export function createMicrosoftMock(opts: MicrosoftMockOptions): MicrosoftMock {
  const log = createScriptedLog<MicrosoftReceivedBatch>();
  const { received } = log;
  const router = express.Router();

  router.use(express.json({ limit: '20mb' }));

  router.get('/_received', log.listReceived);

  router.post('/v1/:tagId/events', (req, res) => {
    if (log.answerScripted(res)) return;
    const fail = (status: number, code: string, message: string): void => {
      res.status(status).json(errorBody(0, code, message));
    };

    const auth = req.get('authorization');
    if (auth === undefined || !auth.startsWith('Bearer ') || auth.slice('Bearer '.length) !== opts.accessToken) {
      return fail(401, 'Unauthorized', 'The access token is missing or invalid.');
    }
    const tagId = String(req.params.tagId);
    if (opts.tagId !== undefined && tagId !== opts.tagId) return fail(403, 'Forbidden', `The access token is not valid for UET tag ${tagId}.`);
    if (!req.is('application/json')) return fail(400, 'InvalidRequest', 'Content-Type must be application/json');

    const body: unknown = req.body;
    if (!isObject(body)) return fail(400, 'InvalidRequest', 'The body must be a JSON object {"data":[…]}');
    for (const key of Object.keys(body)) if (!BODY_KEYS.has(key)) return fail(400, 'InvalidRequest', `Unknown request property ${key}`);
    const data = body.data;
    if (!Array.isArray(data) || data.length === 0) return fail(400, 'InvalidRequest', 'data must be a non-empty array of events');
    if (data.length > MAX_EVENTS) return fail(400, 'InvalidRequest', `data has ${data.length} events; at most ${MAX_EVENTS} per request`);
    const cove = body.continueOnValidationError;
    if (cove !== undefined && typeof cove !== 'boolean') return fail(400, 'InvalidRequest', 'continueOnValidationError must be a boolean');
    if (body.dataProvider !== undefined && typeof body.dataProvider !== 'string') return fail(400, 'InvalidRequest', 'dataProvider must be a string');

    const nowSec = Math.floor(Date.now() / 1000);
    const details: Detail[] = [];
    data.forEach((ev, i) => {
      const problem = checkEvent(ev, i, nowSec);
      if (problem) details.push(problem);
    });
    const refused = details.map((d) => d.index);
    if (details.length > 0 && cove !== true) {
      res.status(400).json(errorBody(0, 'ValidationError', `${details.length} of ${data.length} events failed validation; none were ingested`, details));
      return;
    }
    const accepted = data.filter((_ev, i) => !refused.includes(i)) as Record<string, unknown>[];
    received.push({
      tagId,
      events: accepted,
      refused,
      ...(cove !== undefined ? { continueOnValidationError: cove } : {}),
      ...(typeof body.dataProvider === 'string' ? { dataProvider: body.dataProvider } : {}),
      receivedAt: Date.now(),
    });
    if (details.length > 0) {
      res.status(200).json(errorBody(accepted.length, 'ValidationError', `${details.length} of ${data.length} events failed validation`, details));
      return;
    }
    res.status(200).json({ eventsReceived: accepted.length, traceId: randomUUID() });
  });

  // Body-parser failures (malformed JSON, too large) answered in Microsoft's shape.
  router.use(
    bodyParseErrors((res, status, message = 'unknown') => {
      res.status(status).json(errorBody(0, 'InvalidRequest', `The body could not be read: ${message}`));
    }),
  );

  return { router, received, script: log.script, reset: log.reset };
}

export interface RunningMicrosoftMock extends RunningMock<MicrosoftMock> {}

/** The mock as its own server on 127.0.0.1 (a random free port unless `port` is given). */
export async function startMicrosoftMock(opts: MicrosoftMockOptions & { port?: number }): Promise<RunningMicrosoftMock> {
  return serveMock(createMicrosoftMock(opts), notFound, opts.port);
}
