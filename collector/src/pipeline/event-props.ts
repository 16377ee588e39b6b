// Splits the flat properties a merchant passes (`trakvo('Purchase', {value, currency, email})`,
// or a server event's fields) into the canonical event's hashed user data and custom data.
// Loose input is coerced where the intent is clear ("99.90" → 99.9, "brl" → "BRL");
// anything else is reported with the field's name.
import { z } from 'zod';
import type { CustomData, HashedUser } from '../event/schema.js';
import { hashUserData, RAW_USER_KEYS, HASHED_USER_INPUT_KEYS, type RawUserData } from './hash-user-data.js';

export interface FieldError {
  field: string;
  message: string;
}

const numeric = z.preprocess(
  (v) => (typeof v === 'string' && v.trim() !== '' && !Number.isNaN(Number(v.trim())) ? Number(v.trim()) : v),
  z.number({ error: 'must be a number' }).finite(),
);
const idString = z.union([z.string().min(1).max(200), z.number().finite().transform(String)], {
  error: 'must be a non-empty string or number',
});
const text = (max: number) => z.string({ error: 'must be a string' }).max(max);

const ContentInputSchema = z.object({
  id: idString,
  quantity: z.preprocess((v) => (typeof v === 'string' ? Number(v) : v), z.number().int().positive()).optional(),
  item_price: numeric.optional(),
  title: text(500).optional(),
  category: text(500).optional(),
  brand: text(200).optional(),
});

/** The standard custom-data fields, with the coercions each accepts. */
const CUSTOM_FIELDS = {
  value: numeric,
  currency: z
    .string({ error: 'must be an ISO 4217 code like BRL' })
    .trim()
    .transform((s) => s.toUpperCase())
    .pipe(z.string().regex(/^[A-Z]{3}$/, 'must be an ISO 4217 code like BRL')),
  order_id: idString,
  content_ids: z.preprocess((v) => (Array.isArray(v) ? v : [v]), z.array(idString).max(1000)),
  contents: z.array(ContentInputSchema).max(1000),
  content_type: z.enum(['product', 'product_group']),
  content_name: text(500),
  content_category: text(500),
  num_items: z.preprocess((v) => (typeof v === 'string' ? Number(v) : v), z.number().int().nonnegative()),
  search_string: text(500),
  status: text(200),
  predicted_ltv: numeric,
} as const;
const CUSTOM_KEYS = new Set(Object.keys(CUSTOM_FIELDS));
const USER_KEYS = new Set<string>([...RAW_USER_KEYS, ...HASHED_USER_INPUT_KEYS]);

const ExtraValueSchema = z.union([z.string().max(1000), z.number().finite(), z.boolean()], {
  error: 'must be a string (max 1000), number or boolean',
});

export interface SplitProps {
  user: HashedUser;
  custom: CustomData;
  errors: FieldError[];
}

/**
 * `prefix` names the field in errors as the caller's client sees it (e.g. `p.` for the
 * browser wire format). `reserved` keys belong to the caller and are ignored here.
 */
export function splitProps(
  props: Record<string, unknown>,
  opts: { defaultCountry?: string; prefix?: string; reserved?: ReadonlySet<string> } = {},
): SplitProps {
  const prefix = opts.prefix ?? '';
  const errors: FieldError[] = [];
  const custom: Record<string, unknown> = {};
  const extra: Record<string, string | number | boolean> = {};
  const rawUser: Record<string, unknown> = {};

  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === '') continue;
    if (opts.reserved?.has(key)) continue;
    if (USER_KEYS.has(key)) {
      rawUser[key] = value;
      continue;
    }
    if (CUSTOM_KEYS.has(key)) {
      const parsed = CUSTOM_FIELDS[key as keyof typeof CUSTOM_FIELDS].safeParse(value);
      if (parsed.success) custom[key] = parsed.data;
      else errors.push(...parsed.error.issues.map((i) => ({ field: prefix + [key, ...i.path].join('.'), message: i.message })));
      continue;
    }
    const parsed = ExtraValueSchema.safeParse(value);
    if (parsed.success) extra[key] = parsed.data;
    else errors.push({ field: prefix + key, message: 'must be a string (max 1000), number or boolean' });
  }
  if (Object.keys(extra).length) custom.extra = extra;
  const user = hashUserData(rawUser as RawUserData, { defaultCountry: opts.defaultCountry });
  return { user, custom: custom as CustomData, errors };
}
