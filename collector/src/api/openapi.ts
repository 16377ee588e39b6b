// The OpenAPI 3.1 document of the server API, generated from the zod schemas that validate
// the requests (schemas.ts), so the document cannot drift from the code.
import { z } from 'zod';
import {
  API_LIMITS,
  BatchRequestSchema,
  BatchResponseSchema,
  COOKIE_MIRROR_FIELDS,
  ErrorResponseSchema,
  EventStatusResponseSchema,
  PIXEL_CONSENT_PARAMS,
  PIXEL_LIST_PARAMS,
  PIXEL_SCALAR_PARAMS,
  PIXEL_USER_PARAMS,
  ServerEventSchema,
  TrackResponseSchema,
} from './schemas.js';

type JsonObject = Record<string, unknown>;

const ref = (id: string) => ({ $ref: `#/components/schemas/${id}` });

/** Component schemas from one registry, without the per-document keys zod adds. */
function components(entries: [string, z.ZodType][], io: 'input' | 'output'): Record<string, JsonObject> {
  const registry = z.registry<{ id: string }>();
  for (const [id, schema] of entries) registry.add(schema, { id });
  const { schemas } = z.toJSONSchema(registry, { io, uri: (id) => `#/components/schemas/${id}` });
  return Object.fromEntries(
    Object.entries(schemas).map(([id, schema]) => {
      const { $schema: _s, $id: _i, ...rest } = schema as JsonObject;
      return [id, rest];
    }),
  );
}

const errorResponse = (description: string) => ({
  description,
  content: { 'application/json': { schema: ref('ErrorResponse') } },
});

const COMMON_ERRORS = {
  '401': errorResponse('Missing, invalid or revoked token'),
  '403': errorResponse('The token may not use this endpoint (a pixel token outside the GET form)'),
  '429': {
    ...errorResponse('Too many requests for this token'),
    headers: { 'Retry-After': { description: 'Seconds to wait', schema: { type: 'integer' } } },
  },
  '500': errorResponse('Unexpected error'),
};
const WRITE_ERRORS = {
  '400': errorResponse('Invalid request: `fields` names every invalid field'),
  ...COMMON_ERRORS,
  '413': errorResponse('Body too large'),
  '415': errorResponse('Body is not application/json'),
  '503': {
    ...errorResponse('The event store is unavailable; retry (events are idempotent on event_id)'),
    headers: { 'Retry-After': { description: 'Seconds to wait', schema: { type: 'integer' } } },
  },
};

function pixelParameters(): JsonObject[] {
  const param = (name: string, description: string, required = false) => ({
    name,
    in: 'query',
    required,
    description,
    schema: { type: 'string' },
  });
  return [
    ...PIXEL_SCALAR_PARAMS.map((name) => param(name, `As in POST /v1/events${name === 'event' ? ' (required)' : ''}`, name === 'event')),
    ...PIXEL_LIST_PARAMS.map((name) => param(name, 'Comma-separated list')),
    ...PIXEL_CONSENT_PARAMS.map((name) => param(name, '1/0 or true/false; default: the site\'s consentDefault')),
    ...PIXEL_USER_PARAMS.map((name) => param(name, `user.${name} of POST /v1/events (prefer the hashed form in URLs)`)),
  ];
}

let cached: JsonObject | undefined;

/** The document without `servers` (the router adds where it is mounted). */
export function openApiDocument(): JsonObject {
  if (cached) return cached;
  const requests = components(
    [
      ['ServerEvent', ServerEventSchema],
      ['BatchRequest', BatchRequestSchema],
    ],
    'input',
  );
  // `_ga_<container>` cookie values: names zod cannot list one by one.
  const serverEvent = requests['ServerEvent']!;
  serverEvent['patternProperties'] = {
    '^_ga_[A-Za-z0-9]{1,40}$': { type: 'string', maxLength: 1000, description: "GA4's session cookie value" },
  };
  serverEvent['description'] = `${String(serverEvent['description'] ?? '')} Cookie mirrors (${COOKIE_MIRROR_FIELDS.join(', ')}, _ga_<container>) carry the shopper's cookie values as your backend received them.`;
  const responses = components(
    [
      ['TrackResponse', TrackResponseSchema],
      ['BatchResponse', BatchResponseSchema],
      ['EventStatusResponse', EventStatusResponseSchema],
      ['ErrorResponse', ErrorResponseSchema],
    ],
    'output',
  );

  cached = {
    openapi: '3.1.0',
    info: {
      title: 'Trakvo server-to-server API',
      version: '1',
      description:
        'Send conversions from your backend. Every accepted event is stored durably before the answer and delivered to the ' +
        "site's ad platforms with the same event_id the browser used, so each platform counts it once.",
    },
    security: [{ bearerAuth: [] }, { apiKeyQuery: [] }],
    paths: {
      '/v1/events': {
        post: {
          operationId: 'trackEvent',
          summary: 'Send one event',
          requestBody: { required: true, content: { 'application/json': { schema: ref('ServerEvent') } } },
          responses: {
            '200': { description: 'Stored; queued for delivery', content: { 'application/json': { schema: ref('TrackResponse') } } },
            ...WRITE_ERRORS,
          },
        },
      },
      '/v1/events/batch': {
        post: {
          operationId: 'trackBatch',
          summary: `Send up to ${API_LIMITS.maxBatchEvents} events (1 MB); each is accepted or rejected on its own`,
          requestBody: { required: true, content: { 'application/json': { schema: ref('BatchRequest') } } },
          responses: {
            '200': { description: 'One result per event, in order', content: { 'application/json': { schema: ref('BatchResponse') } } },
            ...WRITE_ERRORS,
          },
        },
      },
      '/v1/events/{id}': {
        get: {
          operationId: 'getEvent',
          summary: 'Delivery status of an event, per destination',
          parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
          responses: {
            '200': { description: 'The event and its deliveries', content: { 'application/json': { schema: ref('EventStatusResponse') } } },
            '404': errorResponse('No event with this id for the token\'s site'),
            ...COMMON_ERRORS,
          },
        },
      },
      '/v1/pixel.gif': {
        get: {
          operationId: 'trackPixel',
          summary: 'The GET form, for places that cannot POST (an image in a transactional e-mail)',
          description:
            'Accepts a pixel-scoped token (`trakvo tokens create --scope pixel`) in `api_key`. Your own properties go in ' +
            '`p.<name>=<value>` parameters. Answers a 1×1 GIF. Errors are ' +
            'JSON unless the client prefers images, then a GIF with the error status and an X-Trakvo-Error header.',
          parameters: [
            { name: 'api_key', in: 'query', required: true, schema: { type: 'string' }, description: 'A pixel (or events) token' },
            ...pixelParameters(),
          ],
          security: [{ apiKeyQuery: [] }],
          responses: {
            '200': { description: 'Stored', content: { 'image/gif': { schema: { type: 'string', contentMediaType: 'image/gif' } } } },
            '400': errorResponse('Invalid parameters'),
            ...COMMON_ERRORS,
          },
        },
      },
      '/v1/openapi.json': {
        get: {
          operationId: 'openApi',
          summary: 'This document',
          security: [],
          responses: { '200': { description: 'OpenAPI 3.1', content: { 'application/json': { schema: { type: 'object' } } } } },
        },
      },
    },
    components: {
      securitySchemes: {
        bearerAuth: { type: 'http', scheme: 'bearer', description: 'An API token from `trakvo tokens create`' },
        apiKeyQuery: { type: 'apiKey', in: 'query', name: 'api_key', description: 'Fallback where headers cannot be set' },
      },
      schemas: { ...requests, ...responses },
    },
  };
  return cached;
}
