// Admin login for the dashboard: one password, stateless sessions in an HMAC-signed,
// HttpOnly, SameSite=Strict cookie, a CSRF token derived from the session, and a limit on
// failed logins per client address.
import { createHash, createHmac, randomBytes, scryptSync, timingSafeEqual } from 'node:crypto';
import type { Request, Response } from 'express';
import { parse as parseCookies, serialize as serializeCookie } from 'cookie';
import type { AdminConfig } from './config.js';

export const SESSION_COOKIE = 'trakvo_admin';
const SCRYPT = { N: 16384, r: 8, p: 1, maxmem: 64 * 1024 * 1024 } as const;

const b64url = (b: Buffer | string) => Buffer.from(b).toString('base64url');
const sha256 = (s: string) => createHash('sha256').update(s, 'utf8').digest();

function sameBytes(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/** `scrypt:<salt hex>:<key hex>` for `password` (the format `passwordHash` takes). */
export function hashAdminPassword(password: string, salt: Buffer = randomBytes(16)): string {
  return `scrypt:${salt.toString('hex')}:${scryptSync(password, salt, 32, SCRYPT).toString('hex')}`;
}

export function checkPassword(admin: AdminConfig, given: string): boolean {
  if (admin.passwordHash) {
    const [, saltHex, keyHex] = admin.passwordHash.split(':') as [string, string, string];
    const key = scryptSync(given, Buffer.from(saltHex, 'hex'), 32, SCRYPT);
    return sameBytes(key, Buffer.from(keyHex, 'hex'));
  }
  // Hash both sides so the comparison takes the same time whatever the lengths.
  return sameBytes(sha256(given), sha256(admin.password ?? randomBytes(32).toString('hex')));
}

export interface Session {
  /** Random id: the CSRF token is derived from it. */
  sid: string;
  /** Unix seconds. */
  exp: number;
}

export interface Sessions {
  /** Sets the cookie for a new session. */
  start(req: Request, res: Response): Session;
  /** The valid session the request carries, if any. */
  read(req: Request): Session | undefined;
  end(req: Request, res: Response): void;
  csrfToken(session: Session): string;
  checkCsrf(session: Session, token: unknown): boolean;
}

/**
 * Sessions keyed by the session secret and the password: changing the password logs every
 * session out. Logout is remembered in memory until the session would have expired anyway.
 */
export function createSessions(admin: AdminConfig, now: () => number): Sessions {
  const secret = admin.sessionSecret ?? randomBytes(32).toString('hex');
  const credential = admin.passwordHash ?? admin.password ?? '';
  const key = createHmac('sha256', secret).update(`trakvo-admin-session\u0000${sha256(credential).toString('hex')}`).digest();
  const ended = new Map<string, number>();
  const ttlSec = Math.round(admin.sessionHours * 3600);

  const sign = (what: string) => createHmac('sha256', key).update(what).digest();
  const cookiePath = (req: Request) => req.baseUrl || '/';
  const nowSec = () => Math.floor(now() / 1000);

  return {
    start(req, res) {
      const session: Session = { sid: b64url(randomBytes(18)), exp: nowSec() + ttlSec };
      const payload = b64url(JSON.stringify(session));
      const value = `${payload}.${b64url(sign(`session.${payload}`))}`;
      res.append(
        'Set-Cookie',
        serializeCookie(SESSION_COOKIE, value, {
          httpOnly: true,
          sameSite: 'strict',
          secure: req.secure,
          path: cookiePath(req),
          maxAge: ttlSec,
        }),
      );
      return session;
    },

    read(req) {
      const raw = parseCookies(req.get('cookie') ?? '')[SESSION_COOKIE];
      if (!raw) return undefined;
      const dot = raw.indexOf('.');
      if (dot <= 0) return undefined;
      const payload = raw.slice(0, dot);
      const mac = Buffer.from(raw.slice(dot + 1), 'base64url');
      if (!sameBytes(mac, sign(`session.${payload}`))) return undefined;
      let session: Session;
      try {
        session = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Session;
      } catch {
        return undefined;
      }
      if (typeof session.sid !== 'string' || typeof session.exp !== 'number') return undefined;
      if (session.exp <= nowSec() || ended.has(session.sid)) return undefined;
      return session;
    },

    end(req, res) {
      const session = this.read(req);
      if (session) {
        ended.set(session.sid, session.exp);
        const t = nowSec();
        for (const [sid, exp] of ended) if (exp <= t) ended.delete(sid);
      }
      res.append(
        'Set-Cookie',
        serializeCookie(SESSION_COOKIE, '', { httpOnly: true, sameSite: 'strict', secure: req.secure, path: cookiePath(req), maxAge: 0 }),
      );
    },

    csrfToken(session) {
      return b64url(sign(`csrf.${session.sid}`));
    },

    checkCsrf(session, token) {
      if (typeof token !== 'string' || token === '') return false;
      return sameBytes(Buffer.from(token), Buffer.from(this.csrfToken(session)));
    },
  };
}

/**
 * A request that changes something must come from the dashboard's own pages: a browser's
 * `Sec-Fetch-Site` and `Origin`, when sent, have to say same-origin.
 */
export function isSameOriginRequest(req: Request): boolean {
  const site = req.get('sec-fetch-site');
  if (site !== undefined && site !== 'same-origin') return false;
  const origin = req.get('origin');
  if (origin === undefined) return true;
  try {
    return new URL(origin).host === req.get('host');
  } catch {
    return false;
  }
}

export interface LoginLimiter {
  /** Seconds to wait before another try, or 0 when allowed. */
  retryAfter(client: string): number;
  failed(client: string): void;
  succeeded(client: string): void;
}

/** At most `max` failed logins per client within `windowMs` (in memory, one process). */
export function createLoginLimiter(now: () => number, max = 10, windowMs = 15 * 60_000): LoginLimiter {
  const failures = new Map<string, number[]>();
  const recent = (client: string) => {
    const t = now();
    const list = (failures.get(client) ?? []).filter((at) => at > t - windowMs);
    if (list.length) failures.set(client, list);
    else failures.delete(client);
    return list;
  };
  return {
    retryAfter(client) {
      const list = recent(client);
      if (list.length < max) return 0;
      return Math.max(1, Math.ceil((list[list.length - max]! + windowMs - now()) / 1000));
    },
    failed(client) {
      if (failures.size > 10_000) for (const c of [...failures.keys()]) recent(c);
      failures.set(client, [...recent(client), now()]);
    },
    succeeded(client) {
      failures.delete(client);
    },
  };
}
