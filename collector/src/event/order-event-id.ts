// The event_id of an order-bound event (Purchase for order X, its refund, …), derived the
// same way by the browser snippet (snippet/src/order-event-id.ts) and by every server path
// (REST API, platform webhooks), so all reports of one order deduplicate at each platform.
//
//   orderEventId(site, event, order) = "<event>.<site>.<order>"
//
// where `order` keeps [A-Za-z0-9_-] and turns every other character into "_" ("#1001" →
// "_1001"), and the whole id is cut to 128 characters. Readable on purpose: a merchant can
// tell which order an id belongs to in Events Manager.

const MAX_ID = 128;

export function orderEventId(siteId: string, eventName: string, orderId: string | number): string {
  const order = String(orderId).trim().replace(/[^A-Za-z0-9_-]/g, '_');
  return `${eventName}.${siteId}.${order}`.slice(0, MAX_ID);
}
