// The collector's configuration: one zod schema, so a bad config fails at start with an
// error that names the key (`sites[0].destinations[1].pixelId: …`).
import { z } from 'zod';
import { ApiConfigSchema, SiteApiConfigSchema } from '../api/config.js';
import { AdminConfigSchema } from '../dashboard/config.js';
import { DESTINATIONS } from '../destinations/registry.js';
import { NotifyConfigSchema } from '../notify/config.js';
import { ShopifyPixelSiteSchema } from '../shopify/pixel-requests.js';
import { WebhooksConfigSchema } from '../webhooks/config.js';

const DestinationEntrySchema = z
  .object({
    /** Stable id of this configured destination (two Meta pixels on one site = two ids). */
    id: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'letters, digits, _ and - (max 64)'),
    type: z.string(),
    enabled: z.boolean().default(true),
  })
  .passthrough()
  .transform((entry, ctx) => {
    const { id, enabled, ...platformConfig } = entry;
    const destination = DESTINATIONS[entry.type];
    if (!destination) {
      ctx.addIssue({
        code: 'custom',
        path: ['type'],
        message: `unknown destination type "${entry.type}" (known: ${Object.keys(DESTINATIONS).join(', ')})`,
      });
      return z.NEVER;
    }
    const parsed = destination.configSchema.safeParse(platformConfig);
    if (!parsed.success) {
      for (const issue of parsed.error.issues) ctx.addIssue({ ...issue, code: 'custom', message: issue.message });
      return z.NEVER;
    }
    return { id, type: entry.type, enabled, config: parsed.data as { type: string } };
  });
export type DestinationEntry = z.output<typeof DestinationEntrySchema>;

const OriginSchema = z
  .string()
  .refine((s) => {
    try {
      return new URL(s).origin === s.replace(/\/$/, '');
    } catch {
      return false;
    }
  }, 'must be an origin like https://shop.com (scheme, host, optional port, no path)')
  .transform((s) => s.replace(/\/$/, ''));

export const SiteSchema = z
  .object({
    id: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'letters, digits, _ and - (max 64)'),
    /** Origins whose pages may post browser events (checked against Origin/Referer). */
    allowedOrigins: z.array(OriginSchema).min(1, 'list at least one origin, e.g. https://shop.com'),
    /** Country assumed for phone numbers without a country code (ISO alpha-2). */
    defaultCountry: z
      .string()
      .regex(/^[A-Za-z]{2}$/, 'ISO 3166-1 alpha-2 code like BR')
      .transform((s) => s.toUpperCase())
      .optional(),
    /** Consent assumed when the page has not called trakvo('consent', …). */
    consentDefault: z
      .object({ marketing: z.boolean(), analytics: z.boolean() })
      .default({ marketing: true, analytics: true }),
    /** Treat `Sec-GPC: 1` as a marketing opt-out. */
    honorGpc: z.boolean().default(true),
    destinations: z.array(DestinationEntrySchema).default([]),
    /** Per-site overrides for the server-to-server API (rate limits). */
    api: SiteApiConfigSchema.optional(),
    /** Inbound order webhooks of the site's commerce platforms and their secrets. */
    webhooks: WebhooksConfigSchema.optional(),
    /** Public key of the site's Shopify custom pixel (its sandbox sends `Origin: null`). */
    shopifyPixel: ShopifyPixelSiteSchema.optional(),
    /** Signed webhooks to the merchant: delivered, dead, low match quality, auth failed. */
    notify: NotifyConfigSchema.optional(),
  })
  .superRefine((site, ctx) => {
    const seen = new Set<string>();
    site.destinations.forEach((d, i) => {
      if (seen.has(d.id)) ctx.addIssue({ code: 'custom', path: ['destinations', i, 'id'], message: `duplicate id "${d.id}"` });
      seen.add(d.id);
    });
  });
export type SiteConfig = z.output<typeof SiteSchema>;

export const ConfigSchema = z
  .object({
    port: z.coerce.number().int().min(0).max(65535).default(8080),
    host: z.string().default('0.0.0.0'),
    /** Path the standalone server mounts the collector at (e.g. /t behind a proxy). */
    basePath: z.string().regex(/^\/[A-Za-z0-9_\-/]*$/, 'must start with / (e.g. /t)').default('/'),
    /** Where the embedded SQLite store lives. */
    dataDir: z.string().default('./.trakvo-data'),
    /** Express `trust proxy` setting for the standalone server (see README). */
    trustProxy: z.union([z.boolean(), z.number().int().nonnegative(), z.string(), z.array(z.string())]).default('loopback'),
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    /** SQLite in `dataDir` (one machine), or PostgreSQL (several collectors, one queue). */
    store: z
      .discriminatedUnion('engine', [
        z.object({ engine: z.literal('sqlite') }),
        z.object({
          engine: z.literal('postgres'),
          url: z.string().regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL (use env:DATABASE_URL)'),
          schema: z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/, 'lowercase SQL identifier').optional(),
        }),
      ])
      .default({ engine: 'sqlite' }),
    /** How long a visitor's latest browser signals (ids, IP, UA) are kept to link server events. */
    visitorSignalsRetentionDays: z.number().positive().max(90).default(7),
    dispatch: z
      .object({
        /** Safety-net poll; inserts wake the dispatcher at once. */
        pollMs: z.number().int().positive().default(1000),
        /** Per-request timeout towards a platform. */
        timeoutMs: z.number().int().positive().default(10_000),
        /** How long a delivery may keep being retried before it is dead-lettered. */
        maxRetryHours: z.number().positive().max(24 * 7).default(24),
        leaseMs: z.number().int().positive().default(60_000),
      })
      .default({ pollMs: 1000, timeoutMs: 10_000, maxRetryHours: 24, leaseMs: 60_000 }),
    /** Server-to-server API: environment of this collector, rate limits and their store. */
    api: ApiConfigSchema.prefault({}),
    /** The dashboard's login; without it the dashboard is off (404). */
    admin: AdminConfigSchema.optional(),
    sites: z.array(SiteSchema).min(1, 'configure at least one site'),
  })
  .strict()
  .superRefine((cfg, ctx) => {
    const seen = new Set<string>();
    cfg.sites.forEach((s, i) => {
      if (seen.has(s.id)) ctx.addIssue({ code: 'custom', path: ['sites', i, 'id'], message: `duplicate site id "${s.id}"` });
      seen.add(s.id);
    });
  });
export type CollectorConfig = z.output<typeof ConfigSchema>;
export type CollectorConfigInput = z.input<typeof ConfigSchema>;
