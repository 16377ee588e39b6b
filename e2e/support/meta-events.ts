// What the local Graph API stand-in (collector/src/mocks/meta-graph.ts) received: the events
// as Meta's Conversions API gets them.
import type { RunningMetaGraphMock } from '../../collector/src/mocks/meta-graph.js';
import { waitFor } from './wait.js';

/** An event as Meta's Conversions API receives it. */
export interface MetaServerEvent {
  event_name: string;
  event_id: string;
  event_time: number;
  action_source: string;
  event_source_url: string;
  user_data: Record<string, string>;
  custom_data?: Record<string, unknown>;
}

/** Every event the mock received, in arrival order; only those sent to `pixelId` when given. */
export function metaEvents(mock: RunningMetaGraphMock, pixelId?: string): MetaServerEvent[] {
  return mock.received
    .filter((batch) => pixelId === undefined || batch.pixelId === pixelId)
    .flatMap((batch) => batch.body.data as MetaServerEvent[]);
}

/** Every event the mock received with this event_id (more than one would be a duplicate). */
export function metaEventsWithId(mock: RunningMetaGraphMock, eventId: string): MetaServerEvent[] {
  return metaEvents(mock).filter((e) => e.event_id === eventId);
}

/** Waits until the mock has received an event with this event_id, and returns the first. */
export function waitForMetaEvent(mock: RunningMetaGraphMock, eventId: string, what: string): Promise<MetaServerEvent> {
  return waitFor(() => metaEvents(mock).find((e) => e.event_id === eventId), what);
}
