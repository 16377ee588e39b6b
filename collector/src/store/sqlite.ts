// The embedded outbox: one SQLite file next to the collector. WAL for concurrent readers,
// synchronous = FULL so a committed transaction survives power loss ("acknowledged means
// durable"), schema versioned with PRAGMA user_version so later releases can migrate it.
import Database from 'better-sqlite3';
import type { CanonicalEvent } from '../event/schema.js';
import type {
  AttemptInfo,
  DeliveryRecord,
  DeliveryStatus,
  InsertResult,
  LeaseOptions,
  LeasedDelivery,
  NewEvent,
  Store,
  StoredEvent,
} from './types.js';

export interface SqliteStoreOptions {
  /** Path of the database file, or ':memory:' (tests only: nothing survives). */
  file: string;
  /** How long a writer waits for another connection's lock before failing. Default 5000 ms. */
  busyTimeoutMs?: number;
}

/** Connection settings as SQLite reports them (for health output and tests). */
export interface SqliteSettings {
  journal_mode: string;
  synchronous: number;
  busy_timeout: number;
  foreign_keys: number;
  user_version: number;
}

export interface SqliteStore extends Store {
  settings(): SqliteSettings;
}

/**
 * Each entry moves the schema from version `index` to `index + 1`. Append only: never edit
 * a released step, add a new one.
 */
