import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import type { CanonicalEvent } from '../src/event/schema.js';
import { createGroupCommitter } from '../src/store/group-commit.js';
import { SQLITE_SCHEMA_VERSION, openSqliteStore, type SqliteStore } from '../src/store/sqlite.js';
import type { InsertResult, NewEvent, Store } from '../src/store/types.js';
import { makeEvent } from './fixtures/events.js';
import { runStoreContract } from './store-contract.js';

const dir = mkdtempSync(join(tmpdir(), 'trakvo-store-'));
let fileCounter = 0;
const newFile = (): string => join(dir, `store-${++fileCounter}.db`);
const fileOf = new WeakMap<Store, string>();

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

function openFile(file: string): SqliteStore {
  const s = openSqliteStore({ file });
  fileOf.set(s, file);
  return s;
}

runStoreContract(
  'sqlite file',
  () => openFile(newFile()),
  async (s) => {
    const file = fileOf.get(s);
    if (!file) throw new Error('unknown store');
    await s.close();
    return openFile(file);
  },
);

runStoreContract('sqlite :memory:', () => openSqliteStore({ file: ':memory:' }));

describe('sqlite store', () => {
  const open: SqliteStore[] = [];
  const track = (s: SqliteStore): SqliteStore => {
    open.push(s);
    return s;
  };
  afterEach(async () => {
    for (const s of open.splice(0)) await s.close();
  });

  it('runs in WAL mode with synchronous FULL, a busy timeout and foreign keys', () => {
    const file = newFile();
    const s = track(openSqliteStore({ file }));
    expect(s.settings()).toEqual({
      journal_mode: 'wal',
      synchronous: 2, // FULL
      busy_timeout: 5000,
      foreign_keys: 1,
      user_version: SQLITE_SCHEMA_VERSION,
    });
    // WAL is a property of the file: another connection sees it too.
    const raw = new Database(file, { readonly: true });
    try {
      expect(raw.pragma('journal_mode', { simple: true })).toBe('wal');
    } finally {
      raw.close();
    }
  });

  it('accepts :memory:', async () => {
    const s = track(openSqliteStore({ file: ':memory:' }));
    await s.ping();
    expect(s.settings().synchronous).toBe(2);
  });

  it('creates the schema once and reopens a file without migrating again', async () => {
    const file = newFile();
    const a = openSqliteStore({ file });
    const e = makeEvent();
    await a.insertEvents([{ event: e, destinations: ['meta'] }]);
    await a.close();
    await a.close(); // closing twice is harmless
    const b = track(openSqliteStore({ file }));
    expect(b.settings().user_version).toBe(SQLITE_SCHEMA_VERSION);
    expect((await b.getEvent(e.site_id, e.event_id))!.event).toEqual(e);
  });

  it('refuses a database written by a newer schema version', () => {
    const file = newFile();
    const raw = new Database(file);
    raw.pragma(`user_version = ${SQLITE_SCHEMA_VERSION + 1}`);
    raw.close();
    expect(() => openSqliteStore({ file })).toThrow(/newer/);
  });

  it('rolls back the whole batch when one event cannot be stored', async () => {
    const s = track(openSqliteStore({ file: newFile() }));
    const good = makeEvent();
    // A BigInt cannot be serialized: the second event fails after the first was written.
    const bad = { ...makeEvent(), custom: { value: 10n } } as unknown as CanonicalEvent;
    await expect(
      s.insertEvents([
        { event: good, destinations: ['meta'] },
        { event: bad, destinations: ['meta'] },
      ]),
    ).rejects.toThrow();
    expect(await s.getEvent(good.site_id, good.event_id)).toBeNull();
    expect(await s.nextDueAt()).toBeNull();
  });

  describe('restart', () => {
    it('keeps events and pending deliveries across close and reopen', async () => {
      const file = newFile();
      const a = openSqliteStore({ file });
      const es = [makeEvent(), makeEvent(), makeEvent()];
      await a.insertEvents(es.map((event) => ({ event, destinations: ['meta', 'tiktok'] })));
      const next = await a.nextDueAt();
      await a.close();

      const b = track(openSqliteStore({ file }));
      for (const e of es) {
        const stored = await b.getEvent(e.site_id, e.event_id);
        expect(stored!.event).toEqual(e);
        expect(stored!.deliveries.map((d) => d.status)).toEqual(['pending', 'pending']);
      }
      expect(await b.nextDueAt()).toBe(next);
      const leased = await b.leaseDueDeliveries({
        site_id: 'shop',
        destination: 'meta',
        limit: 10,
        leaseMs: 1000,
        now: Date.now() + 1000,
      });
      expect(leased.map((l) => l.event.event_id)).toEqual(es.map((e) => e.event_id));
    });

    it('makes a delivery leased but never marked (crash) due again once its lease runs out', async () => {
      const file = newFile();
      const a = openSqliteStore({ file });
      const e = makeEvent();
      await a.insertEvents([{ event: e, destinations: ['meta'] }]);
      const t = Date.now() + 1000;
      const [l] = await a.leaseDueDeliveries({ site_id: 'shop', destination: 'meta', limit: 10, leaseMs: 60_000, now: t });
      expect(l).toBeDefined();
      await a.close(); // the worker dies before marking

      const b = track(openSqliteStore({ file }));
      const lease = (now: number) =>
        b.leaseDueDeliveries({ site_id: 'shop', destination: 'meta', limit: 10, leaseMs: 60_000, now });
      expect(await b.nextDueAt()).toBe(t + 60_000);
      expect(await lease(t + 59_999)).toEqual([]);
      const again = await lease(t + 60_000);
      expect(again.map((x) => [x.delivery_id, x.attempts])).toEqual([[l!.delivery_id, 0]]);
      expect(again[0]!.event).toEqual(e);
    });

    it('shares leases between two connections to one file', async () => {
      const file = newFile();
      const a = track(openSqliteStore({ file }));
      const b = track(openSqliteStore({ file }));
      const es = Array.from({ length: 5 }, () => makeEvent());
      await a.insertEvents(es.map((event) => ({ event, destinations: ['meta'] })));
      const now = Date.now() + 1000;
      const opts = { site_id: 'shop', destination: 'meta', limit: 3, leaseMs: 60_000, now };
      const fromA = await a.leaseDueDeliveries(opts);
      const fromB = await b.leaseDueDeliveries(opts);
      expect(fromA).toHaveLength(3);
      expect(fromB).toHaveLength(2);
      expect(new Set([...fromA, ...fromB].map((l) => l.delivery_id)).size).toBe(5);
    });
  });

  describe('group commit', () => {
    function deferred(): { promise: Promise<void>; resolve: () => void } {
      let resolve!: () => void;
      const promise = new Promise<void>((r) => (resolve = r));
      return { promise, resolve };
    }

    it('merges concurrent inserts into one insertEvents call, each caller getting its own result', async () => {
      const s = track(openSqliteStore({ file: newFile() }));
      const spy = vi.spyOn(s, 'insertEvents');
      const gc = createGroupCommitter(s);
      const es = Array.from({ length: 25 }, () => makeEvent());
      const results = await Promise.all(es.map((event) => gc.insert({ event, destinations: ['meta'] })));

      expect(spy).toHaveBeenCalledTimes(1);
      expect(spy.mock.calls[0]![0]).toHaveLength(25);
      expect(results).toEqual(es.map((e) => ({ site_id: e.site_id, event_id: e.event_id, inserted: true })));
      for (const e of es) expect((await s.getEvent(e.site_id, e.event_id))!.event).toEqual(e);
    });

    it('tells the second sender of a duplicate in the same group that it was not inserted', async () => {
      const s = track(openSqliteStore({ file: newFile() }));
      const gc = createGroupCommitter(s);
      const e = makeEvent();
      const [r1, r2] = await Promise.all([
        gc.insert({ event: e, destinations: ['meta'] }),
        gc.insert({ event: e, destinations: ['meta'] }),
      ]);
      expect([r1!.inserted, r2!.inserted]).toEqual([true, false]);
    });

    it('resolves only after the commit, and groups what arrives while a commit is in flight', async () => {
      const s = track(openSqliteStore({ file: newFile() }));
      const gate = deferred();
      const sizes: number[] = [];
      const gated: Pick<Store, 'insertEvents'> = {
        async insertEvents(batch: NewEvent[]) {
          sizes.push(batch.length);
          if (sizes.length === 1) await gate.promise;
          return s.insertEvents(batch);
        },
      };
      const gc = createGroupCommitter(gated);
      const settled: string[] = [];
      const first = gc.insert({ event: makeEvent(), destinations: ['meta'] }).then((r) => {
        settled.push('first');
        return r;
      });
      await new Promise((r) => setImmediate(r)); // the first group is now committing
      expect(sizes).toEqual([1]);
      const later = Array.from({ length: 5 }, () => makeEvent());
      const laterResults = Promise.all(later.map((event) => gc.insert({ event, destinations: ['meta'] })));
      await new Promise((r) => setTimeout(r, 20));
      expect(settled).toEqual([]); // not acknowledged before the commit finished
      expect(sizes).toEqual([1]);

      gate.resolve();
      expect((await first).inserted).toBe(true);
      const rs = await laterResults;
      expect(sizes).toEqual([1, 5]);
      expect(rs.map((r) => r.event_id)).toEqual(later.map((e) => e.event_id));
    });

    it('splits groups larger than maxBatch', async () => {
      const s = track(openSqliteStore({ file: newFile() }));
      const spy = vi.spyOn(s, 'insertEvents');
      const gc = createGroupCommitter(s, { maxBatch: 3 });
      const es = Array.from({ length: 7 }, () => makeEvent());
      const results = await Promise.all(es.map((event) => gc.insert({ event, destinations: ['meta'] })));
      expect(spy.mock.calls.map((c) => c[0].length)).toEqual([3, 3, 1]);
      expect(results.map((r) => r.event_id)).toEqual(es.map((e) => e.event_id));
    });

    it('rejects every caller of a failed commit, and a later group still works', async () => {
      const s = track(openSqliteStore({ file: newFile() }));
      let fail = true;
      const flaky: Pick<Store, 'insertEvents'> = {
        async insertEvents(batch: NewEvent[]) {
          if (fail) throw new Error('disk I/O error');
          return s.insertEvents(batch);
        },
      };
      const gc = createGroupCommitter(flaky);
      const doomed = Array.from({ length: 4 }, () => makeEvent());
      const outcomes = await Promise.allSettled(doomed.map((event) => gc.insert({ event, destinations: ['meta'] })));
      expect(outcomes.map((o) => o.status)).toEqual(['rejected', 'rejected', 'rejected', 'rejected']);
      for (const o of outcomes) expect((o as PromiseRejectedResult).reason).toHaveProperty('message', 'disk I/O error');
      for (const e of doomed) expect(await s.getEvent(e.site_id, e.event_id)).toBeNull();

      fail = false;
      const e = makeEvent();
      await expect(gc.insert({ event: e, destinations: ['meta'] })).resolves.toEqual({
        site_id: e.site_id,
        event_id: e.event_id,
        inserted: true,
      });
    });

    it('rejects the group when the real store transaction fails, storing none of it', async () => {
      const s = track(openSqliteStore({ file: newFile() }));
      const spy = vi.spyOn(s, 'insertEvents');
      const gc = createGroupCommitter(s);
      const good = makeEvent();
      const bad = { ...makeEvent(), custom: { value: 10n } } as unknown as CanonicalEvent;
      const outcomes = await Promise.allSettled([
        gc.insert({ event: good, destinations: ['meta'] }),
        gc.insert({ event: bad, destinations: ['meta'] }),
      ]);
      expect(spy).toHaveBeenCalledTimes(1);
      expect(outcomes.map((o) => o.status)).toEqual(['rejected', 'rejected']);
      expect(await s.getEvent(good.site_id, good.event_id)).toBeNull();
    });

    it('flush commits what is queued without waiting for the next tick', async () => {
      const s = track(openSqliteStore({ file: newFile() }));
      const gc = createGroupCommitter(s);
      await gc.flush(); // nothing queued
      const e = makeEvent();
      let result: InsertResult | undefined;
      void gc.insert({ event: e, destinations: ['meta'] }).then((r) => (result = r));
      await gc.flush();
      expect((await s.getEvent(e.site_id, e.event_id))!.event).toEqual(e);
      await Promise.resolve();
      expect(result).toEqual({ site_id: e.site_id, event_id: e.event_id, inserted: true });
    });
  });
});

