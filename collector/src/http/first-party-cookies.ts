// First-party identifier cookies, planned without any HTTP framework: given the request's
// host, the page URL and the cookies the browser sent, decide the identifiers of this event
// and the Set-Cookie headers that keep them alive.
//
// Why server-set: Safari caps cookies written by scripts (the pixels' own `_fbp`, `_fbc`,
// `_gcl_aw`…) to 7 days, or 24 h on a decorated landing URL, but not cookies set by an HTTP
// response from the site's own origin (reference/destinations.md §7). So the collector
// (re)writes `_fbp`/`_fbc` and keeps other click ids in its own `_tk_*` cookies, refreshing
// them on every visit. Call this only for events with marketing consent: these are ad cookies.
import { randomUUID } from 'node:crypto';
import { serialize } from 'cookie';
import { getDomain } from 'tldts';
import type { Identifiers } from '../event/schema.js';

/** 400 days, the longest lifetime browsers accept (RFC 6265bis); refreshed on each visit. */
export const COOKIE_MAX_AGE_SECONDS = 34_560_000;

/** Longest cookie value we store or read. */
const MAX_VALUE_LENGTH = 500;

/** RFC 6265 cookie-octets: printable ASCII except space, `"`, `,`, `;` and `\`. */
const COOKIE_VALUE_RE = /^[\x21\x23-\x2B\x2D-\x3A\x3C-\x5B\x5D-\x7E]+$/;

/** Landing-URL click ids we keep in our own `_tk_<key>` cookies (never the platforms'). */
export const CLICK_ID_PARAMS = [
  { param: 'gclid', key: 'gclid' },
  { param: 'ttclid', key: 'ttclid' },
  { param: 'msclkid', key: 'msclkid' },
  { param: 'epik', key: 'epik' },
  { param: 'ScCid', key: 'sccid' },
  { param: 'rdt_cid', key: 'rdt_cid' },
  { param: 'li_fat_id', key: 'li_fat_id' },
] as const satisfies readonly { param: string; key: keyof Identifiers }[];

export type ClickIdKey = (typeof CLICK_ID_PARAMS)[number]['key'];

/** Name of our own cookie for a click id: `_tk_gclid`, `_tk_sccid`, … */
export const clickIdCookieName = (key: ClickIdKey): string => `_tk_${key}`;

export interface FirstPartyCookieInput {
  /** Request `Host` (may carry a port). */
  host: string;
  /** Whether the request came over HTTPS (adds `Secure`). */
  secure: boolean;
  /** The page the event happened on; its query string carries `fbclid`, `gclid`, … */
  pageUrl?: string;
  /** Cookies the browser sent, already parsed (name → value). */
  cookies: Record<string, string | undefined>;
  /** Current time, Unix milliseconds. */
  now: number;
  /** Source of randomness in [0, 1); default Math.random. */
  random?: () => number;
}

export interface FirstPartyCookiePlan {
  ids: Identifiers;
  /** Complete `Set-Cookie` header values. */
  setCookies: string[];
}

function cleanValue(value: string | undefined | null): string | undefined {
  if (typeof value !== 'string') return undefined;
  const v = value.trim();
  if (v === '' || v.length > MAX_VALUE_LENGTH || !COOKIE_VALUE_RE.test(v)) return undefined;
  return v;
}

/** Lowercase host name without port, brackets or trailing dot. */
export function hostWithoutPort(host: string): string {
  let h = host.trim().toLowerCase();
  if (h.startsWith('[')) {
    const end = h.indexOf(']');
    return end > 0 ? h.slice(1, end) : h.slice(1);
  }
  const colon = h.indexOf(':');
  if (colon !== -1 && colon === h.lastIndexOf(':')) h = h.slice(0, colon); // name:port
  return h.replace(/\.+$/, '');
}

