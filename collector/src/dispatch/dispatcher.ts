// The dispatcher: the only place that knows about retries. One worker per configured
// destination of each site, so a slow or failing platform never delays another. Woken on
// insert, with a poll as safety net; leases due deliveries, maps them with the pure
// destination, sends, classifies, and records the outcome in the store.
import type { DestinationEntry, SiteConfig } from '../config/schema.js';
import { destinationFor } from '../destinations/registry.js';
import type { Destination, DestinationRequest, Outcome } from '../destinations/types.js';
import type { Logger } from '../log.js';
import type { DeliveryObserver, DeliveryOutcomeKind } from '../metrics/delivery-observer.js';
import type { AttemptInfo, LeasedDelivery, Store } from '../store/types.js';
import { DEFAULT_BACKOFF, retryDelayMs, type BackoffPolicy } from './backoff.js';
import type { Sender } from './http-sender.js';
import { createWakeableLoop } from './wakeable-loop.js';

export interface DispatcherOptions {
  store: Store;
  sites: SiteConfig[];
  send: Sender;
  logger: Logger;
  pollMs: number;
  leaseMs: number;
  /** A delivery still failing this long after the event arrived is dead-lettered. */
  maxRetryMs: number;
  /** How long a destination whose credentials were rejected is paused. */
  authPauseMs?: number;
  backoff?: BackoffPolicy;
  now?: () => number;
  random?: () => number;
  /** Told every outcome (metrics, notifications); never changes what happens. */
  observer?: DeliveryObserver;
}

export interface Dispatcher {
  start(): void;
  stop(): Promise<void>;
  /** Something was committed: look for due deliveries now. */
  wake(): void;
  /** Runs every worker until nothing is due (tests, CLI replay). */
  drain(): Promise<void>;
  readonly running: boolean;
}

const MAX_ERROR_LENGTH = 1000;
/** The platform's answer kept in the attempt log. */
const MAX_RESPONSE_LENGTH = 2048;
type AttemptLog = Pick<AttemptInfo, 'durationMs' | 'response'>;