// The schema as release 1 created it (PRAGMA user_version = 1), kept verbatim here so the
// upgrade path is tested against what is really on disk at users, not against today's code.
const V1_DDL = `
  CREATE TABLE events (
    id          INTEGER PRIMARY KEY,
    site_id     TEXT    NOT NULL,
    event_id    TEXT    NOT NULL,
    event_name  TEXT    NOT NULL,
    event_time  INTEGER NOT NULL,
    source      TEXT    NOT NULL,
    received_at INTEGER NOT NULL,
    payload     TEXT    NOT NULL,
    scrubbed    INTEGER NOT NULL DEFAULT 0,
    UNIQUE (site_id, event_id)
  );
  CREATE INDEX events_unscrubbed ON events (id) WHERE scrubbed = 0;
  CREATE TABLE deliveries (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    site_id         TEXT    NOT NULL,
    event_id        TEXT    NOT NULL,
    destination     TEXT    NOT NULL,
    status          TEXT    NOT NULL
                    CHECK (status IN ('pending', 'delivered', 'dead', 'skipped')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER,
    lease_until     INTEGER,
    last_status     INTEGER,
    last_error      TEXT,
    delivered_at    INTEGER,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    UNIQUE (site_id, event_id, destination),
    FOREIGN KEY (site_id, event_id) REFERENCES events (site_id, event_id) ON DELETE CASCADE
  );
  CREATE INDEX deliveries_due ON deliveries (site_id, destination, next_attempt_at, id)
    WHERE status = 'pending';
  CREATE INDEX deliveries_next_unleased ON deliveries (next_attempt_at)
    WHERE status = 'pending' AND lease_until IS NULL;
  CREATE INDEX deliveries_next_leased ON deliveries (lease_until)
    WHERE status = 'pending' AND lease_until IS NOT NULL;
`;

