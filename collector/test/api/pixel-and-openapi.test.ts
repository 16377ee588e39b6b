// The GET form for transactional e-mail pixels, and the OpenAPI document itself.
import { createHash, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PIXEL_GIF } from '../../src/api/routes.js';
import { postJson, startHarness, type Harness } from './harness.js';
import { collectRefs, resolvePointer, validate, type Schema } from './json-schema.js';

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
const IMAGE_ACCEPT = 'image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8';

let h: Harness;
let pixel: string;
let doc: Schema;

beforeAll(async () => {
  h = await startHarness();
  pixel = await h.token({ scope: 'pixel', name: 'order e-mails' });
  doc = (await (await fetch(`${h.base}/v1/openapi.json`)).json()) as Schema;
});
afterAll(() => h.close());

const pixelUrl = (params: Record<string, string>) => `${h.base}/v1/pixel.gif?${new URLSearchParams(params)}`;

describe('GET /v1/pixel.gif', () => {
  it('stores the event and answers a 1×1 GIF', async () => {
    const id = `open-${randomUUID()}`;
    const res = await fetch(
      pixelUrl({
        api_key: pixel,
        event: 'EmailOpen',
        event_id: id,
        external_id_sha256: sha256('customer-7'),
        email: 'Reader@Example.com',
        content_ids: 'sku-1, sku-2',
        value: '12.5',
        currency: 'eur',
        'p.campaign': 'order-shipped',
        consent_marketing: '1',
      }),
      { headers: { accept: IMAGE_ACCEPT } },
    );
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/gif');
    expect(res.headers.get('cache-control')).toMatch(/no-store/);
    const gif = Buffer.from(await res.arrayBuffer());
    expect(gif.equals(PIXEL_GIF)).toBe(true);
    expect(gif.subarray(0, 6).toString()).toBe('GIF89a');
    expect(gif.readUInt16LE(6)).toBe(1);
    expect(gif.readUInt16LE(8)).toBe(1);

    const stored = (await h.store.getEvent('shop', id))!.event;
    expect(stored).toMatchObject({
      event_name: 'EmailOpen',
      source: 'api',
      user: { external_id: sha256('customer-7'), em: sha256('reader@example.com') },
      custom: { content_ids: ['sku-1', 'sku-2'], value: 12.5, currency: 'EUR', extra: { campaign: 'order-shipped' } },
      consent: { marketing: true, analytics: true },
    });
    // The request comes from a mail client or its image proxy: its IP and UA are not the shopper's.
    expect(stored.ip).toBeUndefined();
    expect(stored.user_agent).toBeUndefined();
  });

  it('accepts an events token too', async () => {
    const events = await h.token();
    const res = await fetch(pixelUrl({ api_key: events, event: 'EmailClick' }));
    expect(res.status).toBe(200);
  });

  it('answers errors as JSON to API clients, naming bad parameters', async () => {
    const res = await fetch(pixelUrl({ api_key: pixel, event: 'Purchase', colour: 'red', consent_marketing: 'maybe' }));
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({
      error: {
        code: 'invalid_event',
        message: 'the event is invalid',
        fields: [
          { field: 'colour', message: 'unknown parameter' },
          { field: 'consent_marketing', message: 'must be 1/0 or true/false' },
        ],
      },
    });
    const purchase = await fetch(pixelUrl({ api_key: pixel, event: 'Purchase', value: '3' }));
    expect((await purchase.json()).error.fields).toEqual([{ field: 'currency', message: 'is required for Purchase' }]);
    const noKey = await fetch(pixelUrl({ event: 'EmailOpen' }));
    expect(noKey.status).toBe(401);
    expect((await noKey.json()).error.code).toBe('unauthorized');
  });

  it('answers errors as a GIF with the code in a header to image clients (no broken image in the e-mail)', async () => {
    const res = await fetch(pixelUrl({ api_key: `trkpx_prod_${'x'.repeat(43)}`, event: 'EmailOpen' }), { headers: { accept: IMAGE_ACCEPT } });
    expect(res.status).toBe(401);
    expect(res.headers.get('content-type')).toBe('image/gif');
    expect(res.headers.get('x-trakvo-error')).toBe('unauthorized');
    expect(Buffer.from(await res.arrayBuffer()).equals(PIXEL_GIF)).toBe(true);
  });
});

describe('GET /v1/openapi.json', () => {
  it('is an OpenAPI 3.1 document of every endpoint, with the server where the API is mounted', () => {
    expect(doc['openapi']).toBe('3.1.0');
    expect(doc['servers']).toEqual([{ url: h.base }]);
    const paths = doc['paths'] as Record<string, Record<string, unknown>>;
    expect(Object.keys(paths).sort()).toEqual(['/v1/events', '/v1/events/batch', '/v1/events/{id}', '/v1/openapi.json', '/v1/pixel.gif']);
    const post = paths['/v1/events']!['post'] as { responses: Record<string, unknown> };
    expect(Object.keys(post.responses).sort()).toEqual(['200', '400', '401', '403', '413', '415', '429', '500', '503']);
    const schemes = (doc['components'] as { securitySchemes: Record<string, unknown> }).securitySchemes;
    expect(schemes).toEqual({
      bearerAuth: expect.objectContaining({ type: 'http', scheme: 'bearer' }),
      apiKeyQuery: expect.objectContaining({ type: 'apiKey', in: 'query', name: 'api_key' }),
    });
  });

  it('has every $ref resolving, and no zod-only keys', () => {
    const refs = collectRefs(doc);
    expect(refs.length).toBeGreaterThan(5);
    for (const ref of refs) expect(() => resolvePointer(doc, ref)).not.toThrow();
    expect(JSON.stringify(doc)).not.toMatch(/"\$id"|"\$schema"/);
  });

  it('describes the request schema the API validates with (same verdicts on examples)', async () => {
    const serverEvent = { $ref: '#/components/schemas/ServerEvent' };
    const good = { event: 'Purchase', value: '9.90', currency: 'BRL', order_id: 7, user: { email: 'a@b.co' }, _ga_XYZ: 'GS1.1.1700000000.1' };
    expect(validate(doc, serverEvent, good)).toEqual([]);
    expect((await postJson(`${h.base}/v1/events`, await h.token(), good)).status).toBe(200);

    for (const bad of [{ event: 'Lead', foo: 1 }, { event: 'Lead', user: { emial: 'x' } }, { event: 'Lead', value: 'abc' }, { value: 1 }]) {
      expect(validate(doc, serverEvent, bad).length).toBeGreaterThan(0);
      expect((await postJson(`${h.base}/v1/events`, await h.token(), bad)).status).toBe(400);
    }
  });

  it('the validator catches a response that breaks the document', () => {
    const track = { $ref: '#/components/schemas/TrackResponse' };
    expect(validate(doc, track, { event_id: 'x', status: 'queued', duplicate: false, destinations: [], match_quality: { score: 1, signals: [] }, visitor_linked: false })).toEqual([]);
    expect(validate(doc, track, { event_id: 'x', status: 'done', duplicate: 'no', destinations: [{}] }).map((p) => p.path)).toEqual(
      expect.arrayContaining(['$.status', '$.duplicate', '$.destinations[0]', '$']),
    );
  });
});
