// Normalization of customer information before hashing, one function per field, following
// Meta's customer-information parameter rules (reference/destinations.md §1.4) and, where
// Meta's table is silent, the behaviour of Meta's own Parameter Builder library.
//
// Every function returns the normalized string, or `undefined` when nothing usable is left
// (never an empty string: sha256('') looks like a real hash and pollutes matching).
// These functions see cleartext personal data: they must never log or throw with it.
// The 'max' metadata validates number types (a Brazilian mobile must start with 9…), so a
// digit string is not mistaken for a national number it cannot be.
import { isSupportedCountry, parsePhoneNumberFromString } from 'libphonenumber-js/max';

/** Longest input any normalizer looks at; longer values are not real PII, just noise. */
const MAX_INPUT_LENGTH = 512;

function prepare(value: string): string | undefined {
  if (typeof value !== 'string') return undefined;
  const trimmed = value.trim();
  if (trimmed === '' || trimmed.length > MAX_INPUT_LENGTH) return undefined;
  return trimmed.normalize('NFC');
}

const orUndefined = (s: string): string | undefined => (s === '' ? undefined : s);

/** Latin letters that Unicode decomposition (NFD) does not split into base + accent. */
const LATIN_FOLDS: Record<string, string> = {
  ß: 'ss',
  æ: 'ae',
  œ: 'oe',
  ø: 'o',
  đ: 'd',
  ð: 'd',
  ł: 'l',
  þ: 'th',
  ı: 'i',
  ħ: 'h',
};

/** Lowercase and fold Latin diacritics to plain a–z (`São Paulo` → `sao paulo`). */
function foldToAscii(value: string): string {
  return value
    .toLowerCase()
    .normalize('NFD')
    .replace(/\p{M}+/gu, '')
    .replace(/[ßæœøđðłþıħ]/g, (c) => LATIN_FOLDS[c] ?? c);
}

/** `[a-z0-9]` only, after folding accents. */
const asciiKey = (value: string): string => foldToAscii(value).replace(/[^a-z0-9]+/g, '');

/** Lowercased letters, marks and digits of any script (for non-Latin values). */
const unicodeKey = (value: string): string =>
  value.toLowerCase().replace(/[^\p{L}\p{M}\p{N}]+/gu, '');

// ─── email ───────────────────────────────────────────────────────────────────────────────

