// The visitor's IP address, as the ad platforms want it (Meta: client_ip_address, IPv6
// preferred when present). Pure: the caller supplies the socket peer, the
// X-Forwarded-For header and a predicate saying which peers are our own proxies.
import ipaddr from 'ipaddr.js';

type Parsed = ipaddr.IPv4 | ipaddr.IPv6;

/** Ranges that are never a visitor's Internet address. */
const NON_PUBLIC_V4 = new Set(['unspecified', 'broadcast', 'multicast', 'linkLocal', 'loopback', 'carrierGradeNat', 'private']);
const NON_PUBLIC_V6 = new Set(['unspecified', 'linkLocal', 'multicast', 'loopback', 'uniqueLocal', 'deprecatedSiteLocal']);

/**
 * Parse one address as it appears in a socket or an X-Forwarded-For entry: optional quotes,
 * `1.2.3.4:567`, `[2001:db8::1]:443`, `[::1]`. IPv4 must be dotted four-part decimal.
 * IPv4-mapped IPv6 (`::ffff:1.2.3.4`) becomes the IPv4 address.
 */
function parseAddress(raw: string | undefined): Parsed | undefined {
  if (typeof raw !== 'string') return undefined;
  let s = raw.trim().replace(/^"(.*)"$/, '$1').trim();
  if (s === '' || s.length > 100) return undefined;
  if (s.startsWith('[')) {
    const end = s.indexOf(']');
    if (end === -1) return undefined;
    const rest = s.slice(end + 1);
    if (rest !== '' && !/^:\d{1,5}$/.test(rest)) return undefined;
    s = s.slice(1, end);
  } else {
    const v4WithPort = /^(\d{1,3}(?:\.\d{1,3}){3}):\d{1,5}$/.exec(s);
    if (v4WithPort?.[1] !== undefined) s = v4WithPort[1];
  }
  let addr: Parsed;
  if (ipaddr.IPv4.isValidFourPartDecimal(s)) {
    addr = ipaddr.IPv4.parse(s);
  } else if (s.includes(':') && ipaddr.IPv6.isValid(s)) {
    addr = ipaddr.IPv6.parse(s);
  } else {
    return undefined;
  }
  if (addr.kind() === 'ipv6' && (addr as ipaddr.IPv6).isIPv4MappedAddress()) {
    return (addr as ipaddr.IPv6).toIPv4Address();
  }
  return addr;
}

function format(addr: Parsed): string {
  return addr.kind() === 'ipv6' ? (addr as ipaddr.IPv6).toRFC5952String() : addr.toString();
}

function isPublicParsed(addr: Parsed): boolean {
  return addr.kind() === 'ipv4'
    ? !NON_PUBLIC_V4.has((addr as ipaddr.IPv4).range())
    : !NON_PUBLIC_V6.has((addr as ipaddr.IPv6).range());
}

/** The address in normal form (`::ffff:1.2.3.4` → `1.2.3.4`, IPv6 RFC 5952), or undefined. */
export function normalizeIp(addr: string | undefined): string | undefined {
  const parsed = parseAddress(addr);
  return parsed === undefined ? undefined : format(parsed);
}

/**
 * True for an address that can be a visitor's Internet address: not private, loopback,
 * link-local, CGNAT (100.64/10), unique-local (fc00::/7), unspecified, multicast or
 * broadcast. Documentation/reserved ranges (192.0.2/24, 2001:db8::/32…) count as public:
 * they never route, so in production they cannot appear, and examples and tests use them.
 */
export function isPublicIp(addr: string): boolean {
  const parsed = parseAddress(addr);
  return parsed !== undefined && isPublicParsed(parsed);
}

export interface ResolveClientIpOptions {
  /** The TCP peer (`req.socket.remoteAddress`). */
  remoteAddress: string | undefined;
  /** The raw `X-Forwarded-For` header (entries joined with commas). */
  forwardedFor: string | undefined;
  /** Whether a peer address is one of our own reverse proxies / load balancers. */
  isTrustedProxy: (addr: string) => boolean;
}

/**
 * The client address: the peer itself unless the peer is a trusted proxy; behind a trusted
 * proxy, the first public address in X-Forwarded-For read left to right (the original
 * client end, as Meta's Parameter Builder does), else the right-most valid entry, else
 * the peer.
 */
export function resolveClientIp(opts: ResolveClientIpOptions): string | undefined {
  const raw = opts.remoteAddress;
  const peer = parseAddress(raw);
  const peerText = peer === undefined ? undefined : format(peer);
  if (peerText === undefined) return undefined;

  let trusted = false;
  try {
    trusted = (raw !== undefined && opts.isTrustedProxy(raw)) || (raw !== peerText && opts.isTrustedProxy(peerText));
  } catch {
    trusted = false;
  }
  if (!trusted || !opts.forwardedFor) return peerText;

  const entries = opts.forwardedFor
    .split(',')
    .slice(0, 50)
    .map(parseAddress)
    .filter((a): a is Parsed => a !== undefined);
  const firstPublic = entries.find(isPublicParsed);
  if (firstPublic) return format(firstPublic);
  const last = entries[entries.length - 1];
  return last ? format(last) : peerText;
}
