// Configuration of the server-to-server API: a top-level `api` block and an optional
// per-site `api` block that overrides the rate limit for that site's tokens.
//
//   { "api": { "environment": "production",
//              "rateLimit": { "perSecond": 50, "burst": 100, "store": "redis",
//                             "redisUrl": "env:REDIS_URL" } },
//     "sites": [{ "id": "shop", …, "api": { "rateLimit": { "perSecond": 200, "burst": 400 } } }] }
import { z } from 'zod';

const perSecond = z.number().int().positive().max(100_000);
const burst = z.number().int().positive().max(1_000_000);

function burstNotBelowRate(v: { perSecond?: number; burst?: number }, ctx: z.RefinementCtx): void {
  if (v.perSecond !== undefined && v.burst !== undefined && v.burst < v.perSecond) {
    ctx.addIssue({ code: 'custom', path: ['burst'], message: 'must be at least perSecond' });
  }
}

export const ApiRateLimitSchema = z
  .object({
    /** Sustained requests per second per token. */
    perSecond: perSecond.default(50),
    /** Most requests one token may make within one second, drawing on a reserve. */
    burst: burst.default(100),
    /** Seconds the reserve (burst − perSecond requests) takes to refill. */
    burstWindowSec: z.number().int().positive().max(3600).default(10),
    /** `memory`: counters in this process. `redis`: shared by every collector using the same Redis. */
    store: z.enum(['memory', 'redis']).default('memory'),
    /** Redis connection URL (`redis://host:6379/0`), usually `env:REDIS_URL`. */
    redisUrl: z.string().min(1).optional(),
    /** Prefix of the Redis keys; collectors sharing counters must use the same one. */
    keyPrefix: z.string().regex(/^[A-Za-z0-9_:.-]{1,100}$/, 'letters, digits and _ : . - (max 100)').default('trakvo:api'),
  })
  .strict()
  .superRefine((v, ctx) => {
    burstNotBelowRate(v, ctx);
    if (v.store === 'redis' && !v.redisUrl) {
      ctx.addIssue({ code: 'custom', path: ['redisUrl'], message: 'required when store is "redis"' });
    }
  });

export const ApiConfigSchema = z
  .object({
    /**
     * The environment this collector runs as. When set, only tokens of this environment are
     * accepted (a staging token cannot send events to production destinations). Unset: any.
     */
    environment: z.enum(['production', 'staging', 'development']).optional(),
    rateLimit: ApiRateLimitSchema.default(() => ApiRateLimitSchema.parse({})),
  })
  .strict();
export type ApiConfig = z.output<typeof ApiConfigSchema>;
export type ApiConfigInput = z.input<typeof ApiConfigSchema>;

/** Per-site override: a site with heavier backend traffic gets its own limit. */
export const SiteApiConfigSchema = z
  .object({
    rateLimit: z
      .object({ perSecond: perSecond.optional(), burst: burst.optional() })
      .strict()
      .superRefine(burstNotBelowRate)
      .optional(),
  })
  .strict();
export type SiteApiConfig = z.output<typeof SiteApiConfigSchema>;

/**
 * The `api` block of a config, validated. Tolerates configs whose schema does not carry the
 * block (it is optional everywhere) so the router works with any CollectorConfig.
 */
export function apiConfigOf(config: object): ApiConfig {
  return ApiConfigSchema.parse((config as { api?: unknown }).api ?? {});
}

export function siteApiConfigOf(site: object): SiteApiConfig {
  return SiteApiConfigSchema.parse((site as { api?: unknown }).api ?? {});
}