describe('sqlite migration from schema version 1', () => {
  const open: SqliteStore[] = [];
  afterEach(async () => {
    for (const s of open.splice(0)) await s.close();
  });

  it('upgrades a version 1 file to the current version with its data intact', async () => {
    expect(SQLITE_SCHEMA_VERSION).toBeGreaterThan(1);
    const file = newFile();
    const pending = makeEvent({ custom: { order_id: 'ORD-77', value: 10, currency: 'BRL' } });
    const finished = makeEvent();
    const scrubbed: CanonicalEvent = { ...finished };
    delete scrubbed.ip;
    delete scrubbed.user_agent;
    const t0 = Date.now() - 60_000;

    const raw = new Database(file);
    raw.exec(V1_DDL);
    raw.pragma('user_version = 1');
    const insertEvent = raw.prepare(
      `INSERT INTO events (site_id, event_id, event_name, event_time, source, received_at, payload, scrubbed)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    insertEvent.run('shop', pending.event_id, 'Purchase', pending.event_time, 'browser', t0, JSON.stringify(pending), 0);
    insertEvent.run('shop', finished.event_id, 'Purchase', finished.event_time, 'browser', t0 + 1, JSON.stringify(scrubbed), 1);
    const insertDelivery = raw.prepare(
      `INSERT INTO deliveries (site_id, event_id, destination, status, attempts, next_attempt_at, last_status, last_error,
                               delivered_at, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    insertDelivery.run('shop', pending.event_id, 'meta', 'pending', 2, t0 + 5_000, 503, 'busy', null, t0, t0 + 10);
    insertDelivery.run('shop', finished.event_id, 'meta', 'delivered', 1, t0, 200, null, t0 + 20, t0, t0 + 20);
    insertDelivery.run('shop', finished.event_id, 'tiktok', 'dead', 3, t0, 400, 'Invalid pixel', null, t0, t0 + 30);
    raw.close();

    const s = openSqliteStore({ file });
    open.push(s);
    expect(s.settings().user_version).toBe(SQLITE_SCHEMA_VERSION);

    const p = await s.getEvent('shop', pending.event_id);
    expect(p).toEqual({
      event: pending,
      received_at: t0,
      deliveries: [
        {
          delivery_id: 1,
          destination: 'meta',
          status: 'pending',
          attempts: 2,
          next_attempt_at: t0 + 5_000,
          last_status: 503,
          last_error: 'busy',
          delivered_at: null,
        },
      ],
    });
    const f = await s.getEvent('shop', finished.event_id);
    expect(f!.event).toEqual(scrubbed);
    expect(f!.deliveries.map((d) => [d.destination, d.status, d.attempts])).toEqual([
      ['meta', 'delivered', 1],
      ['tiktok', 'dead', 3],
    ]);

    // order_id was copied out of the stored payloads.
    expect((await s.listEvents({ search: 'ORD-77', limit: 10 })).map((e) => e.event_id)).toEqual([pending.event_id]);
    expect(await s.listEvents({ limit: 10 })).toHaveLength(2);
    expect(await s.queueDepth()).toEqual([{ site_id: 'shop', destination: 'meta', pending: 1 }]);
    expect(await s.listAttempts('shop', finished.event_id)).toEqual([]);

    const now = Date.now();
    const [l] = await s.leaseDueDeliveries({ site_id: 'shop', destination: 'meta', limit: 10, leaseMs: 1_000, now });
    expect(l).toMatchObject({ delivery_id: 1, attempts: 2, received_at: t0, retry_window_start: t0 });
    expect(l!.event).toEqual(pending);
    await s.markDelivered([1], { httpStatus: 200, durationMs: 12 }, now + 1);
    expect((await s.listAttempts('shop', pending.event_id)).map((a) => [a.outcome, a.duration_ms])).toEqual([['delivered', 12]]);

    // The event scrubbed under version 1 stays scrubbed even when replayed.
    expect(await s.requeueDeliveries({ status: 'dead' }, now + 2)).toBe(1);
    expect(await s.mergeEventIdentity('shop', finished.event_id, { ip: '203.0.113.5', user_agent: 'UA' })).toBe(false);

    await s.close();
    const again = openSqliteStore({ file });
    open.push(again);
    expect(again.settings().user_version).toBe(SQLITE_SCHEMA_VERSION);
    expect((await again.getEvent('shop', pending.event_id))!.deliveries[0]!.status).toBe('delivered');
  });
});
