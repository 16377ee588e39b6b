// The notifier: turns delivery outcomes into signed POSTs to the merchant's own endpoints.
// Outcomes are queued in the store's notifications outbox (so a restart loses none), and a
// worker leases due ones, signs and sends them. A failed POST is retried immediately, then
// after 1 s, 5 s, 15 s and 60 s; after that it is dead (listed by `listNotifications`, shown
// in the dashboard, requeued with `requeueNotifications`).
import type { Sender } from '../dispatch/http-sender.js';
import { createHttpSender } from '../dispatch/http-sender.js';
import { createWakeableLoop } from '../dispatch/wakeable-loop.js';
import type { Logger } from '../log.js';
import type { DeliveryObserver } from '../metrics/delivery-observer.js';
import type { Metrics } from '../metrics/metrics.js';
import type { NotificationRecord, Store } from '../store/types.js';
import type { NotifySite, NotifyTarget } from './config.js';
import { planNotifications } from './plan-notifications.js';
import { SIGNATURE_HEADER, signPayload } from './signature.js';

export const IDEMPOTENCY_HEADER = 'X-Trakvo-Idempotency-Id';
export const KIND_HEADER = 'X-Trakvo-Event';
/** Delay before each retry: the 1st retry at once, then 1 s, 5 s, 15 s, 60 s; then dead. */
export const NOTIFY_RETRY_SCHEDULE_MS: readonly number[] = [0, 1000, 5000, 15_000, 60_000];

const MAX_ERROR_LENGTH = 500;

export interface NotifierOptions {
  store: Pick<Store, 'insertNotifications' | 'leaseDueNotifications' | 'markNotification'>;
  sites: readonly NotifySite[];
  /** HTTP client (tests); by default an undici pool with `timeoutMs`. */
  send?: Sender;
  logger: Logger;
  now?: () => number;
  retryScheduleMs?: readonly number[];
  /** Safety-net poll for due retries (default 500 ms); enqueues wake the worker at once. */
  pollMs?: number;
  leaseMs?: number;
  timeoutMs?: number;
  /** Notifications sent at the same time, at most. */
  batchSize?: number;
  metrics?: Pick<Metrics, 'webhookNotifications'>;
}

export interface Notifier {
  /** Give it to the dispatcher (with the metrics observer: `observeAll`). */
  observer: DeliveryObserver;
  start(): void;
  stop(): Promise<void>;
  /** Something was queued: look for due notifications now. */
  wake(): void;
  /** Sends until nothing is due at `now()` (tests, CLI). */
  drain(): Promise<void>;
  readonly running: boolean;
}

type Attempt = { ok: true; status: number } | { ok: false; status: number | null; error: string };

function snippet(body: string): string {
  const s = body.replace(/\s+/g, ' ').trim();
  return s.length > 200 ? `${s.slice(0, 200)}…` : s;
}

function originOf(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return '(invalid url)';
  }
}

export function createNotifier(opts: NotifierOptions): Notifier {
  const now = opts.now ?? Date.now;
  const schedule = opts.retryScheduleMs ?? NOTIFY_RETRY_SCHEDULE_MS;
  const pollMs = opts.pollMs ?? 500;
  const leaseMs = opts.leaseMs ?? 30_000;
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const batchSize = opts.batchSize ?? 20;
  const { store, logger } = opts;
  const sites = new Map(opts.sites.map((s) => [s.id, s]));
  const ownSender = opts.send ? undefined : createHttpSender({ timeoutMs });
  const send: Sender = opts.send ?? ownSender!.send;
  const log = logger.child({ component: 'notify' });

  let started = false;
  let timer: NodeJS.Timeout | undefined;

  function targetOf(n: NotificationRecord): NotifyTarget | undefined {
    return sites.get(n.site_id)?.notify?.find((t) => t.url === n.url);
  }

  async function post(n: NotificationRecord, target: NotifyTarget): Promise<Attempt> {
    try {
      const res = await send({
        method: 'POST',
        url: n.url,
        headers: {
          'content-type': 'application/json',
          'user-agent': 'trakvo-notify',
          [SIGNATURE_HEADER]: signPayload(target.secret, n.body, Math.floor(now() / 1000)),
          [IDEMPOTENCY_HEADER]: n.idempotency_id,
          [KIND_HEADER]: n.kind,
        },
        body: n.body,
        eventIds: [],
      });
      if (res.status >= 200 && res.status < 300) return { ok: true, status: res.status };
      return { ok: false, status: res.status, error: `HTTP ${res.status}${res.body ? `: ${snippet(res.body)}` : ''}` };
    } catch (err) {
      return { ok: false, status: null, error: `network: ${(err as Error).message}` };
    }
  }

  async function deliver(n: NotificationRecord): Promise<void> {
    const target = targetOf(n);
    if (!target) {
      await store.markNotification(n.id, { status: 'dead', httpStatus: null, error: 'no notify target with this url in the site config any more' }, now());
      opts.metrics?.webhookNotifications.inc({ outcome: 'dead' });
      return;
    }
    const result = await post(n, target);
    if (result.ok) {
      await store.markNotification(n.id, { status: 'delivered', httpStatus: result.status }, now());
      opts.metrics?.webhookNotifications.inc({ outcome: 'delivered' });
      return;
    }
    // n.attempts counts earlier attempts; this one failed, so it is attempt n.attempts + 1.
    const delay = schedule[n.attempts];
    const error = result.error.slice(0, MAX_ERROR_LENGTH);
    if (delay === undefined) {
      await store.markNotification(n.id, { status: 'dead', httpStatus: result.status, error }, now());
      opts.metrics?.webhookNotifications.inc({ outcome: 'dead' });
      log.warn({ site: n.site_id, kind: n.kind, notification: n.id, to: originOf(n.url), attempts: n.attempts + 1, error }, 'notification dead after retries');
    } else {
      await store.markNotification(n.id, { status: 'retry', retryAt: now() + delay, httpStatus: result.status, error }, now());
      opts.metrics?.webhookNotifications.inc({ outcome: 'retry' });
    }
  }

  async function processBatch(): Promise<number> {
    const due = await store.leaseDueNotifications({ limit: batchSize, leaseMs, now: now() });
    await Promise.all(due.map((n) => deliver(n)));
    return due.length;
  }

  // Immediate retries are due at once, so a run keeps going through them.
  const { kick, idle } = createWakeableLoop({
    processBatch,
    isRunning: () => started,
    onError: (err) => log.error({ err }, 'notify worker error'),
  });

  const observer: DeliveryObserver = {
    async onOutcome(outcome) {
      const site = sites.get(outcome.site_id);
      if (!site?.notify?.length) return;
      try {
        const items = planNotifications(outcome, site, now());
        if (!items.length) return;
        await store.insertNotifications(items, now());
        if (started) void kick();
      } catch (err) {
        log.error({ err, site: outcome.site_id, destination: outcome.destination }, 'could not queue notifications');
      }
    },
  };

  return {
    observer,
    get running() {
      return started;
    },
    start() {
      if (started) return;
      started = true;
      timer = setInterval(() => void kick(), pollMs);
      timer.unref();
      void kick();
    },
    async stop() {
      started = false;
      if (timer) clearInterval(timer);
      await idle();
      await ownSender?.close();
    },
    wake() {
      if (started) void kick();
    },
    async drain() {
      const wasStarted = started;
      started = true;
      try {
        await kick();
        await idle();
      } finally {
        started = wasStarted;
      }
    },
  };
}
