// Operational endpoints: `/healthz` (the process is up), `/readyz` (it can do its job:
// store reachable, dispatcher running) and `/metrics` (Prometheus exposition).
import express, { type Router } from 'express';
import type { CollectorContext } from '../http/collector-context.js';
import type { Metrics } from './metrics.js';

export interface HealthOptions {
  /**
   * Whether /readyz needs the in-process dispatcher (default true). Turn off for a
   * collector that only accepts events while separate workers deliver them.
   */
  requireDispatcher?: boolean;
  /** How long the store may take to answer a ping before it counts as unreachable. */
  pingTimeoutMs?: number;
}

type CheckResult = 'ok' | string;

async function within<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export function healthRouter(ctx: Pick<CollectorContext, 'store' | 'dispatcher'>, opts: HealthOptions = {}): Router {
  const requireDispatcher = opts.requireDispatcher ?? true;
  const pingTimeoutMs = opts.pingTimeoutMs ?? 2000;
  const router = express.Router();
  router.get('/healthz', (_req, res) => {
    res.set('Cache-Control', 'no-store').json({ status: 'ok' });
  });
  router.get('/readyz', async (_req, res) => {
    const checks: Record<string, CheckResult> = {};
    try {
      await within(ctx.store.ping(), pingTimeoutMs);
      checks.store = 'ok';
    } catch (err) {
      checks.store = `unreachable: ${(err as Error).message}`;
    }
    if (requireDispatcher) checks.dispatcher = ctx.dispatcher.running ? 'ok' : 'not running';
    const ready = Object.values(checks).every((c) => c === 'ok');
    const failed = Object.keys(checks).filter((k) => checks[k] !== 'ok');
    res
      .status(ready ? 200 : 503)
      .set('Cache-Control', 'no-store')
      .json(ready ? { status: 'ready', checks } : { status: 'not_ready', failed, checks });
  });
  return router;
}

export function metricsRouter(ctx: Pick<CollectorContext, 'logger'>, metrics: Pick<Metrics, 'scrape' | 'contentType'>): Router {
  const router = express.Router();
  router.get('/metrics', async (_req, res) => {
    try {
      const text = await metrics.scrape();
      res.status(200).set({ 'Content-Type': metrics.contentType, 'Cache-Control': 'no-store' }).send(text);
    } catch (err) {
      ctx.logger.error({ err }, 'metrics scrape failed');
      res.status(500).type('text/plain').send('metrics unavailable\n');
    }
  });
  return router;
}
