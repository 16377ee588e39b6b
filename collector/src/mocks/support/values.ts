// Generic checks of the values a destination sent. Which field must pass which check, and
// how a platform words the failure, stay in the mock's own file.

/** A JSON object (not an array, not null). */
export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A lowercase hex SHA-256 hash. */
export function isSha256Hex(v: unknown): v is string {
  return typeof v === 'string' && /^[0-9a-f]{64}$/.test(v);
}

/** One lowercase hex SHA-256 hash, or a non-empty array of them. */
export function isSha256Hashes(v: unknown): boolean {
  const items = Array.isArray(v) ? v : [v];
  return items.length > 0 && items.every(isSha256Hex);
}

/** An ISO 4217 currency code, upper case (`BRL`). */
export function isCurrencyCode(v: unknown): v is string {
  return typeof v === 'string' && /^[A-Z]{3}$/.test(v);
}

/** A decimal number written as a string (`"72.39"`, `"-5"`). */
export function isDecimalString(v: unknown): v is string {
  return typeof v === 'string' && /^-?\d+(\.\d+)?$/.test(v);
}
