// A declarative mapping from any JSON order payload to canonical events: which field holds
// the event kind, the order id, the value, the buyer's email… Used by the generic receiver
// (every field configured by the merchant) and by Cartpanda (defaults for its observed
// shapes, each overridable), so checkouts without a dedicated module still deduplicate.
//
// A path is dot-separated (`order.customer.email`, `items.0.id`, `items[0].id`); a list of
// paths means "the first one that has a value".
import { z } from 'zod';
import type { Content } from '../event/schema.js';
import {
  attributeRecord,
  buildWebhookEvent,
  collect,
  consentFrom,
  content,
  httpUrl,
  identifiersFromAttributes,
  identifiersFromUrl,
  isObject,
  mergeIdentifiers,
  minorToMajor,
  parseMoney,
  parseTime,
  splitName,
  text,
  visitorId,
} from './build-event.js';
import { CurrencyCodeSchema } from './config-parts.js';
import type { MapContext, MapResult, WebhookPlatformName } from './types.js';
import type { Consent } from '../event/schema.js';

export const PathSchema = z.union([z.string().min(1).max(200), z.array(z.string().min(1).max(200)).min(1).max(10)]);
export type FieldPath = z.infer<typeof PathSchema>;

const EventNameSchema = z.string().regex(/^[A-Za-z][A-Za-z0-9_]{0,63}$/, 'an event name like Purchase');

export const FieldMappingSchema = z
  .object({
    /** A fixed event name, or a field whose values map to event names (unlisted values are ignored). */
    event: z.union([
      z.object({ name: EventNameSchema }).strict(),
      z.object({ path: PathSchema, map: z.record(z.string(), EventNameSchema) }).strict(),
    ]),
    /** The order id the thank-you page passes to trakvo('Purchase', { order_id }). */
    orderId: PathSchema,
    /** For refunds/chargebacks: the field their event id derives from (default: the order id). */
    eventIdFrom: PathSchema.optional(),
    value: PathSchema.optional(),
    /** The value is in cents (minor units of the currency). */
    valueInMinorUnits: z.boolean().default(false),
    currency: PathSchema.optional(),
    defaultCurrency: CurrencyCodeSchema.optional(),
    /** ISO-8601, or Unix seconds/milliseconds. Default: time of receipt. */
    eventTime: PathSchema.optional(),
    email: PathSchema.optional(),
    phone: PathSchema.optional(),
    firstName: PathSchema.optional(),
    lastName: PathSchema.optional(),
    /** Split into first and last name when those are not mapped. */
    fullName: PathSchema.optional(),
    city: PathSchema.optional(),
    state: PathSchema.optional(),
    zip: PathSchema.optional(),
    country: PathSchema.optional(),
    dateOfBirth: PathSchema.optional(),
    externalId: PathSchema.optional(),
    ip: PathSchema.optional(),
    userAgent: PathSchema.optional(),
    /** The page the purchase happened on (absolute URL); its click ids are read too. */
    url: PathSchema.optional(),
    /** Browser ids: a `[{name, value}]` list or an object with `_fbp`, `_fbc`, `_tk_vid`, `gclid`… */
    attributes: PathSchema.optional(),
    visitorId: PathSchema.optional(),
    contents: z
      .object({
        path: z.string().min(1).max(200),
        id: z.string().min(1).max(200),
        quantity: z.string().min(1).max(200).optional(),
        price: z.string().min(1).max(200).optional(),
        title: z.string().min(1).max(200).optional(),
      })
      .strict()
      .optional(),
    /** The platform's delivery/event id, for replays (default: event kind + order id). */
    deliveryId: PathSchema.optional(),
  })
  .strict();
export type FieldMapping = z.output<typeof FieldMappingSchema>;

/** The value at a dot path (`a.b.0.c`, `a.b[0].c`); undefined when any step is missing. */
export function getPath(root: unknown, path: string): unknown {
  let cur: unknown = root;
  for (const step of path.replace(/\[(\d+)\]/g, '.$1').split('.')) {
    if (step === '') continue;
    if (Array.isArray(cur) && /^\d+$/.test(step)) cur = cur[Number(step)];
    else if (isObject(cur)) cur = cur[step];
    else return undefined;
    if (cur === undefined || cur === null) return undefined;
  }
  return cur;
}

const paths = (p: FieldPath | undefined): string[] => (p === undefined ? [] : typeof p === 'string' ? [p] : p);

/** The first present, non-empty value among the paths. */
export function pick(root: unknown, p: FieldPath | undefined): unknown {
  for (const path of paths(p)) {
    const v = getPath(root, path);
    if (v !== undefined && v !== null && v !== '') return v;
  }
  return undefined;
}

const pathName = (p: FieldPath): string => paths(p).join(' | ');

/** A phone sent as parts (`{ ddi: "55", ddd: "11", number: "987654321" }`) or as one value. */
function phoneText(v: unknown): string | undefined {
  if (isObject(v)) {
    const number = text(v.number);
    if (number === undefined) return undefined;
    const ddi = text(v.ddi) ?? text(v.country_code);
    const ddd = text(v.ddd) ?? text(v.area_code) ?? '';
    return `${ddi ? `+${ddi}` : ''}${ddd}${number}`;
  }
  return text(v);
}

