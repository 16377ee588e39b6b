// Turns cleartext customer information (from browser props, the server API or a commerce
// webhook) into the canonical event's HashedUser: normalized as Meta documents, then
// lowercase-hex SHA-256. After this step no cleartext email/phone/name/address remains.
// Nothing here logs, and nothing here throws with a value in its message.
import { createHash } from 'node:crypto';
import type { HashedUser } from '../event/schema.js';
import {
  normalizeCity,
  normalizeCountry,
  normalizeDateOfBirth,
  normalizeEmail,
  normalizeExternalId,
  normalizeFirstName,
  normalizeGender,
  normalizeLastName,
  normalizePhone,
  normalizeState,
  normalizeZip,
} from './normalize-pii.js';

/** Cleartext input keys, in the order they are processed. */
export const RAW_USER_KEYS = [
  'email',
  'phone',
  'first_name',
  'last_name',
  'city',
  'state',
  'zip',
  'country',
  'date_of_birth',
  'gender',
  'external_id',
] as const;
export type RawUserKey = (typeof RAW_USER_KEYS)[number];

/** Already-hashed input keys (`email_sha256`, …): must be 64-hex SHA-256 of the normalized value. */
export const HASHED_USER_INPUT_KEYS = RAW_USER_KEYS.map((k) => `${k}_sha256` as const);
export type HashedUserInputKey = (typeof HASHED_USER_INPUT_KEYS)[number];

/**
 * Customer information as callers send it. Values may be strings or numbers (a number is
 * read as its decimal string); for an array the first element is used; anything else is
 * ignored. `*_sha256` keys carry values the caller hashed itself.
 */
export interface RawUserData {
  email?: unknown;
  phone?: unknown;
  first_name?: unknown;
  last_name?: unknown;
  city?: unknown;
  state?: unknown;
  zip?: unknown;
  country?: unknown;
  date_of_birth?: unknown;
  gender?: unknown;
  external_id?: unknown;
  email_sha256?: unknown;
  phone_sha256?: unknown;
  first_name_sha256?: unknown;
  last_name_sha256?: unknown;
  city_sha256?: unknown;
  state_sha256?: unknown;
  zip_sha256?: unknown;
  country_sha256?: unknown;
  date_of_birth_sha256?: unknown;
  gender_sha256?: unknown;
  external_id_sha256?: unknown;
}

export interface HashUserDataOptions {
  /**
   * The site's ISO 3166-1 alpha-2 country (e.g. `BR`). Used to read phone numbers written
   * without a country code (unless the customer's own `country` is given, which wins) and
   * to read ambiguous `NN/NN/YYYY` birth dates day-first outside month-first countries.
   */
  defaultCountry?: string;
}

/** Which HashedUser key each input feeds. `phone` also feeds `ph_e164`. */
const TARGET: Record<RawUserKey, keyof HashedUser> = {
  email: 'em',
  phone: 'ph',
  first_name: 'fn',
  last_name: 'ln',
  city: 'ct',
  state: 'st',
  zip: 'zp',
  country: 'country',
  date_of_birth: 'db',
  gender: 'ge',
  external_id: 'external_id',
};

/** Countries that write dates month first (`02/16/1997`). */
const MONTH_FIRST_COUNTRIES = new Set(['us', 'pr', 'gu', 'vi', 'as', 'mp', 'um', 'ph', 'fm', 'mh', 'pw', 'ca']);

const HEX64 = /^[0-9a-fA-F]{64}$/;

export function sha256Hex(value: string): string {
  return createHash('sha256').update(value, 'utf8').digest('hex');
}

/** The first usable scalar as a string: strings as they are, finite numbers in decimal. */
function scalar(value: unknown): string | undefined {
  const v = Array.isArray(value) ? (value as unknown[])[0] : value;
  if (typeof v === 'string') return v;
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  if (typeof v === 'bigint') return v.toString();
  return undefined;
}

/** A 64-hex value, lowercased, or undefined. */
function asHash(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const t = value.trim();
  return HEX64.test(t) ? t.toLowerCase() : undefined;
}

/**
 * Normalize then hash every field present. A value that already is a 64-hex SHA-256 is
 * passed through lowercased (never hashed twice); empty or invalid values are dropped, never
 * hashed. Cleartext fields win over `*_sha256` ones; a `*_sha256` value that is not 64-hex is
 * dropped. `phone_sha256` is taken to be Meta's form (digits, no `+`) and fills `ph` only.
 */
export function hashUserData(raw: RawUserData, opts: HashUserDataOptions = {}): HashedUser {
  const out: HashedUser = {};
  const text = (key: RawUserKey): string | undefined => scalar(raw[key]);

  // The customer's country first: it guides phone, state and zip normalization.
  const countryText = text('country');
  const country = countryText !== undefined && asHash(countryText) === undefined ? normalizeCountry(countryText) : undefined;
  const siteCountry = opts.defaultCountry?.trim().toLowerCase() || undefined;
  const dayFirst = siteCountry !== undefined && !MONTH_FIRST_COUNTRIES.has(siteCountry);

  const normalize = (key: RawUserKey, value: string): string | undefined => {
    switch (key) {
      case 'email':
        return normalizeEmail(value);
      case 'phone':
        return undefined; // handled separately: it yields two hashes
      case 'first_name':
        return normalizeFirstName(value);
      case 'last_name':
        return normalizeLastName(value);
      case 'city':
        return normalizeCity(value);
      case 'state':
        return normalizeState(value, country);
      case 'zip':
        return normalizeZip(value, country);
      case 'country':
        return country;
      case 'date_of_birth':
        return normalizeDateOfBirth(value, { dayFirst });
      case 'gender':
        return normalizeGender(value);
      case 'external_id':
        return normalizeExternalId(value);
    }
  };

  for (const key of RAW_USER_KEYS) {
    const target = TARGET[key];
    const value = text(key);
    if (value !== undefined) {
      const already = asHash(value);
      if (already !== undefined) {
        out[target] = already;
        continue;
      }
      if (key === 'phone') {
        const phone = normalizePhone(value, country ?? siteCountry);
        if (phone) {
          out.ph = sha256Hex(phone.digits);
          out.ph_e164 = sha256Hex(phone.e164);
          continue;
        }
      } else {
        const normalized = normalize(key, value);
        if (normalized !== undefined && normalized !== '') {
          out[target] = sha256Hex(normalized);
          continue;
        }
      }
    }
    const prehashed = asHash(scalar(raw[`${key}_sha256`]));
    if (prehashed !== undefined) out[target] = prehashed;
  }
  return out;
}
