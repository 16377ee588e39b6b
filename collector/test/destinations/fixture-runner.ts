// The one runner for destination cases kept as data. Mapping cases are fixtures
// (fixtures/<platform>/*.json: config, clock, canonical events, and the requests and skips
// expected, written by hand from the platform's docs); classification cases are table rows
// (status, body, headers, expected outcome). What a platform must never be sent stays in its
// own test file, as a `check` run over every fixture.
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it, test } from 'vitest';
import type { Destination, DestinationRequest, DestinationResponse, MapResult, Outcome } from '../../src/destinations/types.js';
import { CanonicalEventSchema, type CanonicalEvent } from '../../src/event/schema.js';

/** A request as a fixture writes it: the body parsed from JSON. */
export interface ExpectedRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  /** Left out where the runner compares a platform's requests without them (Meta). */
  eventIds?: string[];
  body: unknown;
}

export interface MapFixture {
  name: string;
  config: unknown;
  /** ISO time the mapping runs at. */
  now: string;
  events: unknown[];
  expected: {
    requests: ExpectedRequest[];
    /** `reasonIncludes` is a part of the reason, so wording can improve without editing fixtures. */
    skipped: { eventId: string; reasonIncludes: string }[];
  };
}

export interface MapFixtureCases<C extends { type: string }, F extends MapFixture> {
  /** Names the suite: `<name>.map (fixtures)`. */
  name: string;
  destination: Destination<C>;
  /** The folder under fixtures/. */
  platform: string;
  /** The fixtures the folder holds at least, so a lost file fails a test. */
  minFixtures: number;
  /** A request as it is compared with the fixture's; by default method, url, headers, eventIds and the parsed body. */
  request?: (r: DestinationRequest) => unknown;
  /** The platform's own assertions over every fixture's result. */
  check?: (result: MapResult, events: CanonicalEvent[], fixture: F) => void;
}

export function requestWithParsedBody(r: DestinationRequest): ExpectedRequest {
  return { method: r.method, url: r.url, headers: r.headers, eventIds: r.eventIds, body: JSON.parse(r.body ?? 'null') as unknown };
}

function loadFixtures<F extends MapFixture>(platform: string): F[] {
  const dir = new URL(`./fixtures/${platform}/`, import.meta.url);
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => JSON.parse(readFileSync(new URL(f, dir), 'utf8')) as F);
}

/** One test per fixture file: validate its events, run `map`, compare requests and skips. */
export function describeMapFixtures<C extends { type: string }, F extends MapFixture = MapFixture>(cases: MapFixtureCases<C, F>): void {
  const fixtures = loadFixtures<F>(cases.platform);
  const asSent = cases.request ?? requestWithParsedBody;

  describe(`${cases.name}.map (fixtures)`, () => {
    it('has fixtures', () => {
      expect(fixtures.length).toBeGreaterThanOrEqual(cases.minFixtures);
    });

    test.each(fixtures.map((f) => [f.name, f] as const))('%s', (_name, fixture) => {
      const config = cases.destination.configSchema.parse(fixture.config);
      // A fixture must hold real canonical events, or it proves nothing.
      const events = fixture.events.map((e) => CanonicalEventSchema.parse(e));

      const result = cases.destination.map(events, config, new Date(fixture.now));

      expect(result.requests.map(asSent)).toEqual(fixture.expected.requests);
      expect(result.skipped).toEqual(
        fixture.expected.skipped.map((s) => ({ eventId: s.eventId, reason: expect.stringContaining(s.reasonIncludes) })),
      );
      cases.check?.(result, events, fixture);
    });
  });
}

/** A row of a classification table. */
export type ClassifyRow = [name: string, status: number, body: string, headers: Record<string, string>, expected: Outcome];

/** One test per row: `classify` of that answer is exactly the expected outcome. */
export function testClassifyRows(destination: Pick<Destination, 'classify'>, rows: ClassifyRow[]): void {
  test.each(rows)('%s', (_name, status, body, headers, expected) => {
    const response: DestinationResponse = { status, body, headers };
    expect(destination.classify(response)).toStrictEqual(expected);
  });
}
