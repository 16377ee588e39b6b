// Tokens over real HTTP: Bearer and ?api_key=, revocation, environments, scopes, the
// constant-time comparison after the hashed lookup, and what the store keeps.
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createToken, hashToken, TOKEN_RE } from '../../src/api/tokens.js';
import type { ApiTokenRecord, Store } from '../../src/store/types.js';
import { postJson, startHarness, type Harness } from './harness.js';
import { checkResponse, type Schema } from './json-schema.js';

let h: Harness;
let doc: Schema;
let lookups = 0;
/** When set, the store answers every lookup with this record (a store that matches loosely). */
let laxRecord: ApiTokenRecord | undefined;

beforeAll(async () => {
  h = await startHarness({
    wrapStore: (store: Store) =>
      new Proxy(store, {
        get(target, prop, receiver) {
          if (prop === 'findApiTokenByHash') {
            return async (hash: string) => {
              lookups++;
              return laxRecord ?? target.findApiTokenByHash(hash);
            };
          }
          const v = Reflect.get(target, prop, receiver);
          return typeof v === 'function' ? v.bind(target) : v;
        },
      }),
  });
  doc = (await (await fetch(`${h.base}/v1/openapi.json`)).json()) as Schema;
});
afterAll(() => h.close());

async function expectError(res: Response, status: number, code: string, path = '/v1/events', method = 'post') {
  expect(res.status).toBe(status);
  const body = await res.json();
  expect(body.error.code).toBe(code);
  expect(checkResponse(doc, path, method, status, body)).toEqual([]);
  return body.error.message as string;
}

const lead = { event: 'Lead' };

describe('tokens', () => {
  it('are shown once and stored only as their SHA-256', async () => {
    const { token, record } = await createToken(h.store, { site_id: 'shop', env: 'staging', name: 'crm' }, 1_700_000_000_000);
    expect(token).toMatch(TOKEN_RE);
    expect(token).toMatch(/^trk_stg_/);
    expect(record.token_hash).toBe(createHash('sha256').update(token).digest('hex'));
    expect(token.startsWith(record.prefix)).toBe(true);
    expect(record.prefix.length).toBeLessThan(token.length - 30);
    const listed = (await h.store.listApiTokens('shop')).find((t) => t.id === record.id)!;
    expect(listed).toEqual(record);
    expect(JSON.stringify(await h.store.listApiTokens())).not.toContain(token.slice(record.prefix.length));

    const pixel = await createToken(h.store, { site_id: 'shop', env: 'development', scope: 'pixel' }, Date.now());
    expect(pixel.token).toMatch(/^trkpx_dev_[A-Za-z0-9_-]{43}$/);
    expect(pixel.record).toMatchObject({ scope: 'pixel', env: 'development', name: null, revoked_at: null, last_used_at: null });
  });

  it('record their last use', async () => {
    const { token, record } = await createToken(h.store, { site_id: 'shop', env: 'production' }, Date.now());
    expect((await postJson(`${h.base}/v1/events`, token, lead)).status).toBe(200);
    await new Promise((r) => setTimeout(r, 20));
    const after = (await h.store.listApiTokens('shop')).find((t) => t.id === record.id)!;
    expect(after.last_used_at).toBeGreaterThanOrEqual(record.created_at);
  });
});

