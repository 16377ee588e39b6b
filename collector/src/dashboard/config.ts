// The dashboard's config block, `admin` at the top level of the collector config. Without
// it the dashboard is off (every path under it answers 404). Secrets use the config's usual
// `env:NAME` / `file:/path` references, resolved before this schema sees them:
//
//   "admin": { "password": "env:TRAKVO_ADMIN_PASSWORD", "sessionSecret": "env:TRAKVO_SESSION_SECRET" }
import { z } from 'zod';

/** `scrypt:<salt hex>:<32-byte key hex>` with N=16384, r=8, p=1 (see README.md, Dashboard). */
export const PASSWORD_HASH_PATTERN = /^scrypt:[0-9a-f]{16,128}:[0-9a-f]{64}$/;

export const AdminConfigSchema = z
  .object({
    /** The admin password in clear (from the environment or a secret file). */
    password: z.string().min(12, 'use at least 12 characters').optional(),
    /** Or its scrypt hash, so the clear password lives nowhere on the server. */
    passwordHash: z
      .string()
      .regex(PASSWORD_HASH_PATTERN, 'must look like scrypt:<salt hex>:<64 hex> (see README.md, Dashboard)')
      .optional(),
    /**
     * Signs session cookies. Without it a random secret is made at start, so every restart
     * logs the admin out.
     */
    sessionSecret: z.string().min(32, 'use at least 32 characters').optional(),
    /** How long a login lasts. */
    sessionHours: z.number().positive().max(24 * 30).default(12),
  })
  .strict()
  .superRefine((a, ctx) => {
    if (!a.password && !a.passwordHash) ctx.addIssue({ code: 'custom', path: ['password'], message: 'set password or passwordHash' });
    if (a.password && a.passwordHash) ctx.addIssue({ code: 'custom', path: ['passwordHash'], message: 'set password or passwordHash, not both' });
  });

export type AdminConfig = z.output<typeof AdminConfigSchema>;
export type AdminConfigInput = z.input<typeof AdminConfigSchema>;

/**
 * The admin block of a parsed collector config, or undefined when the dashboard is off.
 * Accepts an already parsed block or raw input (validated here, so a mistake names the key).
 */
export function adminConfigOf(config: object): AdminConfig | undefined {
  const raw = (config as { admin?: unknown }).admin;
  if (raw === undefined || raw === null) return undefined;
  const parsed = AdminConfigSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new Error(`admin.${issue.path.join('.')}: ${issue.message}`);
  }
  return parsed.data;
}
