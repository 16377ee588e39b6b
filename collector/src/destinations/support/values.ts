// Generic checks and conversions of the values destinations send. What a platform does with
// them (which field, hashed or not) stays in the platform's file.
import { createHash } from 'node:crypto';
import { isIP } from 'node:net';

/** A string that is there and not empty. */
export function present(s: string | undefined): s is string {
  return s !== undefined && s !== '';
}

/** An http(s) URL with no white space (platforms refuse anything else as a page URL). */
export function isHttpUrl(s: string | undefined): s is string {
  return s !== undefined && /^https?:\/\/\S+$/i.test(s);
}

/** A valid IPv4 or IPv6 address (a malformed one would make a platform refuse the event). */
export function isIpAddress(s: string | undefined): s is string {
  return present(s) && isIP(s) !== 0;
}

export function sha256Hex(s: string): string {
  return createHash('sha256').update(s, 'utf8').digest('hex');
}

/** A configured base URL without its trailing slashes, ready for a path. */
export function withoutTrailingSlash(url: string): string {
  return url.replace(/\/+$/, '');
}

/**
 * The value a config map (e.g. `eventNames`) gives `key`, when it has one of its own
 * (`Object.hasOwn`: an event named "constructor" is not the prototype's).
 */
export function ownValue<V>(map: Record<string, V> | undefined, key: string): V | undefined {
  return map !== undefined && Object.hasOwn(map, key) ? map[key] : undefined;
}