/**
 * The Domain attribute for our cookies: the registrable domain (eTLD+1, PSL private section
 * included, so `shop.herokuapp.com` stays `shop.herokuapp.com`) of `host`; undefined (a
 * host-only cookie) for hosts without one: `localhost`, `*.localhost`, IP addresses, single
 * labels.
 */
export function cookieDomainFor(host: string): string | undefined {
  const hostname = hostWithoutPort(host);
  if (hostname === '' || hostname === 'localhost' || hostname.endsWith('.localhost')) return undefined;
  const domain = getDomain(hostname, { allowPrivateDomains: true });
  return domain ?? undefined;
}

/**
 * Meta's `subdomainIndex`: labels of the cookie domain − 1 (`shop.com` → 1,
 * `loja.com.br` → 2); 1 for host-only cookies ("use 1 when generated server-side").
 */
export function subdomainIndexFor(domain: string | undefined): number {
  return domain === undefined ? 1 : domain.split('.').length - 1;
}

/** `fb.<index>.<ms>.<random>`, optionally followed by Parameter Builder's `.<appendix>`. */
const FBP_RE = /^fb\.\d{1,2}\.\d{1,16}\.\d{1,20}(?:\.[A-Za-z0-9_-]{1,64})?$/;
/** `fb.<index>.<ms>.<fbclid…>` */
const FBC_RE = /^fb\.\d{1,2}\.\d{1,16}\.(.+)$/;

/** The fbclid an existing `_fbc` was built from matches `fbclid`. */
function fbcHasClickId(fbc: string, fbclid: string): boolean {
  const m = FBC_RE.exec(fbc);
  if (!m?.[1]) return false;
  return m[1] === fbclid || m[1].startsWith(`${fbclid}.`) || fbc.endsWith(`.${fbclid}`);
}

/** Query parameters of the page URL (empty when absent or unparseable). */
function queryOf(pageUrl: string | undefined, hostname: string): URLSearchParams {
  if (!pageUrl) return new URLSearchParams();
  try {
    return new URL(pageUrl, `https://${hostname || 'localhost'}/`).searchParams;
  } catch {
    return new URLSearchParams();
  }
}

/** A query parameter by name: exact case first, then case-insensitively. */
function param(query: URLSearchParams, name: string): string | undefined {
  const exact = cleanValue(query.get(name));
  if (exact !== undefined) return exact;
  const lower = name.toLowerCase();
  for (const [k, v] of query) {
    if (k.toLowerCase() === lower) {
      const value = cleanValue(v);
      if (value !== undefined) return value;
    }
  }
  return undefined;
}

/** `_ga` = `GA1.<level>.<random>.<seconds>` → client id `<random>.<seconds>`. */
export function gaClientIdFromCookie(value: string | undefined): string | undefined {
  const v = cleanValue(value);
  if (v === undefined) return undefined;
  const parts = v.split('.');
  if (parts.length < 4 || !/^GA\d+$/i.test(parts[0] ?? '')) return undefined;
  const random = parts[parts.length - 2] ?? '';
  const seconds = parts[parts.length - 1] ?? '';
  if (!/^\d+$/.test(random) || !/^\d+$/.test(seconds)) return undefined;
  return `${random}.${seconds}`;
}

/** `_gcl_aw` = `GCL.<seconds>.<gclid>` → gclid. */
function gclidFromGclAw(value: string | undefined): string | undefined {
  const v = cleanValue(value);
  const m = v === undefined ? null : /^GCL\.\d+\.(.+)$/.exec(v);
  return m?.[1];
}

/** `_uetmsclkid` = `_uet<msclkid>` → msclkid. */
function msclkidFromUet(value: string | undefined): string | undefined {
  const v = cleanValue(value);
  if (v === undefined) return undefined;
  return v.startsWith('_uet') ? cleanValue(v.slice(4)) : v;
}