const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE events (
    id          INTEGER PRIMARY KEY,
    site_id     TEXT    NOT NULL,
    event_id    TEXT    NOT NULL,
    event_name  TEXT    NOT NULL,
    event_time  INTEGER NOT NULL,
    source      TEXT    NOT NULL,
    received_at INTEGER NOT NULL,
    payload     TEXT    NOT NULL,
    -- 1 once the payload holds no ip/user_agent (none given, or removed after delivery).
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
  -- Leasing: due pending deliveries of one (site, destination), oldest first.
  CREATE INDEX deliveries_due ON deliveries (site_id, destination, next_attempt_at, id)
    WHERE status = 'pending';
  -- nextDueAt: earliest unleased pending delivery, and earliest lease to run out.
  CREATE INDEX deliveries_next_unleased ON deliveries (next_attempt_at)
    WHERE status = 'pending' AND lease_until IS NULL;
  CREATE INDEX deliveries_next_leased ON deliveries (lease_until)
    WHERE status = 'pending' AND lease_until IS NOT NULL;
  `,
];

export const SQLITE_SCHEMA_VERSION = MIGRATIONS.length;

function migrate(db: Database.Database): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > MIGRATIONS.length) {
    throw new Error(
      `database schema version ${current} is newer than this collector supports (${MIGRATIONS.length}); upgrade Trakvo`,
    );
  }
  for (let v = current; v < MIGRATIONS.length; v++) {
    const step = MIGRATIONS[v]!;
    db.transaction(() => {
      db.exec(step);
      db.pragma(`user_version = ${v + 1}`);
    }).immediate();
  }
}

interface LeaseRow {
  id: number;
  destination: string;
  attempts: number;
  payload: string;
  received_at: number;
}

interface EventRow {
  payload: string;
  received_at: number;
}

interface DeliveryRow {
  destination: string;
  status: DeliveryStatus;
  attempts: number;
  next_attempt_at: number | null;
  last_status: number | null;
  last_error: string | null;
  delivered_at: number | null;
}

export function openSqliteStore(options: SqliteStoreOptions): SqliteStore {
  const db = new Database(options.file);
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma(`busy_timeout = ${Math.max(0, Math.floor(options.busyTimeoutMs ?? 5000))}`);
    db.pragma('foreign_keys = ON');
    migrate(db);
  } catch (err) {
    db.close();
    throw err;
  }

  const stmt = {
    insertEvent: db.prepare<[string, string, string, number, string, number, string, number]>(
      `INSERT INTO events (site_id, event_id, event_name, event_time, source, received_at, payload, scrubbed)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (site_id, event_id) DO NOTHING`,
    ),
    insertPending: db.prepare<[string, string, string, number, number, number]>(
      `INSERT INTO deliveries (site_id, event_id, destination, status, next_attempt_at, created_at, updated_at)
       VALUES (?, ?, ?, 'pending', ?, ?, ?)
       ON CONFLICT (site_id, event_id, destination) DO NOTHING`,
    ),
    insertSkipped: db.prepare<[string, string, string, string, number, number]>(
      `INSERT INTO deliveries (site_id, event_id, destination, status, last_error, created_at, updated_at)
       VALUES (?, ?, ?, 'skipped', ?, ?, ?)
       ON CONFLICT (site_id, event_id, destination) DO NOTHING`,
    ),
    selectDue: db.prepare<[string, string, number, number, number], LeaseRow>(
      `SELECT d.id, d.destination, d.attempts, e.payload, e.received_at
         FROM deliveries d
         JOIN events e ON e.site_id = d.site_id AND e.event_id = d.event_id
        WHERE d.site_id = ? AND d.destination = ? AND d.status = 'pending'
          AND d.next_attempt_at <= ?
          AND (d.lease_until IS NULL OR d.lease_until <= ?)
        ORDER BY d.next_attempt_at, d.id
        LIMIT ?`,
    ),
    setLease: db.prepare<[number, number, number]>(
      `UPDATE deliveries SET lease_until = ?, updated_at = ? WHERE id = ?`,
    ),
    // Marks touch pending rows only: a worker whose lease ran out must not undo the outcome
    // another worker already recorded.
    markDelivered: db.prepare<[number | null, string | null, number, number, number]>(
      `UPDATE deliveries
          SET status = 'delivered', attempts = attempts + 1, last_status = ?, last_error = ?,
              delivered_at = ?, lease_until = NULL, updated_at = ?
        WHERE id = ? AND status = 'pending'`,
    ),
    markRetry: db.prepare<[number, number | null, string | null, number, number]>(
      `UPDATE deliveries
          SET attempts = attempts + 1, next_attempt_at = ?, last_status = ?, last_error = ?,
              lease_until = NULL, updated_at = ?
        WHERE id = ? AND status = 'pending'`,
    ),
    markDead: db.prepare<[number | null, string | null, number, number]>(
      `UPDATE deliveries
          SET status = 'dead', attempts = attempts + 1, last_status = ?, last_error = ?,
              lease_until = NULL, updated_at = ?
        WHERE id = ? AND status = 'pending'`,
    ),
    markSkipped: db.prepare<[string, number, number]>(
      `UPDATE deliveries
          SET status = 'skipped', last_error = ?, lease_until = NULL, updated_at = ?
        WHERE id = ? AND status = 'pending'`,
    ),
    getEvent: db.prepare<[string, string], EventRow>(
      `SELECT payload, received_at FROM events WHERE site_id = ? AND event_id = ?`,
    ),
    getDeliveries: db.prepare<[string, string], DeliveryRow>(
      `SELECT destination, status, attempts, next_attempt_at, last_status, last_error, delivered_at
         FROM deliveries WHERE site_id = ? AND event_id = ? ORDER BY id`,
    ),
    nextUnleased: db.prepare<[], { t: number | null }>(
      `SELECT MIN(next_attempt_at) AS t FROM deliveries
        WHERE status = 'pending' AND lease_until IS NULL`,
    ),
    nextLeased: db.prepare<[], { t: number | null }>(
      `SELECT MIN(lease_until) AS t FROM deliveries
        WHERE status = 'pending' AND lease_until IS NOT NULL`,
    ),
    scrub: db.prepare<[]>(
      `UPDATE events
          SET payload = json_remove(payload, '$.ip', '$.user_agent'), scrubbed = 1
        WHERE scrubbed = 0
          AND NOT EXISTS (
            SELECT 1 FROM deliveries d
             WHERE d.site_id = events.site_id AND d.event_id = events.event_id
               AND d.status = 'pending')`,
    ),
    ping: db.prepare<[], { ok: number }>(`SELECT 1 AS ok`),
  };

  const insertTx = db.transaction((batch: NewEvent[], now: number): InsertResult[] => {
    const results: InsertResult[] = [];
    for (const item of batch) {
      const e = item.event;
      const payload = JSON.stringify(e);
      const scrubbed = e.ip === undefined && e.user_agent === undefined ? 1 : 0;
      const info = stmt.insertEvent.run(
        e.site_id,
        e.event_id,
        e.event_name,
        e.event_time,
        e.source,
        now,
        payload,
        scrubbed,
      );
      const inserted = info.changes === 1;
      if (inserted) {
        for (const destination of item.destinations) {
          stmt.insertPending.run(e.site_id, e.event_id, destination, now, now, now);
        }
        for (const s of item.skipped ?? []) {
          stmt.insertSkipped.run(e.site_id, e.event_id, s.destination, s.reason, now, now);
        }
      }
      results.push({ site_id: e.site_id, event_id: e.event_id, inserted });
    }
    return results;
  });

  const leaseTx = db.transaction((o: LeaseOptions): LeasedDelivery[] => {
    const rows = stmt.selectDue.all(o.site_id, o.destination, o.now, o.now, o.limit);
    const until = o.now + o.leaseMs;
    return rows.map((r) => {
      stmt.setLease.run(until, o.now, r.id);
      return {
        delivery_id: r.id,
        destination: r.destination,
        attempts: r.attempts,
        event: JSON.parse(r.payload) as CanonicalEvent,
        received_at: r.received_at,
      };
    });
  });

  const eachIdTx = db.transaction((ids: number[], run: (id: number) => void): void => {
    for (const id of ids) run(id);
  });

  const getEventTx = db.transaction((site_id: string, event_id: string): StoredEvent | null => {
    const row = stmt.getEvent.get(site_id, event_id);
    if (!row) return null;
    const deliveries: DeliveryRecord[] = stmt.getDeliveries.all(site_id, event_id).map((d) => ({
      destination: d.destination,
      status: d.status,
      attempts: d.attempts,
      next_attempt_at: d.next_attempt_at,
      last_status: d.last_status,
      last_error: d.last_error,
      delivered_at: d.delivered_at,
    }));
    return { event: JSON.parse(row.payload) as CanonicalEvent, received_at: row.received_at, deliveries };
  });

  const nextDueTx = db.transaction((): number | null => {
    const a = stmt.nextUnleased.get()?.t ?? null;
    const b = stmt.nextLeased.get()?.t ?? null;
    if (a === null) return b;
    if (b === null) return a;
    return Math.min(a, b);
  });

  let closed = false;

  // Immediate transactions take the write lock up front, so a second process sharing the
  // file waits (busy_timeout) instead of failing half way through.
  return {
    async insertEvents(batch) {
      if (batch.length === 0) return [];
      return insertTx.immediate(batch, Date.now());
    },

    async leaseDueDeliveries(o) {
      const limit = Math.floor(o.limit);
      if (!(limit > 0)) return [];
      return leaseTx.immediate({ ...o, limit });
    },

    async markDelivered(ids, info, now) {
      if (ids.length === 0) return;
      eachIdTx.immediate(ids, (id) => {
        stmt.markDelivered.run(info.httpStatus, info.error ?? null, now, now, id);
      });
    },

    async markRetry(ids, retryAt, info, now) {
      if (ids.length === 0) return;
      eachIdTx.immediate(ids, (id) => {
        stmt.markRetry.run(retryAt, info.httpStatus, info.error ?? null, now, id);
      });
    },

    async markDead(ids, info, now) {
      if (ids.length === 0) return;
      eachIdTx.immediate(ids, (id) => {
        stmt.markDead.run(info.httpStatus, info.error ?? null, now, id);
      });
    },

    async markSkipped(ids, reason, now) {
      if (ids.length === 0) return;
      eachIdTx.immediate(ids, (id) => {
        stmt.markSkipped.run(reason, now, id);
      });
    },

    async getEvent(site_id, event_id) {
      return getEventTx(site_id, event_id);
    },

    async nextDueAt() {
      return nextDueTx();
    },

    async scrubFinishedEvents() {
      return stmt.scrub.run().changes;
    },

    async ping() {
      stmt.ping.get();
    },

    async close() {
      if (closed) return;
      closed = true;
      db.close();
    },

    settings() {
      return {
        journal_mode: String(db.pragma('journal_mode', { simple: true })),
        synchronous: Number(db.pragma('synchronous', { simple: true })),
        busy_timeout: Number(db.pragma('busy_timeout', { simple: true })),
        foreign_keys: Number(db.pragma('foreign_keys', { simple: true })),
        user_version: Number(db.pragma('user_version', { simple: true })),
      };
    },
  };
}