describe('authentication', () => {
  it('401s without a token, with WWW-Authenticate', async () => {
    const res = await postJson(`${h.base}/v1/events`, undefined, lead);
    expect(res.headers.get('www-authenticate')).toBe('Bearer realm="trakvo"');
    expect(await expectError(res, 401, 'unauthorized')).toMatch(/Authorization: Bearer/);
  });

  it('401s for another scheme, a malformed token (no lookup) and an unknown token', async () => {
    const token = await h.token();
    expect(await expectError(await postJson(`${h.base}/v1/events`, undefined, lead, { authorization: `Basic ${token}` }), 401, 'unauthorized')).toMatch(
      /Bearer/,
    );
    const before = lookups;
    await expectError(await postJson(`${h.base}/v1/events`, 'not-a-token', lead), 401, 'unauthorized');
    expect(lookups).toBe(before);
    const unknown = `trk_prod_${'A'.repeat(43)}`;
    expect(await expectError(await postJson(`${h.base}/v1/events`, unknown, lead), 401, 'unauthorized')).toBe('the API token is invalid or revoked');
    expect(lookups).toBe(before + 1);
  });

  it('accepts ?api_key= as the fallback; the header wins when both are sent', async () => {
    const token = await h.token();
    const res = await postJson(`${h.base}/v1/events?api_key=${token}`, undefined, lead);
    expect(res.status).toBe(200);
    const both = await postJson(`${h.base}/v1/events?api_key=${token}`, `trk_prod_${'B'.repeat(43)}`, lead);
    await expectError(both, 401, 'unauthorized');
    const twice = await postJson(`${h.base}/v1/events?api_key=${token}&api_key=${token}`, undefined, lead);
    await expectError(twice, 401, 'unauthorized');
  });

  it('401s once a token is revoked', async () => {
    const { token, record } = await createToken(h.store, { site_id: 'shop', env: 'production' }, Date.now());
    expect((await postJson(`${h.base}/v1/events`, token, lead)).status).toBe(200);
    expect(await h.store.revokeApiToken(record.id, Date.now())).toBe(true);
    expect(await expectError(await postJson(`${h.base}/v1/events`, token, lead), 401, 'unauthorized')).toBe('the API token is invalid or revoked');
    const status = await fetch(`${h.base}/v1/events/x`, { headers: { authorization: `Bearer ${token}` } });
    await expectError(status, 401, 'unauthorized', '/v1/events/{id}', 'get');
  });

  it('compares the stored hash in constant time, so a loosely matching store cannot let a near miss in', async () => {
    const { token, record } = await createToken(h.store, { site_id: 'shop', env: 'production' }, Date.now());
    const other = `trk_prod_${'C'.repeat(43)}`;
    laxRecord = record; // the store "finds" the real token for any hash
    try {
      expect((await postJson(`${h.base}/v1/events`, token, lead)).status).toBe(200);
      await expectError(await postJson(`${h.base}/v1/events`, other, lead), 401, 'unauthorized');
      laxRecord = { ...record, token_hash: hashToken(other).slice(0, 62) }; // truncated: length differs
      await expectError(await postJson(`${h.base}/v1/events`, other, lead), 401, 'unauthorized');
    } finally {
      laxRecord = undefined;
    }
  });

  it("401s a token whose site is no longer configured", async () => {
    const { token } = await createToken(h.store, { site_id: 'closed-shop', env: 'production' }, Date.now());
    expect(await expectError(await postJson(`${h.base}/v1/events`, token, lead), 401, 'unauthorized')).toMatch(/closed-shop/);
  });

  it('403s a pixel token anywhere but the GET form', async () => {
    const pixel = await h.token({ scope: 'pixel' });
    expect(await expectError(await postJson(`${h.base}/v1/events`, pixel, lead), 403, 'forbidden')).toMatch(/pixel\.gif/);
    await expectError(await postJson(`${h.base}/v1/events/batch`, pixel, { events: [lead] }), 403, 'forbidden', '/v1/events/batch');
    await expectError(await fetch(`${h.base}/v1/events/x`, { headers: { authorization: `Bearer ${pixel}` } }), 403, 'forbidden', '/v1/events/{id}', 'get');
  });

  it('accepts every environment by default, only the configured one when api.environment is set', async () => {
    const dev = await h.token({ env: 'development' });
    expect((await postJson(`${h.base}/v1/events`, dev, lead)).status).toBe(200);

    const staging = await startHarness({ api: { environment: 'staging' } });
    try {
      const prod = await staging.token({ env: 'production' });
      const stg = await staging.token({ env: 'staging' });
      const refused = await postJson(`${staging.base}/v1/events`, prod, lead);
      expect(await expectError(refused, 401, 'unauthorized')).toBe('this is a production token; this collector accepts staging tokens only');
      expect((await postJson(`${staging.base}/v1/events`, stg, lead)).status).toBe(200);
    } finally {
      await staging.close();
    }
  });
});