/** Platform cookies we read (never write) as a fallback for a click id. */
const PLATFORM_CLICK_ID_FALLBACK: Partial<Record<ClickIdKey, (cookies: FirstPartyCookieInput['cookies']) => string | undefined>> = {
  gclid: (c) => gclidFromGclAw(c['_gcl_aw']),
  ttclid: (c) => cleanValue(c['ttclid']), // TikTok's own template keeps it under this name
  msclkid: (c) => msclkidFromUet(c['_uetmsclkid']),
  epik: (c) => cleanValue(c['_epik']),
  rdt_cid: (c) => cleanValue(c['_rdt_cid']),
  li_fat_id: (c) => cleanValue(c['li_fat_id']), // LinkedIn's Insight Tag cookie
};

export interface ReadIdentifiersOptions {
  /**
   * When given, an `fbclid` in the page URL that the `_fbc` cookie does not already carry
   * yields a fresh `fbc` = `fb.<subdomainIndex>.<now>.<fbclid>` (Meta: "construct it from
   * fbclid when there is no cookie"). Without it, only an existing `_fbc` is read.
   */
  now?: number;
  /** Meta's subdomain index for a constructed `fbc`; default 1 ("1 when generated server-side"). */
  subdomainIndex?: number;
}

interface ReadIds {
  ids: Identifiers;
  /** Click ids that came from the URL or our own `_tk_` cookie (the planner refreshes those). */
  ownClickIds: ClickIdKey[];
}

function readIds(cookies: Record<string, string | undefined>, query: URLSearchParams, opts: ReadIdentifiersOptions): ReadIds {
  const ids: Identifiers = {};
  const ownClickIds: ClickIdKey[] = [];

  const fbp = cleanValue(cookies['_fbp']);
  if (fbp !== undefined && FBP_RE.test(fbp)) ids.fbp = fbp;

  // _fbc: a new fbclid in the URL makes a new value; the same fbclid keeps the old one.
  const fbcRaw = cleanValue(cookies['_fbc']);
  let fbc = fbcRaw !== undefined && FBC_RE.test(fbcRaw) ? fbcRaw : undefined;
  const fbclid = param(query, 'fbclid');
  if (opts.now !== undefined && fbclid !== undefined && (fbc === undefined || !fbcHasClickId(fbc, fbclid))) {
    const candidate = `fb.${opts.subdomainIndex ?? 1}.${Math.trunc(opts.now)}.${fbclid}`;
    if (cleanValue(candidate) === candidate) fbc = candidate;
  }
  if (fbc !== undefined) ids.fbc = fbc;

  // Other click ids: URL > our _tk_ cookie > the platform's own cookie.
  for (const { param: name, key } of CLICK_ID_PARAMS) {
    const value = param(query, name) ?? cleanValue(cookies[clickIdCookieName(key)]);
    if (value !== undefined) {
      ids[key] = value;
      ownClickIds.push(key);
      continue;
    }
    const fromPlatform = PLATFORM_CLICK_ID_FALLBACK[key]?.(cookies);
    if (fromPlatform !== undefined) ids[key] = fromPlatform;
  }

  // Platform browser ids.
  const ttp = cleanValue(cookies['_ttp']);
  if (ttp !== undefined) ids.ttp = ttp;
  const ga = gaClientIdFromCookie(cookies['_ga']);
  if (ga !== undefined && ga.length <= 200) ids.ga_client_id = ga;
  const scid = cleanValue(cookies['_scid']);
  if (scid !== undefined) ids.scid = scid;
  const rdtUuid = cleanValue(cookies['_rdt_uuid']);
  if (rdtUuid !== undefined) ids.rdt_uuid = rdtUuid;
  const gaSession = gaSessionIdFromCookies(cookies);
  if (gaSession !== undefined) ids.ga_session_id = gaSession;

  // Our own visitor and session ids, when well formed.
  const vid = cleanValue(cookies[VISITOR_COOKIE]);
  if (vid !== undefined && VISITOR_ID_RE.test(vid)) ids.visitor_id = vid;
  const sid = cleanValue(cookies[SESSION_COOKIE]);
  if (sid !== undefined && SESSION_ID_RE.test(sid)) ids.session_id = sid;

  return { ids, ownClickIds };
}