const EMAIL_RE =
  /^(?!\.)(?!.*\.\.)[\p{L}\p{N}!#$%&'*+/=?^_`{|}~.-]{1,64}(?<!\.)@(?:[\p{L}\p{N}](?:[\p{L}\p{N}-]{0,61}[\p{L}\p{N}])?\.)+(?:\p{L}{2,63}|xn--[a-z0-9-]{1,59})$/u;

/** Meta: trim, lowercase (`John_Smith@gmail.com ` → `john_smith@gmail.com`); must look like an email. */
export function normalizeEmail(value: string): string | undefined {
  const s = prepare(value)?.toLowerCase();
  if (s === undefined || s.length > 254) return undefined;
  return EMAIL_RE.test(s) ? s : undefined;
}

// ─── phone ───────────────────────────────────────────────────────────────────────────────

export interface NormalizedPhone {
  /** Country code + national number, digits only, no `+` (Meta, Pinterest, Snap). */
  digits: string;
  /** E.164 with the leading `+` (TikTok, GA4, Reddit). */
  e164: string;
}

/**
 * Meta: digits only, with country code, no symbols/letters/leading zeros
 * (`(650)555-1212` with US default → `16505551212`; `+55 (11) 99999-9999` → `5511999999999`).
 * Numbers written with `+` or the `00` international prefix carry their own country code;
 * others are read as national numbers of `defaultCountry` (ISO alpha-2, e.g. the site's
 * country), and failing that as digits that already start with a country code. A number
 * libphonenumber-js does not consider valid for its country is dropped.
 */
export function normalizePhone(value: string, defaultCountry?: string): NormalizedPhone | undefined {
  const s = prepare(value);
  if (s === undefined) return undefined;
  const compact = s.replace(/[^\d+]/g, '');
  const digits = compact.replace(/\D/g, '');
  if (digits.length < 6 || digits.length > 20) return undefined;

  const country = defaultCountry?.trim().toUpperCase();
  const candidates: { text: string; country?: string }[] = [];
  if (compact.startsWith('+')) {
    // Keep the original text: libphonenumber understands `(0)` trunk digits and extensions.
    candidates.push({ text: s }, { text: `+${digits}` });
  } else if (compact.startsWith('00')) {
    candidates.push({ text: `+${digits.slice(2)}` });
  } else {
    if (country !== undefined && isSupportedCountry(country)) candidates.push({ text: s, country });
    candidates.push({ text: `+${digits}` });
  }

  for (const { text, country: cc } of candidates) {
    let parsed;
    try {
      parsed =
        cc !== undefined && isSupportedCountry(cc)
          ? parsePhoneNumberFromString(text, cc)
          : parsePhoneNumberFromString(text);
    } catch {
      parsed = undefined;
    }
    if (parsed?.isValid()) {
      const e164 = parsed.number;
      return { digits: e164.slice(1), e164 };
    }
  }
  return undefined;
}

// ─── names ───────────────────────────────────────────────────────────────────────────────

/**
 * Meta: lowercase, no punctuation; non-Latin text stays UTF-8. Like Meta's Parameter
 * Builder, whitespace is removed too (`Mary Ann` → `maryann`) and accents are kept
 * (`José` → `josé`). Symbols, punctuation, spaces and control characters are removed.
 */
export function normalizeName(value: string): string | undefined {
  const s = prepare(value);
  if (s === undefined) return undefined;
  return orUndefined(s.toLowerCase().replace(/[\p{P}\p{S}\p{Z}\p{Cc}\s]+/gu, ''));
}

export const normalizeFirstName = normalizeName;
export const normalizeLastName = normalizeName;

// ─── city ────────────────────────────────────────────────────────────────────────────────

/**
 * Meta: lowercase, remove punctuation, special characters and spaces (`New York` →
 * `newyork`); "Roman alphabet a-z recommended". Meta's Parameter Builder keeps only
 * `[a-z0-9]` after lowercasing, which would turn `São Paulo` into `sopaulo`. We follow the
 * docs' a-z recommendation instead: accents are folded first, so `São Paulo` and
 * `Sao Paulo` both give `saopaulo`. A city with no Latin letters at all (`東京`) keeps its
 * UTF-8 letters, as Meta's docs allow for special characters.
 */
export function normalizeCity(value: string): string | undefined {
  const s = prepare(value);
  if (s === undefined) return undefined;
  return orUndefined(asciiKey(s)) ?? orUndefined(unicodeKey(s));
}

// ─── state ───────────────────────────────────────────────────────────────────────────────

const US_STATES: Record<string, string> = {
  alabama: 'al', alaska: 'ak', arizona: 'az', arkansas: 'ar', california: 'ca',
  colorado: 'co', connecticut: 'ct', delaware: 'de', districtofcolumbia: 'dc',
  washingtondc: 'dc', florida: 'fl', georgia: 'ga', hawaii: 'hi', idaho: 'id',
  illinois: 'il', indiana: 'in', iowa: 'ia', kansas: 'ks', kentucky: 'ky',
  louisiana: 'la', maine: 'me', maryland: 'md', massachusetts: 'ma', michigan: 'mi',
  minnesota: 'mn', mississippi: 'ms', missouri: 'mo', montana: 'mt', nebraska: 'ne',
  nevada: 'nv', newhampshire: 'nh', newjersey: 'nj', newmexico: 'nm', newyork: 'ny',
  northcarolina: 'nc', northdakota: 'nd', ohio: 'oh', oklahoma: 'ok', oregon: 'or',
  pennsylvania: 'pa', rhodeisland: 'ri', southcarolina: 'sc', southdakota: 'sd',
  tennessee: 'tn', texas: 'tx', utah: 'ut', vermont: 'vt', virginia: 'va',
  washington: 'wa', westvirginia: 'wv', wisconsin: 'wi', wyoming: 'wy',
  puertorico: 'pr', guam: 'gu', americansamoa: 'as', usvirginislands: 'vi',
  northernmarianaislands: 'mp',
};

/** Brazilian states → UF codes (keys are accent-folded). */
const BR_STATES: Record<string, string> = {
  acre: 'ac', alagoas: 'al', amapa: 'ap', amazonas: 'am', bahia: 'ba', ceara: 'ce',
  distritofederal: 'df', espiritosanto: 'es', goias: 'go', maranhao: 'ma',
  matogrosso: 'mt', matogrossodosul: 'ms', minasgerais: 'mg', para: 'pa', paraiba: 'pb',
  parana: 'pr', pernambuco: 'pe', piaui: 'pi', riodejaneiro: 'rj',
  riograndedonorte: 'rn', riograndedosul: 'rs', rondonia: 'ro', roraima: 'rr',
  santacatarina: 'sc', saopaulo: 'sp', sergipe: 'se', tocantins: 'to',
};

/** Canadian provinces and territories (Meta's Parameter Builder maps these too). */
const CA_PROVINCES: Record<string, string> = {
  alberta: 'ab', britishcolumbia: 'bc', manitoba: 'mb', newbrunswick: 'nb',
  newfoundlandandlabrador: 'nl', newfoundland: 'nl', northwestterritories: 'nt',
  novascotia: 'ns', nunavut: 'nu', ontario: 'on', princeedwardisland: 'pe',
  quebec: 'qc', saskatchewan: 'sk', yukon: 'yt',
};

/**
 * Meta: US → 2-letter code lowercase (`California` → `ca`); elsewhere lowercase without
 * punctuation, special characters or spaces. Full US, Brazilian and Canadian state names
 * become their codes (`São Paulo` → `sp`); ISO 3166-2 codes (`BR-SP`) keep their subdivision
 * part. `country` (normalized alpha-2) restricts which name table applies.
 */
export function normalizeState(value: string, country?: string): string | undefined {
  let s = prepare(value);
  if (s === undefined) return undefined;
  const iso = /^([A-Za-z]{2})-([A-Za-z0-9]{1,3})$/.exec(s);
  if (iso?.[2] !== undefined) s = iso[2];
  const key = asciiKey(s);
  if (key === '') return orUndefined(unicodeKey(s));
  if (key.length <= 2) return key;
  const cc = country?.toLowerCase();
  const tables: Record<string, string>[] = [];
  if (cc === undefined || cc === 'us') tables.push(US_STATES);
  if (cc === undefined || cc === 'br') tables.push(BR_STATES);
  if (cc === undefined || cc === 'ca') tables.push(CA_PROVINCES);
  for (const table of tables) {
    const code = table[key];
    if (code !== undefined) return code;
  }
  return key;
}

// ─── zip ─────────────────────────────────────────────────────────────────────────────────

/**
 * Meta: lowercase, no spaces, no dash; US: first 5 digits only; UK `M1 1AE` → `m11ae`;
 * BR CEP `01310-100` → `01310100`. A value is treated as a US ZIP when `country` is `us`,
 * or when it has the ZIP+4 shape `12345-6789` (no other country writes postcodes that way).
 * For `us`, a 3–4 digit ZIP (leading zeros lost by a numeric field) is zero-padded.
 */
export function normalizeZip(value: string, country?: string): string | undefined {
  const s = prepare(value);
  if (s === undefined) return undefined;
  const key = asciiKey(s);
  if (key === '' || key.length > 16) return undefined;
  const isUs = country?.toLowerCase() === 'us' || /^\d{5}\s*-\s*\d{4}$/.test(s);
  if (isUs) {
    if (/^\d{5}/.test(key)) return key.slice(0, 5);
    if (/^\d{3,4}$/.test(key)) return key.padStart(5, '0');
  }
  return key;
}

// ─── country ─────────────────────────────────────────────────────────────────────────────

/** Codes Intl knows that are not ISO 3166-1 countries (regions, pseudo-locales, reserved). */
const NOT_COUNTRIES = new Set(['AC', 'CP', 'DG', 'EA', 'EU', 'EZ', 'IC', 'QO', 'TA', 'UN', 'UK', 'XA', 'XB', 'ZZ']);

/** Common spellings that are not display names in any locale. */
const COUNTRY_ALIASES: Record<string, string> = {
  usa: 'us', eua: 'us', eeuu: 'us', unitedstatesofamerica: 'us',
  estadosunidosdaamerica: 'us', estadosunidosdeamerica: 'us',
  uk: 'gb', greatbritain: 'gb', england: 'gb', scotland: 'gb', wales: 'gb',
  granbretana: 'gb', holland: 'nl', holanda: 'nl',
  // Former English names that Intl no longer uses.
  turkey: 'tr', czechrepublic: 'cz', swaziland: 'sz', macedonia: 'mk', ivorycoast: 'ci',
  easttimor: 'tl',
};

/** False for deprecated aliases Intl still names (`BU` → MM, `DD` → DE, `YU`, `ZR`…). */
function isCanonicalRegion(code: string): boolean {
  try {
    return Intl.getCanonicalLocales(`und-${code}`)[0] === `und-${code}`;
  } catch {
    return false;
  }
}

interface CountryTables {
  codes: Set<string>;
  names: Map<string, string>;
}
let countryTables: CountryTables | undefined;

/** Built on first use from Intl.DisplayNames over every two-letter code (en, pt, es). */
function getCountryTables(): CountryTables {
  if (countryTables) return countryTables;
  const codes = new Set<string>();
  const names = new Map<string, string>();
  const locales: [string, string][] = [['en', 'and'], ['pt', 'e'], ['es', 'y']];
  const displays = locales.flatMap(([locale, and]) =>
    (['long', 'short'] as const).map((style) => ({
      and,
      names: new Intl.DisplayNames([locale], { type: 'region', style, fallback: 'none' }),
    })),
  );
  const add = (name: string, code: string): void => {
    const key = asciiKey(name);
    if (key.length > 2 && !names.has(key)) names.set(key, code);
  };
  const A = 'A'.charCodeAt(0);
  for (let i = 0; i < 26; i++) {
    for (let j = 0; j < 26; j++) {
      const code = String.fromCharCode(A + i, A + j);
      if (NOT_COUNTRIES.has(code) || !isCanonicalRegion(code)) continue;
      let known = false;
      for (const d of displays) {
        let name: string | undefined;
        try {
          name = d.names.of(code);
        } catch {
          name = undefined;
        }
        if (name === undefined || name === code) continue;
        known = true;
        const lower = code.toLowerCase();
        add(name, lower);
        add(name.replace(/&/g, ` ${d.and} `), lower);
        // `Myanmar (Burma)` → also `Myanmar` and `Burma`; `Congo - Kinshasa` → also `Congo Kinshasa`.
        const paren = /^(.*?)\s*\((.*)\)\s*$/.exec(name);
        if (paren?.[1] !== undefined && paren[2] !== undefined) {
          add(paren[1], lower);
          add(paren[2], lower);
        }
        const sar = /^(.*?)\s+SAR\s+China$/.exec(name);
        if (sar?.[1] !== undefined) add(sar[1], lower);
      }
      if (known) codes.add(code.toLowerCase());
    }
  }
  for (const [alias, code] of Object.entries(COUNTRY_ALIASES)) {
    if (!names.has(alias)) names.set(alias, code);
  }
  countryTables = { codes, names };
  return countryTables;
}

/**
 * Meta: ISO 3166-1 alpha-2, lowercase (`us`, `br`). Accepts codes in any case and country
 * names in English, Portuguese or Spanish (`Brazil`/`Brasil` → `br`, `United States` → `us`).
 * Unknown values → undefined (never a made-up two-letter code).
 */
export function normalizeCountry(value: string): string | undefined {
  const s = prepare(value);
  if (s === undefined) return undefined;
  const key = asciiKey(s);
  if (key === '') return undefined;
  const tables = getCountryTables();
  if (key.length === 2) {
    if (key === 'uk') return 'gb';
    return tables.codes.has(key) ? key : undefined;
  }
  return tables.names.get(key);
}

// ─── date of birth ───────────────────────────────────────────────────────────────────────

export interface DateOfBirthOptions {
  /**
   * How to read an ambiguous `NN/NN/YYYY` where both numbers are ≤ 12. Default false:
   * month first, as in Meta's documented example `2/16/1997` (US). When one number is > 12
   * it is the day, whatever this says.
   */
  dayFirst?: boolean;
  /** Clock for the "not in the future" check (ms); default Date.now(). */
  now?: number;
}

function ymd(year: number, month: number, day: number, now: number): string | undefined {
  const currentYear = new Date(now).getUTCFullYear();
  if (year < 1900 || year > currentYear) return undefined;
  if (month < 1 || month > 12 || day < 1 || day > 31) return undefined;
  const date = new Date(Date.UTC(year, month - 1, day));
  if (date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day) return undefined; // 02/30
  if (date.getTime() > now) return undefined;
  return `${year}${String(month).padStart(2, '0')}${String(day).padStart(2, '0')}`;
}

function fromNumbers(a: number, b: number, year: number, dayFirst: boolean, now: number): string | undefined {
  if (a > 12) return ymd(year, b, a, now);
  if (b > 12) return ymd(year, a, b, now);
  return dayFirst ? ymd(year, b, a, now) : ymd(year, a, b, now);
}

/**
 * Meta: `YYYYMMDD` (`2/16/1997` → `19970216`). Accepts `1997-02-16`, `1997/02/16`,
 * `19970216`, `1997-02-16T00:00:00Z` (the written date is used, no time-zone shift),
 * `02/16/1997`, `16/02/1997`, `16.02.1997`. Two-digit years, textual months, impossible or
 * future dates and years before 1900 → undefined.
 */
export function normalizeDateOfBirth(value: string, opts: DateOfBirthOptions = {}): string | undefined {
  const s = prepare(value);
  if (s === undefined) return undefined;
  const now = opts.now ?? Date.now();
  const dayFirst = opts.dayFirst ?? false;
  let m = /^(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ]\d{1,2}:\d{2}.*)?$/.exec(s);
  if (m) return ymd(Number(m[1]), Number(m[2]), Number(m[3]), now);
  m = /^(\d{4})[/.](\d{1,2})[/.](\d{1,2})$/.exec(s);
  if (m) return ymd(Number(m[1]), Number(m[2]), Number(m[3]), now);
  m = /^(\d{1,2})[-/.](\d{1,2})[-/.](\d{4})$/.exec(s);
  if (m) return fromNumbers(Number(m[1]), Number(m[2]), Number(m[3]), dayFirst, now);
  m = /^(\d{4})(\d{2})(\d{2})$/.exec(s);
  if (m) {
    const asYmd = ymd(Number(m[1]), Number(m[2]), Number(m[3]), now);
    if (asYmd !== undefined) return asYmd;
    // `16021997` / `02161997`: the year is at the end.
    const tail = /^(\d{2})(\d{2})(\d{4})$/.exec(s);
    if (tail) return fromNumbers(Number(tail[1]), Number(tail[2]), Number(tail[3]), dayFirst, now);
  }
  return undefined;
}

// ─── gender ──────────────────────────────────────────────────────────────────────────────

const MALE = new Set([
  'm', 'male', 'man', 'masculine', 'mr', 'homem', 'masculino', 'masc', 'hombre', 'varon',
]);
const FEMALE = new Set([
  'f', 'female', 'woman', 'feminine', 'mrs', 'ms', 'miss', 'mulher', 'feminino', 'fem',
  'femenino', 'mujer',
]);

/** Meta: `m` or `f`. English, Portuguese and Spanish words map; anything else → undefined. */
export function normalizeGender(value: string): string | undefined {
  const s = prepare(value);
  if (s === undefined) return undefined;
  const key = foldToAscii(s).replace(/[^a-z]+/g, '');
  if (MALE.has(key)) return 'm';
  if (FEMALE.has(key)) return 'f';
  return undefined;
}

// ─── external_id ─────────────────────────────────────────────────────────────────────────

/** Trim and lowercase, so the browser pixel and the server hash the same string. */
export function normalizeExternalId(value: string): string | undefined {
  const s = prepare(value);
  return s === undefined ? undefined : s.toLowerCase();
}
