// The Node SDK of the server API: `import { Trakvo } from 'trakvo/client'`.
//
//   const trakvo = new Trakvo({ baseUrl: 'https://shop.com/t', token: process.env.TRAKVO_TOKEN! });
//   await trakvo.track({ event: 'Purchase', order_id: '1001', value: 99.9, currency: 'BRL',
//                        user: { email: 'jane@example.com' }, visitor_id });
//
// Retries 429, 5xx and network errors (honouring Retry-After, else exponential backoff with
// full jitter); never retries other 4xx. Events without an event_id get one here, before the
// first attempt, so a retry can never count an event twice. Types come from the same schemas
// the collector validates with; only types are imported, so no server code is loaded.
import type {
  ApiErrorBody,
  BatchResponse,
  BatchResult,
  EventStatusResponse,
  FieldError,
  ServerEvent,
  TrackResponse,
} from '../api/schemas.js';

export type { ApiErrorBody, BatchResponse, BatchResult, EventStatusResponse, FieldError, ServerEvent, TrackResponse };

export interface TrakvoOptions {
  /** Where the collector is mounted, e.g. `https://shop.com/t`. */
  baseUrl: string;
  /** An API token from `trakvo tokens create`. */
  token: string;
  /** A fetch implementation (default: the global one). */
  fetch?: typeof fetch;
  /** Retries after the first attempt (default 3). */
  maxRetries?: number;
  /** Timeout of one attempt, ms (default 10 000). */
  timeoutMs?: number;
  /** First backoff step, ms (default 500); doubles each retry, with full jitter. */
  retryBaseMs?: number;
  /** Longest wait between attempts, ms (default 30 000). A longer Retry-After is not waited for. */
  maxRetryDelayMs?: number;
}

/** A non-2xx answer: `status`, and the API's `{ error: { code, message, fields? } }` body. */
export class TrakvoError extends Error {
  readonly status: number;
  readonly code: string;
  readonly fields: FieldError[] | undefined;
  readonly body: ApiErrorBody | undefined;
  /** Seconds the server asked to wait (429/503). */
  readonly retryAfterSec: number | undefined;

  constructor(status: number, body: ApiErrorBody | undefined, retryAfterSec?: number) {
    const code = body?.error.code ?? `http_${status}`;
    super(body ? `${status} ${code}: ${body.error.message}${fieldSummary(body.error.fields)}` : `HTTP ${status}`);
    this.name = 'TrakvoError';
    this.status = status;
    this.code = code;
    this.fields = body?.error.fields;
    this.body = body;
    this.retryAfterSec = retryAfterSec;
  }
}

function fieldSummary(fields: FieldError[] | undefined): string {
  return fields?.length ? ` (${fields.map((f) => `${f.field}: ${f.message}`).join('; ')})` : '';
}

const ORDER_BOUND = new Set(['Purchase', 'Refund']);

/** An event_id now, unless the collector derives it from the order (dedup with the browser). */
function withEventId(event: ServerEvent): ServerEvent {
  if (event.event_id !== undefined) return event;
  if (ORDER_BOUND.has(event.event) && event.order_id !== undefined && event.order_id !== '') return event;
  return { ...event, event_id: globalThis.crypto.randomUUID() };
}

/** Retry-After as seconds (delta or HTTP date), or undefined. */
function retryAfterSeconds(header: string | null, now: number): number | undefined {
  if (!header) return undefined;
  if (/^\d+$/.test(header.trim())) return Number(header.trim());
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, Math.ceil((at - now) / 1000));
}

function isErrorBody(v: unknown): v is ApiErrorBody {
  const e = (v as { error?: { code?: unknown; message?: unknown } } | null)?.error;
  return typeof e?.code === 'string' && typeof e.message === 'string';
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class Trakvo {
  readonly #baseUrl: string;
  readonly #token: string;
  readonly #fetch: typeof fetch;
  readonly #maxRetries: number;
  readonly #timeoutMs: number;
  readonly #retryBaseMs: number;
  readonly #maxRetryDelayMs: number;

  constructor(opts: TrakvoOptions) {
    if (!opts.baseUrl) throw new TypeError('Trakvo: baseUrl is required');
    if (!opts.token) throw new TypeError('Trakvo: token is required');
    this.#baseUrl = opts.baseUrl.replace(/\/+$/, '');
    this.#token = opts.token;
    this.#fetch = opts.fetch ?? globalThis.fetch;
    this.#maxRetries = Math.max(0, Math.floor(opts.maxRetries ?? 3));
    this.#timeoutMs = opts.timeoutMs ?? 10_000;
    this.#retryBaseMs = opts.retryBaseMs ?? 500;
    this.#maxRetryDelayMs = opts.maxRetryDelayMs ?? 30_000;
  }

  /** Sends one event; resolves once the collector has stored it. */
  track(event: ServerEvent): Promise<TrackResponse> {
    return this.#request<TrackResponse>('POST', '/v1/events', withEventId(event));
  }

  /** Sends up to 100 events; each result says accepted (with its event_id) or rejected (with why). */
  trackBatch(events: ServerEvent[]): Promise<BatchResponse> {
    return this.#request<BatchResponse>('POST', '/v1/events/batch', { events: events.map(withEventId) });
  }

  /** Delivery status per destination, or null when the collector has no such event. */
  async getEvent(eventId: string): Promise<EventStatusResponse | null> {
    try {
      return await this.#request<EventStatusResponse>('GET', `/v1/events/${encodeURIComponent(eventId)}`);
    } catch (err) {
      if (err instanceof TrakvoError && err.status === 404) return null;
      throw err;
    }
  }

  async #request<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    for (let attempt = 0; ; attempt++) {
      const retriesLeft = attempt < this.#maxRetries;
      let res: globalThis.Response;
      try {
        res = await this.#fetch(`${this.#baseUrl}${path}`, {
          method,
          headers: {
            authorization: `Bearer ${this.#token}`,
            accept: 'application/json',
            ...(payload !== undefined ? { 'content-type': 'application/json' } : {}),
          },
          body: payload,
          signal: AbortSignal.timeout(this.#timeoutMs),
        });
      } catch (err) {
        // No answer (refused, reset, timeout): the request may not have arrived; retrying is
        // safe because every event carries its event_id.
        if (!retriesLeft) throw err;
        await sleep(this.#backoff(attempt));
        continue;
      }
      if (res.ok) return (await res.json()) as T;

      const text = await res.text();
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = undefined;
      }
      const retryAfter = retryAfterSeconds(res.headers.get('retry-after'), Date.now());
      const error = new TrakvoError(res.status, isErrorBody(parsed) ? parsed : undefined, retryAfter);
      const retryable = res.status === 429 || res.status >= 500;
      if (!retryable || !retriesLeft) throw error;
      const backoff = this.#backoff(attempt);
      const wait = retryAfter === undefined ? backoff : Math.max(retryAfter * 1000, backoff);
      if (wait > this.#maxRetryDelayMs) throw error;
      await sleep(wait);
    }
  }

  /** Full jitter: a random wait in [0, min(cap, base·2^attempt)). */
  #backoff(attempt: number): number {
    return Math.random() * Math.min(this.#maxRetryDelayMs, this.#retryBaseMs * 2 ** attempt);
  }
}