/**
 * The identifiers a shopper's cookies (and, optionally, the page URL's click ids) carry,
 * read only: nothing is minted and no cookie is planned. Malformed values are ignored.
 * Used by the server API for cookie values a merchant's backend forwards, and by
 * `planFirstPartyCookies`.
 */
export function readIdentifiersFromCookies(
  cookies: Record<string, string | undefined>,
  pageUrl?: string,
  opts: ReadIdentifiersOptions = {},
): Identifiers {
  return readIds(cookies, queryOf(pageUrl, ''), opts).ids;
}

export function planFirstPartyCookies(input: FirstPartyCookieInput): FirstPartyCookiePlan {
  const { cookies, now, secure } = input;
  const random = input.random ?? Math.random;
  const hostname = hostWithoutPort(input.host);
  const domain = cookieDomainFor(input.host);
  const index = subdomainIndexFor(domain);
  const { ids, ownClickIds } = readIds(cookies, queryOf(input.pageUrl, hostname), { now, subdomainIndex: index });
  const setCookies: string[] = [];

  const write = (name: string, value: string, maxAge = COOKIE_MAX_AGE_SECONDS): void => {
    if (cleanValue(value) !== value) return; // not storable as a cookie
    setCookies.push(
      serialize(name, value, {
        encode: (v) => v, // values are validated cookie-octets; keep them byte-exact for the pixels
        maxAge,
        ...(domain !== undefined ? { domain } : {}),
        path: '/',
        sameSite: 'lax',
        secure,
        httpOnly: false,
      }),
    );
  };

  // _fbp: keep a well-formed one, else mint fb.{index}.{ms}.{random 31-bit}.
  ids.fbp ??= `fb.${index}.${Math.trunc(now)}.${Math.floor(random() * 2147483647)}`;
  write('_fbp', ids.fbp);
  if (ids.fbc !== undefined) write('_fbc', ids.fbc);

  // Click ids from the URL or our cookies are (re)written to our own cookies; the
  // platforms' cookies are only read.
  for (const key of ownClickIds) {
    const value = ids[key];
    if (value !== undefined) write(clickIdCookieName(key), value);
  }

  // Our own visitor id (400 days) and session id (30 minutes, sliding): server events that
  // carry them are linked to this browser's signals. The session id is the session's start
  // in unix seconds, the form GA4 uses.
  ids.visitor_id ??= randomUUID();
  write(VISITOR_COOKIE, ids.visitor_id);
  ids.session_id ??= String(Math.floor(now / 1000));
  write(SESSION_COOKIE, ids.session_id, SESSION_MAX_AGE_SECONDS);

  return { ids, setCookies };
}

export const VISITOR_COOKIE = '_tk_vid';
export const SESSION_COOKIE = '_tk_sid';
export const SESSION_MAX_AGE_SECONDS = 30 * 60;
const VISITOR_ID_RE = /^[A-Za-z0-9-]{16,64}$/;
const SESSION_ID_RE = /^\d{9,11}$/;

/**
 * GA4's session id from its `_ga_<container>` cookie: `GS1.1.<session>.…` (older) or
 * `GS2.1.s<session>$o…` (newer format).
 */
export function gaSessionIdFromCookies(cookies: Record<string, string | undefined>): string | undefined {
  for (const [name, value] of Object.entries(cookies)) {
    if (!name.startsWith('_ga_') || !value) continue;
    const m = /^GS1\.\d+\.(\d{9,11})\./.exec(value) ?? /^GS2\.\d+\.s(\d{9,11})(?:\$|$)/.exec(value);
    if (m) return m[1];
  }
  return undefined;
}