export function createDispatcher(opts: DispatcherOptions): Dispatcher {
  const now = opts.now ?? Date.now;
  const random = opts.random ?? Math.random;
  const backoff = opts.backoff ?? DEFAULT_BACKOFF;
  const authPauseMs = opts.authPauseMs ?? 5 * 60_000;
  const { store, logger } = opts;

  const workers = opts.sites.flatMap((site) =>
    site.destinations.filter((d) => d.enabled).map((entry) => createWorker(site, entry, destinationFor(entry.type))),
  );
  let timer: NodeJS.Timeout | undefined;
  let started = false;
  let lastScrub = 0;

  function createWorker(site: SiteConfig, entry: DestinationEntry, destination: Destination) {
    let pausedUntil = 0;
    const log = logger.child({ site: site.id, destination: entry.id });

    async function report(outcome: DeliveryOutcomeKind, batch: LeasedDelivery[], httpStatus: number | null, attemptLog: AttemptLog, error?: string): Promise<void> {
      if (!opts.observer || !batch.length) return;
      await opts.observer.onOutcome({
        site_id: site.id, destination: entry.id, destinationType: entry.type, outcome,
        events: batch.map((l) => l.event), httpStatus, durationMs: attemptLog.durationMs, error,
      });
    }

    async function attempt(req: DestinationRequest): Promise<{ outcome: Outcome; httpStatus: number | null; log: AttemptLog }> {
      const sentAt = performance.now();
      try {
        const res = await opts.send(req);
        const answer = { durationMs: performance.now() - sentAt, response: res.body.slice(0, MAX_RESPONSE_LENGTH) };
        return { outcome: destination.classify(res), httpStatus: res.status, log: answer };
      } catch (err) {
        // No answer (timeout, refused, reset): the platform never saw a verdict, try again.
        return { outcome: { kind: 'retry', reason: `network: ${(err as Error).message}` }, httpStatus: null, log: { durationMs: performance.now() - sentAt } };
      }
    }

    async function retryLater(leased: LeasedDelivery[], reason: string, httpStatus: number | null, afterMs?: number, attemptLog: AttemptLog = {}) {
      const t = now();
      const attempts = Math.max(...leased.map((l) => l.attempts)) + 1;
      const retryAt = t + retryDelayMs(attempts, afterMs, backoff, random);
      const info = { httpStatus, error: reason.slice(0, MAX_ERROR_LENGTH), ...attemptLog };
      const expired = leased.filter((l) => retryAt > l.retry_window_start + opts.maxRetryMs);
      const keep = leased.filter((l) => !expired.includes(l));
      if (keep.length) {
        await store.markRetry(keep.map((l) => l.delivery_id), retryAt, info, t);
        await report('retry', keep, httpStatus, attemptLog, info.error);
      }
      if (expired.length) {
        const gaveUp = { httpStatus, error: `gave up retrying after ${attempts} attempts: ${reason}`.slice(0, MAX_ERROR_LENGTH), ...attemptLog };
        await store.markDead(expired.map((l) => l.delivery_id), gaveUp, t);
        // Same request: its latency was already reported with the kept ones, if any.
        await report('dead', expired, httpStatus, keep.length ? {} : attemptLog, gaveUp.error);
        log.warn({ events: expired.length, reason }, 'deliveries dead after retry window');
      }
    }

    /** Maps and sends events; a rejected batch is split until the bad event is isolated. */
    async function sendEvents(leased: LeasedDelivery[]): Promise<void> {
      if (!leased.length) return;
      const byId = new Map(leased.map((l) => [l.event.event_id, l]));
      const { requests, skipped } = destination.map(
        leased.map((l) => l.event),
        entry.config,
        new Date(now()),
      );
      for (const s of skipped) {
        const l = byId.get(s.eventId);
        if (l) await store.markSkipped([l.delivery_id], s.reason, now());
      }
      for (const req of requests) {
        const batch = req.eventIds.map((id) => byId.get(id)).filter((l): l is LeasedDelivery => !!l);
        if (now() < pausedUntil) {
          await store.markRetry(batch.map((l) => l.delivery_id), pausedUntil, { httpStatus: null, error: 'destination paused after auth failure' }, now());
          continue;
        }
        const { outcome, httpStatus, log: attemptLog } = await attempt(req);
        const ids = batch.map((l) => l.delivery_id);
        switch (outcome.kind) {
          case 'delivered':
            await store.markDelivered(ids, { httpStatus, ...attemptLog }, now());
            await report('delivered', batch, httpStatus, attemptLog);
            break;
          case 'retry':
            await retryLater(batch, outcome.reason, httpStatus, outcome.afterMs, attemptLog);
            break;
          case 'dead':
            if (batch.length > 1) {
              // The platform rejects a whole batch for one bad event: find it, spare the rest.
              const half = Math.ceil(batch.length / 2);
              await sendEvents(batch.slice(0, half));
              await sendEvents(batch.slice(half));
            } else {
              await store.markDead(ids, { httpStatus, error: outcome.reason.slice(0, MAX_ERROR_LENGTH), ...attemptLog }, now());
              await report('dead', batch, httpStatus, attemptLog, outcome.reason.slice(0, MAX_ERROR_LENGTH));
              log.warn({ event_id: batch[0]?.event.event_id, reason: outcome.reason }, 'delivery dead-lettered');
            }
            break;
          case 'auth':
            pausedUntil = now() + authPauseMs;
            log.error({ reason: outcome.reason, pausedMs: authPauseMs }, 'destination credentials rejected; paused, events kept');
            await store.markRetry(ids, pausedUntil, { httpStatus, error: `auth: ${outcome.reason}`.slice(0, MAX_ERROR_LENGTH), outcome: 'auth', ...attemptLog }, now());
            await report('auth', batch, httpStatus, attemptLog, `auth: ${outcome.reason}`.slice(0, MAX_ERROR_LENGTH));
            break;
        }
      }
    }

    async function processBatch(): Promise<number> {
      const t = now();
      if (t < pausedUntil) return 0;
      const leased = await store.leaseDueDeliveries({
        site_id: site.id,
        destination: entry.id,
        limit: destination.maxBatch,
        leaseMs: opts.leaseMs,
        now: t,
      });
      if (!leased.length) return 0;
      const maxAge = destination.maxEventAgeSec;
      const tooOld = leased.filter((l) => t / 1000 - l.event.event_time > maxAge);
      if (tooOld.length) {
        const error = `event older than ${Math.round(maxAge / 86400)} days: ${destination.type} rejects it`;
        await store.markDead(tooOld.map((l) => l.delivery_id), { httpStatus: null, error }, t);
        await report('dead', tooOld, null, {}, error);
      }
      await sendEvents(leased.filter((l) => !tooOld.includes(l)));
      return leased.length;
    }

    return createWakeableLoop({
      processBatch,
      isRunning: () => started,
      onError: (err) => log.error({ err }, 'dispatch worker error'),
    });
  }

  async function tick(): Promise<void> {
    await Promise.all(workers.map((w) => w.kick()));
    if (now() - lastScrub > 30_000) {
      lastScrub = now();
      await store.scrubFinishedEvents().catch((err: unknown) => logger.error({ err }, 'scrub failed'));
    }
  }

  return {
    get running() {
      return started;
    },
    start() {
      if (started) return;
      started = true;
      timer = setInterval(() => void tick(), opts.pollMs);
      timer.unref();
      void tick();
    },
    async stop() {
      started = false;
      if (timer) clearInterval(timer);
      await Promise.all(workers.map((w) => w.idle()));
    },
    wake() {
      if (started) for (const w of workers) void w.kick();
    },
    async drain() {
      const wasStarted = started;
      started = true;
      try {
        await Promise.all(workers.map((w) => w.kick()));
        await Promise.all(workers.map((w) => w.idle()));
      } finally {
        started = wasStarted;
      }
    },
  };
}
