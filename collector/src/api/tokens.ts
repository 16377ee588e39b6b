// API tokens: created for one site and environment, shown in clear once, stored only as a
// SHA-256 hash. A `pixel` token may only be used on the GET form (e-mail pixels), where it
// sits in plain sight in HTML; an `events` token works everywhere.
//
//   trk_prod_<43 chars>      events token, production
//   trkpx_stg_<43 chars>     pixel token, staging
import { createHash, randomBytes } from 'node:crypto';
import type { ApiTokenEnv, ApiTokenRecord, ApiTokenScope, Store } from '../store/types.js';

export const TOKEN_ENVS = ['production', 'staging', 'development'] as const satisfies readonly ApiTokenEnv[];
export const TOKEN_SCOPES = ['events', 'pixel'] as const satisfies readonly ApiTokenScope[];

const ENV_TAG: Record<ApiTokenEnv, string> = { production: 'prod', staging: 'stg', development: 'dev' };
const SCOPE_TAG: Record<ApiTokenScope, string> = { events: 'trk', pixel: 'trkpx' };

/** The shape of every token we issue: anything else is refused without a store lookup. */
export const TOKEN_RE = /^(trk|trkpx)_(prod|stg|dev)_[A-Za-z0-9_-]{43}$/;

/** Lowercase hex SHA-256 of a token: what the store keeps and looks tokens up by. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

export interface NewTokenInput {
  site_id: string;
  env: ApiTokenEnv;
  name?: string | null;
  scope?: ApiTokenScope;
}

export interface CreatedToken {
  /** The token in clear: give it to the user now, it cannot be shown again. */
  token: string;
  record: ApiTokenRecord;
}

export async function createToken(store: Pick<Store, 'createApiToken'>, input: NewTokenInput, now: number): Promise<CreatedToken> {
  const scope = input.scope ?? 'events';
  const secret = randomBytes(32).toString('base64url'); // 43 characters, 256 bits
  const head = `${SCOPE_TAG[scope]}_${ENV_TAG[input.env]}_`;
  const token = head + secret;
  const record: ApiTokenRecord = {
    id: `tok_${randomBytes(8).toString('hex')}`,
    site_id: input.site_id,
    env: input.env,
    name: input.name ?? null,
    scope,
    token_hash: hashToken(token),
    prefix: head + secret.slice(0, 6),
    created_at: now,
    revoked_at: null,
    last_used_at: null,
  };
  await store.createApiToken(record);
  return { token, record };
}

export function listTokens(store: Pick<Store, 'listApiTokens'>, siteId?: string): Promise<ApiTokenRecord[]> {
  return store.listApiTokens(siteId);
}

/** true when the token was active and is now revoked. */
export function revokeToken(store: Pick<Store, 'revokeApiToken'>, id: string, now: number): Promise<boolean> {
  return store.revokeApiToken(id, now);
}
