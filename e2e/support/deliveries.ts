// The collector's record of a delivery, read from its store.
import type { DeliveryRecord, DeliveryStatus, Store } from '../../collector/src/store/types.js';
import { waitFor } from './wait.js';

/**
 * Waits until the stored event `eventId` of `site` has its delivery to `destination` (Meta
 * unless told) in `status`, and returns that delivery.
 */
export function waitForDelivery(
  store: Pick<Store, 'getEvent'>,
  site: string,
  eventId: string,
  status: DeliveryStatus,
  what: string,
  destination = 'meta',
): Promise<DeliveryRecord> {
  return waitFor(async () => {
    const d = (await store.getEvent(site, eventId))?.deliveries.find((x) => x.destination === destination);
    return d?.status === status ? d : undefined;
  }, what);
}
