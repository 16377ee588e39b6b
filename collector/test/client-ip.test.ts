import { describe, expect, it } from 'vitest';
import { isPublicIp, normalizeIp, resolveClientIp } from '../src/http/client-ip.js';

const trustLoopbackAndPrivate = (addr: string): boolean =>
  addr === '127.0.0.1' || addr === '::1' || addr.startsWith('10.');
const trustNothing = (): boolean => false;

describe('resolveClientIp', () => {
  it('returns the peer and ignores X-Forwarded-For when the peer is not a trusted proxy', () => {
    expect(resolveClientIp({ remoteAddress: '81.2.69.160', forwardedFor: '1.1.1.1', isTrustedProxy: trustNothing })).toBe('81.2.69.160');
    expect(
      resolveClientIp({ remoteAddress: '81.2.69.160', forwardedFor: '8.8.8.8', isTrustedProxy: trustLoopbackAndPrivate }),
    ).toBe('81.2.69.160');
  });

  it('takes the first public address behind a trusted proxy, skipping private hops', () => {
    expect(
      resolveClientIp({ remoteAddress: '10.0.0.2', forwardedFor: '81.2.69.160, 10.0.0.1', isTrustedProxy: trustLoopbackAndPrivate }),
    ).toBe('81.2.69.160');
    expect(
      resolveClientIp({
        remoteAddress: '127.0.0.1',
        forwardedFor: '10.1.1.1, 192.168.0.5, 100.64.3.4, 172.16.0.1, 169.254.1.1, 127.0.0.1, 0.0.0.0, 81.2.69.160, 8.8.8.8',
        isTrustedProxy: trustLoopbackAndPrivate,
      }),
    ).toBe('81.2.69.160');
  });

  it('skips garbage entries and strips ports', () => {
    expect(
      resolveClientIp({
        remoteAddress: '127.0.0.1',
        forwardedFor: 'unknown, , garbage, 300.1.1.1, 0x7f.1, 127.1, 81.2.69.160:5678',
        isTrustedProxy: trustLoopbackAndPrivate,
      }),
    ).toBe('81.2.69.160');
  });

  it('handles IPv6, bracketed with port, in normal form', () => {
    expect(
      resolveClientIp({
        remoteAddress: '::1',
        forwardedFor: 'fd00::1, fe80::1%eth0, [2606:4700:4700:0:0:0:0:1111]:443',
        isTrustedProxy: trustLoopbackAndPrivate,
      }),
    ).toBe('2606:4700:4700::1111');
    expect(
      resolveClientIp({ remoteAddress: '::1', forwardedFor: '2001:4860:4860:0000:0000:0000:0000:8888', isTrustedProxy: trustLoopbackAndPrivate }),
    ).toBe('2001:4860:4860::8888');
  });

  it('turns IPv4-mapped IPv6 into IPv4, in the header and for the peer', () => {
    expect(
      resolveClientIp({ remoteAddress: '::ffff:127.0.0.1', forwardedFor: '::ffff:81.2.69.160', isTrustedProxy: trustLoopbackAndPrivate }),
    ).toBe('81.2.69.160');
    expect(resolveClientIp({ remoteAddress: '::ffff:81.2.69.160', forwardedFor: undefined, isTrustedProxy: trustNothing })).toBe(
      '81.2.69.160',
    );
  });

  it('asks the trust predicate with the raw and the unmapped peer address', () => {
    const seen: string[] = [];
    const trust = (addr: string): boolean => {
      seen.push(addr);
      return addr === '10.0.0.2';
    };
    expect(resolveClientIp({ remoteAddress: '::ffff:10.0.0.2', forwardedFor: '81.2.69.160', isTrustedProxy: trust })).toBe('81.2.69.160');
    expect(seen).toEqual(['::ffff:10.0.0.2', '10.0.0.2']);
  });

  it('falls back to the right-most valid entry when no entry is public', () => {
    expect(
      resolveClientIp({ remoteAddress: '10.0.0.2', forwardedFor: '192.168.1.9, garbage, 10.0.0.7, nope', isTrustedProxy: trustLoopbackAndPrivate }),
    ).toBe('10.0.0.7');
  });

  it('falls back to the peer when the header is missing or all garbage', () => {
    expect(resolveClientIp({ remoteAddress: '10.0.0.2', forwardedFor: undefined, isTrustedProxy: trustLoopbackAndPrivate })).toBe('10.0.0.2');
    expect(resolveClientIp({ remoteAddress: '10.0.0.2', forwardedFor: '', isTrustedProxy: trustLoopbackAndPrivate })).toBe('10.0.0.2');
    expect(resolveClientIp({ remoteAddress: '10.0.0.2', forwardedFor: 'x, y, z', isTrustedProxy: trustLoopbackAndPrivate })).toBe('10.0.0.2');
  });

  it('returns undefined without a usable peer', () => {
    expect(resolveClientIp({ remoteAddress: undefined, forwardedFor: '81.2.69.160', isTrustedProxy: () => true })).toBeUndefined();
    expect(resolveClientIp({ remoteAddress: 'not-an-ip', forwardedFor: '81.2.69.160', isTrustedProxy: () => true })).toBeUndefined();
  });

  it('treats a throwing trust predicate as untrusted', () => {
    const trust = (): boolean => {
      throw new Error('boom');
    };
    expect(resolveClientIp({ remoteAddress: '10.0.0.2', forwardedFor: '81.2.69.160', isTrustedProxy: trust })).toBe('10.0.0.2');
  });
});

describe('isPublicIp', () => {
  it.each(['81.2.69.160', '8.8.8.8', '2606:4700:4700::1111', '::ffff:8.8.8.8', '203.0.113.7', '[2001:db8::1]:443'])('%s is public', (addr) => {
    expect(isPublicIp(addr)).toBe(true);
  });

  it.each([
    '10.0.0.1',
    '172.16.5.4',
    '172.31.255.255',
    '192.168.1.1',
    '127.0.0.1',
    '169.254.169.254',
    '100.64.0.1',
    '100.127.255.254',
    '0.0.0.0',
    '255.255.255.255',
    '224.0.0.1',
    '::',
    '::1',
    'fe80::1',
    'fc00::1',
    'fd12:3456::1',
    'ff02::1',
    '::ffff:10.0.0.1',
    'garbage',
    '',
    '1.2.3',
  ])('%s is not public', (addr) => {
    expect(isPublicIp(addr)).toBe(false);
  });

  it('treats 100.63.x and 172.32.x as public (just outside CGNAT / RFC 1918)', () => {
    expect(isPublicIp('100.63.255.255')).toBe(true);
    expect(isPublicIp('172.32.0.1')).toBe(true);
  });
});

describe('normalizeIp', () => {
  it('returns addresses in normal form', () => {
    expect(normalizeIp('::FFFF:1.2.3.4')).toBe('1.2.3.4');
    expect(normalizeIp('2001:0DB8:0000:0000:0000:0000:0000:0001')).toBe('2001:db8::1');
    expect(normalizeIp('1.2.3.4:80')).toBe('1.2.3.4');
    expect(normalizeIp('nope')).toBeUndefined();
  });
});