/** The event kind this payload reports, or why it is ignored. */
export function eventNameOf(payload: unknown, mapping: FieldMapping): { name?: string; kind?: string } {
  if ('name' in mapping.event) return { name: mapping.event.name, kind: mapping.event.name };
  const kind = text(pick(payload, mapping.event.path));
  return { name: kind === undefined ? undefined : mapping.event.map[kind], kind };
}

export function mapFields(
  payload: unknown,
  mapping: FieldMapping,
  ctx: MapContext<{ consent: Consent }>,
  platform: WebhookPlatformName,
): MapResult {
  if (!isObject(payload)) return { events: [], errors: [{ field: '(body)', message: 'must be a JSON object' }] };
  const { name, kind } = eventNameOf(payload, mapping);
  if (name === undefined) {
    if (kind === undefined && !('name' in mapping.event)) {
      return { events: [], errors: [{ field: pathName(mapping.event.path), message: 'the event kind is required' }] };
    }
    return { events: [], ignored: `event ${kind ?? ''} is not mapped` };
  }
  const orderId = text(pick(payload, mapping.orderId));
  const rawValue = mapping.value ? pick(payload, mapping.value) : undefined;
  const amount = parseMoney(rawValue);
  const currencyText = text(pick(payload, mapping.currency)) ?? mapping.defaultCurrency;
  const errors = [
    ...(orderId === undefined ? [{ field: pathName(mapping.orderId), message: 'the order id is required' }] : []),
    ...(rawValue !== undefined && amount === undefined ? [{ field: pathName(mapping.value!), message: 'must be a number' }] : []),
    ...(currencyText !== undefined && !/^[A-Za-z]{3}$/.test(currencyText)
      ? [{ field: pathName(mapping.currency ?? 'defaultCurrency'), message: 'must be an ISO 4217 code like BRL' }]
      : []),
  ];
  if (errors.length) return { events: [], errors };
  const currency = currencyText?.toUpperCase();
  const value = amount !== undefined && mapping.valueInMinorUnits && currency ? minorToMajor(amount, currency) : amount;

  const attrs = attributeRecord(pick(payload, mapping.attributes));
  const url = httpUrl(pick(payload, mapping.url));
  const time = parseTime(pick(payload, mapping.eventTime));
  const names =
    mapping.firstName || mapping.lastName
      ? { first_name: text(pick(payload, mapping.firstName)), last_name: text(pick(payload, mapping.lastName)) }
      : {};
  const full = splitName(pick(payload, mapping.fullName));

  let contents: Content[] | undefined;
  if (mapping.contents) {
    const c = mapping.contents;
    const list = getPath(payload, c.path);
    contents = (Array.isArray(list) ? list : [])
      .map((item) =>
        content({
          id: getPath(item, c.id),
          quantity: c.quantity ? getPath(item, c.quantity) : undefined,
          price: c.price ? getPath(item, c.price) : undefined,
          title: c.title ? getPath(item, c.title) : undefined,
        }),
      )
      .filter((x): x is Content => x !== undefined);
  }

  const idFrom = name === 'Purchase' ? orderId! : (text(pick(payload, mapping.eventIdFrom)) ?? orderId!);
  return collect([
    buildWebhookEvent({
      site: ctx.site,
      platform,
      name,
      idFrom,
      orderId: orderId!,
      time,
      now: ctx.now,
      value,
      currency,
      contents,
      status: kind,
      user: {
        email: text(pick(payload, mapping.email)),
        phone: phoneText(pick(payload, mapping.phone)),
        first_name: names.first_name ?? full.first_name,
        last_name: names.last_name ?? full.last_name,
        city: text(pick(payload, mapping.city)),
        state: text(pick(payload, mapping.state)),
        zip: text(pick(payload, mapping.zip)),
        country: text(pick(payload, mapping.country)),
        date_of_birth: text(pick(payload, mapping.dateOfBirth)),
        external_id: text(pick(payload, mapping.externalId)),
      },
      ids: mergeIdentifiers(
        { visitor_id: visitorId(pick(payload, mapping.visitorId)) },
        identifiersFromAttributes(attrs),
        identifiersFromUrl(url, (time ?? ctx.now / 1000) * 1000),
      ),
      ip: text(pick(payload, mapping.ip)),
      userAgent: text(pick(payload, mapping.userAgent)),
      url,
      consent: consentFrom(attrs, ctx.config.consent),
    }),
  ]);
}

/** The delivery id: the mapped field, else event kind + order id (+ the refund id). */
export function mappedDeliveryId(payload: unknown, mapping: FieldMapping): string | undefined {
  const explicit = text(pick(payload, mapping.deliveryId));
  if (explicit !== undefined) return explicit;
  const { kind } = eventNameOf(payload, mapping);
  const order = text(pick(payload, mapping.orderId));
  const extra = text(pick(payload, mapping.eventIdFrom));
  return kind && order ? [kind, order, extra].filter(Boolean).join(':') : undefined;
}

