// The generic JSON receiver, for checkouts without a dedicated module: the merchant declares
// where each field is (field-mapping.ts) and how requests are authenticated.
//
// Authenticity, one of:
//   - a shared secret in a header (default `X-Webhook-Secret`), compared timing-safe;
//   - with `signature` set, that header carries an HMAC of the raw body (sha256/sha1/sha512,
//     hex or base64, optional prefix such as `sha256=` as GitHub-style senders write it).
// Idempotency: the mapped `deliveryId` field, else event kind + order id; event ids are
// derived from the order id like every other path, so the thank-you page deduplicates.
import { z } from 'zod';
import { commonOptions, SecretSchema } from './config-parts.js';
import { FieldMappingSchema, mapFields, mappedDeliveryId } from './field-mapping.js';
import { hmacMatches, secretMatches, secretList } from './signatures.js';
import { definePlatform, header } from './types.js';

export const GenericConfigSchema = z
  .object({
    secret: SecretSchema,
    /** The header that carries the secret (or the signature). */
    header: z
      .string()
      .regex(/^[A-Za-z0-9-]{1,100}$/, 'a header name like X-Webhook-Secret')
      .transform((s) => s.toLowerCase())
      .default('x-webhook-secret'),
    /** Set when the header is an HMAC of the body rather than the secret itself. */
    signature: z
      .object({
        algorithm: z.enum(['sha256', 'sha1', 'sha512']).default('sha256'),
        encoding: z.enum(['hex', 'base64']).default('hex'),
        /** Text before the signature in the header, e.g. `sha256=`. */
        prefix: z.string().max(40).default(''),
      })
      .strict()
      .optional(),
    mapping: FieldMappingSchema,
    ...commonOptions,
  })
  .strict();
export type GenericConfig = z.output<typeof GenericConfigSchema>;

export const generic = definePlatform<GenericConfig>({
  platform: 'generic',
  configSchema: GenericConfigSchema,

  verify(req, config) {
    const sent = header(req.headers, config.header);
    if (sent === undefined) return { ok: false, status: 401, code: 'missing_secret', message: `${config.header} is missing` };
    const keys = secretList(config.secret);
    const sig = config.signature;
    const ok = sig
      ? sent.startsWith(sig.prefix) && hmacMatches(sent.slice(sig.prefix.length), req.rawBody, keys, sig.algorithm, sig.encoding)
      : secretMatches(sent, keys);
    return ok ? { ok: true } : { ok: false, status: 401, code: sig ? 'invalid_signature' : 'invalid_secret', message: `${config.header} does not match` };
  },

  toEvents(payload, ctx) {
    return mapFields(payload, ctx.config.mapping, ctx, 'generic');
  },

  deliveryId(_headers, payload, config) {
    return mappedDeliveryId(payload, config.mapping);
  },
});
