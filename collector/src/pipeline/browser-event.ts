// The browser wire format (what t.js posts to /e) and its conversion to the canonical event.
// One-letter keys keep t.js and every beacon small; unknown keys are ignored so newer
// snippets can add fields without breaking older collectors.
import { z } from 'zod';
import type { SiteConfig } from '../config/schema.js';
import { CanonicalEventSchema, type CanonicalEvent, type Consent, type Identifiers } from '../event/schema.js';
import { splitProps, type FieldError } from './event-props.js';

const flag = z.union([z.literal(0), z.literal(1), z.boolean()]).transform((v) => v === 1 || v === true);

const httpUrl = z
  .string()
  .max(4096)
  .refine((s) => {
    try {
      return /^https?:$/.test(new URL(s).protocol);
    } catch {
      return false;
    }
  }, 'must be an http(s) URL');

export const BrowserWireSchema = z.object({
  /** site id */
  s: z.string({ error: 'site id is required' }).min(1).max(64),
  /** event name */
  n: z.string({ error: 'event name is required' }).min(1).max(100),
  /** event_id minted by the browser */
  i: z
    .string({ error: 'event_id is required' })
    .min(8)
    .max(128)
    .regex(/^[A-Za-z0-9_.:-]+$/, 'letters, digits and _ . : - only'),
  /** page URL */
  u: httpUrl,
  /** referrer */
  r: z.union([httpUrl, z.literal('')]).optional(),
  /** document title */
  t: z.string().max(1000).optional(),
  /** merchant's properties */
  p: z.record(z.string(), z.unknown(), { error: 'props must be an object' }).optional(),
  /** consent set on the page: marketing, analytics */
  c: z.object({ m: flag, a: flag }).optional(),
  /** client clock, ms (informational; event_time comes from the server clock) */
  ts: z.number().optional(),
});
export type BrowserWire = z.infer<typeof BrowserWireSchema>;

/** Keys in props that the canonical event takes elsewhere, never as custom data. */
const RESERVED_PROPS = new Set(['event_id', 'event_time', 'site_id']);

export interface BrowserContext {
  site: SiteConfig;
  ip?: string;
  userAgent?: string;
  /** First-party ids from cookies and the landing URL (only with marketing consent). */
  ids: Identifiers;
  consent: Consent;
  /** Server clock, unix ms. */
  now: number;
}

/** Consent for one event: what the page said, else the site default; GPC removes marketing. */
export function resolveConsent(wire: BrowserWire['c'], site: SiteConfig, gpc: boolean): Consent {
  const consent = wire ? { marketing: wire.m, analytics: wire.a } : { ...site.consentDefault };
  if (gpc && site.honorGpc) consent.marketing = false;
  return consent;
}

export function browserEventToCanonical(
  wire: BrowserWire,
  ctx: BrowserContext,
  fieldPrefix = '',
): { event: CanonicalEvent; errors?: undefined } | { event?: undefined; errors: FieldError[] } {
  const { user, custom, errors } = splitProps(wire.p ?? {}, {
    defaultCountry: ctx.site.defaultCountry,
    prefix: `${fieldPrefix}p.`,
    reserved: RESERVED_PROPS,
  });
  if (errors.length) return { errors };
  const marketing = ctx.consent.marketing;
  const event: CanonicalEvent = {
    event_id: wire.i,
    event_name: wire.n,
    // The server clock: browsers' clocks are often wrong, and the beacon arrives at once.
    event_time: Math.floor(ctx.now / 1000),
    site_id: ctx.site.id,
    source: 'browser',
    url: wire.u,
    ...(wire.r ? { referrer: wire.r } : {}),
    ...(wire.t ? { title: wire.t } : {}),
    // Without marketing consent nothing identifying is kept for ad platforms.
    ...(marketing && ctx.ip ? { ip: ctx.ip } : {}),
    ...(ctx.userAgent ? { user_agent: ctx.userAgent } : {}),
    user: marketing ? user : {},
    ids: marketing ? ctx.ids : {},
    custom,
    consent: ctx.consent,
  };
  const checked = CanonicalEventSchema.safeParse(event);
  if (!checked.success) {
    return { errors: checked.error.issues.map((i) => ({ field: fieldPrefix + i.path.join('.'), message: i.message })) };
  }
  return { event: checked.data };
}
