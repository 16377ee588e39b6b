// Requests per second per API token (rate-limiter-flexible). Each token may make
// `perSecond` requests every second, plus a reserve of `burst − perSecond` requests that
// refills every `burstWindowSec`, so short spikes up to `burst`/s pass. Counters live in
// this process by default; with `store: "redis"` every collector sharing that Redis shares
// them (and falls back to local counters while Redis is unreachable).
import { Redis } from 'ioredis';
import {
  BurstyRateLimiter,
  RateLimiterMemory,
  RateLimiterRedis,
  RateLimiterRes,
  type RateLimiterAbstract,
} from 'rate-limiter-flexible';
import type { SiteConfig } from '../config/schema.js';
import type { Logger } from '../log.js';
import { siteApiConfigOf, type ApiConfig } from './config.js';

type RateLimitConfig = ApiConfig['rateLimit'];

export type RateDecision = { allowed: true; remaining: number; limit: number } | { allowed: false; retryAfterSec: number; limit: number };

export interface TokenRateLimiter {
  /** Counts one request of `tokenId` (a token of `siteId`). */
  consume(tokenId: string, siteId: string): Promise<RateDecision>;
  /** Resolves once the shared store is connected (at once for memory). */
  ready(): Promise<void>;
  close(): Promise<void>;
}

export interface RateLimiterOptions {
  config: RateLimitConfig;
  sites: Map<string, SiteConfig>;
  /** A connected ioredis client to use instead of opening one from `config.redisUrl`. */
  redis?: Redis;
  logger?: Logger;
}

interface Limiter {
  consume(key: string): Promise<RateLimiterRes>;
}

export function createTokenRateLimiter(opts: RateLimiterOptions): TokenRateLimiter {
  const { config } = opts;
  const ownRedis = config.store === 'redis' && !opts.redis;
  const redis =
    config.store === 'redis'
      ? (opts.redis ?? new Redis(config.redisUrl!, { enableOfflineQueue: false, maxRetriesPerRequest: 1, lazyConnect: false }))
      : undefined;
  if (ownRedis) redis!.on('error', (err: Error) => opts.logger?.warn({ err: err.message }, 'rate-limit Redis unavailable; counting locally'));

  function counter(points: number, duration: number, keyPrefix: string): RateLimiterAbstract {
    if (!redis) return new RateLimiterMemory({ points, duration, keyPrefix });
    return new RateLimiterRedis({
      storeClient: redis,
      points,
      duration,
      keyPrefix,
      rejectIfRedisNotReady: true,
      insuranceLimiter: new RateLimiterMemory({ points, duration, keyPrefix }),
    });
  }

  // One limiter per distinct (perSecond, burst): sites with an override get their own.
  const limiters = new Map<string, { limiter: Limiter; limit: number }>();
  function limiterFor(siteId: string): { limiter: Limiter; limit: number } {
    const site = opts.sites.get(siteId);
    const override = site ? siteApiConfigOf(site).rateLimit : undefined;
    const perSecond = override?.perSecond ?? config.perSecond;
    const burst = Math.max(override?.burst ?? config.burst, perSecond);
    const id = `${perSecond}:${burst}`;
    let entry = limiters.get(id);
    if (!entry) {
      const prefix = `${config.keyPrefix}:${id}`;
      const rate = counter(perSecond, 1, `${prefix}:rate`);
      const limiter =
        burst > perSecond ? new BurstyRateLimiter(rate, counter(burst - perSecond, config.burstWindowSec, `${prefix}:burst`)) : rate;
      entry = { limiter, limit: perSecond };
      limiters.set(id, entry);
    }
    return entry;
  }

  return {
    async consume(tokenId, siteId) {
      const { limiter, limit } = limiterFor(siteId);
      try {
        const res = await limiter.consume(tokenId);
        return { allowed: true, remaining: res.remainingPoints, limit };
      } catch (rejection) {
        if (rejection instanceof RateLimiterRes) {
          return { allowed: false, retryAfterSec: Math.max(1, Math.ceil(rejection.msBeforeNext / 1000)), limit };
        }
        // The counter store failed outright: let the request through rather than refuse
        // every merchant's events because of a limiter problem.
        opts.logger?.warn({ err: (rejection as Error)?.message }, 'rate limiter failed; request allowed');
        return { allowed: true, remaining: 0, limit };
      }
    },
    async ready() {
      if (!redis || redis.status === 'ready') return;
      await new Promise<void>((resolve, reject) => {
        const onReady = () => {
          redis.off('end', onEnd);
          resolve();
        };
        const onEnd = () => {
          redis.off('ready', onReady);
          reject(new Error('Redis connection ended'));
        };
        redis.once('ready', onReady);
        redis.once('end', onEnd);
      });
    },
    async close() {
      if (!ownRedis || redis!.status === 'end') return;
      if (redis!.status === 'ready') await redis!.quit().catch(() => redis!.disconnect());
      else redis!.disconnect(); // still connecting or reconnecting: stop trying
    },
  };
}
