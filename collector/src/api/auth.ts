// Who is calling: a Bearer token (or the documented `?api_key=` fallback), looked up by its
// SHA-256 and then compared in constant time. The token decides the site; its scope decides
// which endpoints it may use.
import { timingSafeEqual } from 'node:crypto';
import type { Request } from 'express';
import type { SiteConfig } from '../config/schema.js';
import type { Logger } from '../log.js';
import type { ApiTokenEnv, ApiTokenRecord, Store } from '../store/types.js';
import { hashToken, TOKEN_RE } from './tokens.js';

export interface ApiPrincipal {
  token: ApiTokenRecord;
  site: SiteConfig;
}

export type AuthResult =
  | { ok: true; principal: ApiPrincipal }
  | { ok: false; status: 401 | 403; code: string; message: string };

export interface AuthenticatorDeps {
  store: Pick<Store, 'findApiTokenByHash' | 'touchApiToken'>;
  sites: Map<string, SiteConfig>;
  /** When set, tokens of other environments are refused. */
  environment?: ApiTokenEnv;
  now: () => number;
  logger?: Logger;
}

/** `last_used_at` is written at most this often per token (it is informational). */
const TOUCH_EVERY_MS = 60_000;

/** The token a request carries: the Authorization header first, then `?api_key=`. */
export function tokenOf(req: Request): { token: string } | { error: string } | undefined {
  const header = req.get('authorization');
  if (header !== undefined) {
    const m = /^Bearer[ ]+(\S+)\s*$/i.exec(header);
    return m?.[1] ? { token: m[1] } : { error: 'use the header "Authorization: Bearer <token>"' };
  }
  const key = req.query['api_key'];
  if (typeof key === 'string' && key !== '') return { token: key };
  if (key !== undefined) return { error: 'give api_key once, as a string' };
  return undefined;
}

const unauthorized = (message: string): AuthResult => ({ ok: false, status: 401, code: 'unauthorized', message });

export function createAuthenticator(deps: AuthenticatorDeps) {
  const touched = new Map<string, number>();

  function touch(id: string, t: number): void {
    if (t - (touched.get(id) ?? 0) < TOUCH_EVERY_MS) return;
    touched.set(id, t);
    deps.store.touchApiToken(id, t).catch((err: unknown) => deps.logger?.warn({ err }, 'could not record API token use'));
  }

  return {
    /** `pixelForm`: the request is the GET form, the only place a pixel-scoped token works. */
    async authenticate(req: Request, opts: { pixelForm: boolean }): Promise<AuthResult> {
      const found = tokenOf(req);
      if (found === undefined) return unauthorized('send your API token: "Authorization: Bearer <token>" (or ?api_key=<token>)');
      if ('error' in found) return unauthorized(found.error);
      if (!TOKEN_RE.test(found.token)) return unauthorized('the API token is invalid or revoked');

      const hash = hashToken(found.token);
      const record = await deps.store.findApiTokenByHash(hash);
      // The lookup is by hash already; compare again in constant time so that no store
      // (case-insensitive collations, prefix indexes…) can make a near miss count.
      const expected = Buffer.from(hash, 'hex');
      const stored = Buffer.from(record?.token_hash ?? '', 'hex');
      const same = stored.length === expected.length && timingSafeEqual(stored, expected);
      if (!record || !same || record.revoked_at !== null) return unauthorized('the API token is invalid or revoked');

      if (deps.environment && record.env !== deps.environment) {
        return unauthorized(`this is a ${record.env} token; this collector accepts ${deps.environment} tokens only`);
      }
      const site = deps.sites.get(record.site_id);
      if (!site) return unauthorized(`the token's site "${record.site_id}" is not configured on this collector`);
      if (record.scope === 'pixel' && !opts.pixelForm) {
        return { ok: false, status: 403, code: 'forbidden', message: 'a pixel token only works on GET /v1/pixel.gif; use an events token' };
      }
      touch(record.id, deps.now());
      return { ok: true, principal: { token: record, site } };
    },
  };
}
export type Authenticator = ReturnType<typeof createAuthenticator>;
