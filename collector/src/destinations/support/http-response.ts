// Reading a platform's HTTP answer: the generic half of every destination's `classify`.
// What a platform's body, error codes and headers mean stays in its own file; here is only
// what any HTTP answer means (headers, JSON, `Retry-After`, the status when nothing else
// tells).
import type { DestinationResponse, Outcome } from '../types.js';

type Headers = DestinationResponse['headers'];

/** A response header by name, whatever its case. */
export function header(headers: Headers, name: string): string | undefined {
  const wanted = name.toLowerCase();
  for (const [k, v] of Object.entries(headers)) if (k.toLowerCase() === wanted) return v;
  return undefined;
}

/** The body as JSON, or undefined when it is not JSON. */
export function parseJson(body: string): unknown {
  try {
    return JSON.parse(body);
  } catch {
    return undefined;
  }
}

/** A JSON object (not an array, not null). */
export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The body when it is a JSON object, else undefined. */
export function parseJsonObject(body: string): Record<string, unknown> | undefined {
  const json = parseJson(body);
  return isObject(json) ? json : undefined;
}

/**
 * How long `Retry-After` asks to wait, in ms: seconds, or an HTTP date measured against the
 * response's own `Date` header when present (so clock skew between us and the platform does
 * not distort the wait). Undefined when absent or unreadable.
 */
export function retryAfterMs(headers: Headers): number | undefined {
  const value = header(headers, 'retry-after')?.trim();
  if (!value) return undefined;
  if (/^\d+(\.\d+)?$/.test(value)) return Math.round(Number(value) * 1000);
  const at = Date.parse(value);
  if (Number.isNaN(at)) return undefined;
  const serverNow = Date.parse(header(headers, 'date') ?? '');
  return Math.max(0, at - (Number.isNaN(serverNow) ? Date.now() : serverNow));
}

/** A body on one line and at most 200 characters, for a reason. */
export function snippet(body: string): string {
  const s = body.replace(/\s+/g, ' ').trim();
  return s.length > 200 ? `${s.slice(0, 200)}…` : s;
}

/** `<platform> HTTP <status>: <body snippet>` (no platform: `HTTP <status>…`; no body: no snippet). */
export function statusReason(status: number, body: string, platform?: string): string {
  const head = platform === undefined ? `HTTP ${status}` : `${platform} HTTP ${status}`;
  return body ? `${head}: ${snippet(body)}` : head;
}

export function isSuccess(status: number): boolean {
  return status >= 200 && status < 300;
}

/** 401/403: the credentials were refused. */
export function isAuthStatus(status: number): boolean {
  return status === 401 || status === 403;
}

/** 408, 429 and 5xx: worth trying again later. */
export function isTransientStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

/** Try again later, after `afterMs` when the platform said how long. */
export function retry(reason: string, afterMs: number | undefined): Outcome {
  return afterMs === undefined ? { kind: 'retry', reason } : { kind: 'retry', reason, afterMs };
}

/**
 * What a non-2xx status means when the platform's answer says nothing more: 401/403 auth,
 * 408/429/5xx retry, any other 4xx dead (the events themselves are wrong). `otherwise` is
 * the fate of a status that is none of these (a 3xx from a proxy): dead unless told.
 */
export function outcomeOfStatus(
  status: number,
  reason: string,
  afterMs: number | undefined,
  { otherwise = 'dead' }: { otherwise?: 'dead' | 'retry' } = {},
): Outcome {
  if (isAuthStatus(status)) return { kind: 'auth', reason };
  if (isTransientStatus(status)) return retry(reason, afterMs);
  if ((status >= 400 && status < 500) || otherwise === 'dead') return { kind: 'dead', reason };
  return retry(reason, afterMs);
}
