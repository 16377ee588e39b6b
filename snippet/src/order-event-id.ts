// The event_id of an order-bound event, derived exactly as the collector does
// (collector/src/event/order-event-id.ts), so the thank-you page's Purchase and the
// platform's order webhook carry the same id and deduplicate: "<event>.<site>.<order>",
// characters outside [A-Za-z0-9_-] in the order id turned into "_", cut to 128.
export const orderEventId = (site: string, name: string, order: unknown): string =>
  (name + '.' + site + '.' + String(order).trim().replace(/[^A-Za-z0-9_-]/g, '_')).slice(0, 128);
