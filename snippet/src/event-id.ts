// Mints event_ids: UUID v4 from crypto.getRandomValues, which, unlike
// crypto.randomUUID, also works on plain-http pages.

/** Byte positions followed by a dash in the 8-4-4-4-12 layout: bits 3, 5, 7 and 9 of 0x2a8. */
const DASH_AFTER = 0x2a8;

export function newEventId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6]! & 0x0f) | 0x40; // version 4
  bytes[8] = (bytes[8]! & 0x3f) | 0x80; // variant 10xx
  let id = '';
  bytes.forEach((byte, i) => {
    id += (byte | 256).toString(16).slice(1) + ((DASH_AFTER >> i) & 1 ? '-' : '');
  });
  return id;
}
