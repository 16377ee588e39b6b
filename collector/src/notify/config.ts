// A site's `notify` block: where Trakvo POSTs signed notifications about its events, and
// which ones. Example (secrets come from the environment or a file, never the config file):
//
//   "notify": [{ "url": "https://ops.shop.com/hooks/trakvo", "secret": "env:TRAKVO_NOTIFY_SECRET",
//                "events": ["event.dead", "destination.auth_failed", "match_quality.low"],
//                "matchQualityBelow": 4 }]
import { z } from 'zod';

export const NOTIFY_KINDS = ['event.delivered', 'event.dead', 'match_quality.low', 'destination.auth_failed'] as const;
export type NotifyKind = (typeof NOTIFY_KINDS)[number];

/** Score under which a delivered event is reported as `match_quality.low` when not configured. */
export const DEFAULT_MATCH_QUALITY_BELOW = 4;

export const NotifyTargetSchema = z
  .object({
    /** Receives one POST per notification. */
    url: z.url({ protocol: /^https?$/ }),
    /** HMAC key of `X-Trakvo-Signature`; write `env:NAME` or `file:/path` in the config. */
    secret: z.string().min(16, 'use a random secret of at least 16 characters, from env:NAME or file:/path'),
    events: z.array(z.enum(NOTIFY_KINDS)).min(1, `list at least one of ${NOTIFY_KINDS.join(', ')}`),
    /** `match_quality.low` is sent for a delivered event scoring below this (0–10) for its destination. */
    matchQualityBelow: z.number().min(0).max(10).default(DEFAULT_MATCH_QUALITY_BELOW),
  })
  .strict();
export type NotifyTarget = z.output<typeof NotifyTargetSchema>;

/** The `notify` key of a site (add to SiteSchema as `notify: NotifyConfigSchema`). */
export const NotifyConfigSchema = z
  .array(NotifyTargetSchema)
  .superRefine((targets, ctx) => {
    // A stored notification names its target by URL; two secrets for one URL would be ambiguous.
    const seen = new Set<string>();
    targets.forEach((t, i) => {
      if (seen.has(t.url)) ctx.addIssue({ code: 'custom', path: [i, 'url'], message: `duplicate notify url "${t.url}"` });
      seen.add(t.url);
    });
  })
  .default([]);
export type NotifyConfig = z.output<typeof NotifyConfigSchema>;

/** What the notifier needs of a site (SiteConfig once it has `notify`). */
export interface NotifySite {
  id: string;
  notify?: readonly NotifyTarget[];
}
