// The embedded outbox: one SQLite file next to the collector. WAL for concurrent readers,
// synchronous = FULL so a committed transaction survives power loss ("acknowledged means
// durable"), schema versioned with PRAGMA user_version so later releases can migrate it.
import Database from 'better-sqlite3';
import type { CanonicalEvent, Identifiers } from '../event/schema.js';
import {
  P95_RANK_SQL,
  applyIdentityPatch,
  attemptColumns,
  bucketWidth,
  cleanSignals,
  joinDestinationSummary,
  listLimit,
  listOffset,
  toDeliveryListItem,
  toDeliveryRecord,
  type AttemptColumns,
  type DeliveryListRow,
  type DeliveryRow,
  type DestinationCountsRow,
  type DestinationErrorRow,
  type DestinationLatencyRow,
} from './common.js';
import type {
  ApiTokenRecord,
  AttemptRecord,
  DeliveryTimelinePoint,
  EventListItem,
  EventTimelinePoint,
  IdentityPatch,
  InsertResult,
  LeaseOptions,
  LeasedDelivery,
  ListEventsQuery,
  NewEvent,
  NewNotification,
  NotificationLeaseOptions,
  NotificationRecord,
  NotificationStatus,
  QueueDepth,
  Store,
  StoredEvent,
  VisitorSignals,
  VisitorSignalsInput,
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
  // v2: attempt log, replay (requeue), dashboard indexes, API tokens, visitor signals,
  // identity merge bookkeeping, outbound notifications.
  `
  ALTER TABLE events ADD COLUMN order_id TEXT;
  -- Set when scrubFinishedEvents removed ip/user_agent: they are never added back.
  ALTER TABLE events ADD COLUMN scrubbed_at INTEGER;
  UPDATE events SET order_id = json_extract(payload, '$.custom.order_id')
   WHERE json_type(payload, '$.custom.order_id') = 'text';
  UPDATE events SET scrubbed_at = received_at
   WHERE scrubbed = 1
     AND NOT EXISTS (SELECT 1 FROM deliveries d
                      WHERE d.site_id = events.site_id AND d.event_id = events.event_id
                        AND d.status = 'pending');
  CREATE INDEX events_received ON events (received_at, event_id);
  CREATE INDEX events_site_received ON events (site_id, received_at, event_id);
  CREATE INDEX events_event_id ON events (event_id);
  CREATE INDEX events_order_id ON events (order_id, site_id) WHERE order_id IS NOT NULL;

  ALTER TABLE deliveries ADD COLUMN requeued_at INTEGER;
  CREATE INDEX deliveries_status_updated ON deliveries (status, updated_at);
  CREATE INDEX deliveries_updated ON deliveries (updated_at);
  CREATE INDEX deliveries_delivered_at ON deliveries (delivered_at) WHERE status = 'delivered';

  CREATE TABLE attempts (
    id          INTEGER PRIMARY KEY,
    delivery_id INTEGER NOT NULL REFERENCES deliveries (id) ON DELETE CASCADE,
    site_id     TEXT    NOT NULL,
    destination TEXT    NOT NULL,
    at          INTEGER NOT NULL,
    outcome     TEXT    NOT NULL CHECK (outcome IN ('delivered', 'retry', 'dead', 'auth')),
    http_status INTEGER,
    error       TEXT,
    response    TEXT,
    duration_ms INTEGER
  );
  CREATE INDEX attempts_delivery ON attempts (delivery_id, id);
  CREATE INDEX attempts_errors ON attempts (site_id, destination, at)
    WHERE outcome <> 'delivered' AND error IS NOT NULL;

  CREATE TABLE api_tokens (
    id           TEXT    PRIMARY KEY,
    site_id      TEXT    NOT NULL,
    env          TEXT    NOT NULL CHECK (env IN ('production', 'staging', 'development')),
    name         TEXT,
    scope        TEXT    NOT NULL CHECK (scope IN ('events', 'pixel')),
    token_hash   TEXT    NOT NULL UNIQUE,
    prefix       TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    revoked_at   INTEGER,
    last_used_at INTEGER
  );
  CREATE INDEX api_tokens_site ON api_tokens (site_id, created_at);

  CREATE TABLE visitor_signals (
    site_id    TEXT    NOT NULL,
    visitor_id TEXT    NOT NULL,
    ids        TEXT    NOT NULL,
    ip         TEXT,
    user_agent TEXT,
    url        TEXT,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (site_id, visitor_id)
  ) WITHOUT ROWID;
  CREATE INDEX visitor_signals_updated ON visitor_signals (updated_at);

  CREATE TABLE notifications (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    site_id         TEXT    NOT NULL,
    kind            TEXT    NOT NULL,
    url             TEXT    NOT NULL,
    body            TEXT    NOT NULL,
    idempotency_id  TEXT    NOT NULL,
    status          TEXT    NOT NULL CHECK (status IN ('pending', 'delivered', 'dead')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER,
    lease_until     INTEGER,
    last_status     INTEGER,
    last_error      TEXT,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    delivered_at    INTEGER,
    UNIQUE (site_id, idempotency_id)
  );
  CREATE INDEX notifications_due ON notifications (next_attempt_at, id) WHERE status = 'pending';
  CREATE INDEX notifications_created ON notifications (created_at, id);
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
  requeued_at: number | null;
}

interface EventRow {
  payload: string;
  received_at: number;
}

interface EventListRow {
  site_id: string;
  event_id: string;
  event_name: string;
  source: string;
  event_time: number;
  received_at: number;
  order_id: string | null;
}

interface SignalsRow {
  ids: string;
  ip: string | null;
  user_agent: string | null;
  url: string | null;
  updated_at: number;
}

interface NotificationRow {
  id: number;
  site_id: string;
  kind: string;
  url: string;
  body: string;
  idempotency_id: string;
  status: NotificationStatus;
  attempts: number;
  next_attempt_at: number | null;
  last_status: number | null;
  last_error: string | null;
  created_at: number;
  updated_at: number;
  delivered_at: number | null;
}

const DELIVERY_COLUMNS = `id, destination, status, attempts, next_attempt_at, last_status, last_error, delivered_at`;
const NOTIFICATION_COLUMNS = `id, site_id, kind, url, body, idempotency_id, status, attempts, next_attempt_at,
  last_status, last_error, created_at, updated_at, delivered_at`;
const TOKEN_COLUMNS = `id, site_id, env, name, scope, token_hash, prefix, created_at, revoked_at, last_used_at`;

function toNotification(r: NotificationRow): NotificationRecord {
  return { ...r };
}

type Params = (string | number | null)[];

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

  // Statements built from optional filters, prepared once per distinct SQL text.
  const prepared = new Map<string, Database.Statement<Params>>();
  const prep = (sql: string): Database.Statement<Params> => {
    let st = prepared.get(sql);
    if (!st) {
      st = db.prepare<Params>(sql);
      prepared.set(sql, st);
    }
    return st;
  };

  const stmt = {
    insertEvent: db.prepare<[string, string, string, number, string, number, string, number, string | null]>(
      `INSERT INTO events (site_id, event_id, event_name, event_time, source, received_at, payload, scrubbed, order_id)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
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
      `SELECT d.id, d.destination, d.attempts, d.requeued_at, e.payload, e.received_at
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
    // Copies site and destination from the delivery the mark just changed.
    logAttempt: db.prepare<[number, string, number | null, string | null, string | null, number | null, number]>(
      `INSERT INTO attempts (delivery_id, site_id, destination, at, outcome, http_status, error, response, duration_ms)
       SELECT id, site_id, destination, ?, ?, ?, ?, ?, ? FROM deliveries WHERE id = ?`,
    ),
    listAttempts: db.prepare<[string, string], AttemptRecord>(
      `SELECT a.delivery_id, a.destination, a.at, a.outcome, a.http_status, a.error, a.response, a.duration_ms
         FROM deliveries d
         JOIN attempts a ON a.delivery_id = d.id
        WHERE d.site_id = ? AND d.event_id = ?
        ORDER BY a.at, a.id`,
    ),
    getEvent: db.prepare<[string, string], EventRow>(
      `SELECT payload, received_at FROM events WHERE site_id = ? AND event_id = ?`,
    ),
    getDeliveries: db.prepare<[string, string], DeliveryRow>(
      `SELECT ${DELIVERY_COLUMNS} FROM deliveries WHERE site_id = ? AND event_id = ? ORDER BY id`,
    ),
    nextUnleased: db.prepare<[], { t: number | null }>(
      `SELECT MIN(next_attempt_at) AS t FROM deliveries
        WHERE status = 'pending' AND lease_until IS NULL`,
    ),
    nextLeased: db.prepare<[], { t: number | null }>(
      `SELECT MIN(lease_until) AS t FROM deliveries
        WHERE status = 'pending' AND lease_until IS NOT NULL`,
    ),
    scrub: db.prepare<[number]>(
      `UPDATE events
          SET payload = json_remove(payload, '$.ip', '$.user_agent'), scrubbed = 1, scrubbed_at = ?
        WHERE scrubbed = 0
          AND NOT EXISTS (
            SELECT 1 FROM deliveries d
             WHERE d.site_id = events.site_id AND d.event_id = events.event_id
               AND d.status = 'pending')`,
    ),
    queueDepth: db.prepare<[], QueueDepth>(
      `SELECT site_id, destination, COUNT(*) AS pending FROM deliveries
        WHERE status = 'pending' GROUP BY site_id, destination ORDER BY site_id, destination`,
    ),
    countPending: db.prepare<[], { n: number }>(`SELECT COUNT(*) AS n FROM deliveries WHERE status = 'pending'`),
    // Identity merge.
    mergeSource: db.prepare<[string, string], { payload: string; scrubbed_at: number | null; pending: number }>(
      `SELECT e.payload, e.scrubbed_at,
              EXISTS (SELECT 1 FROM deliveries d
                       WHERE d.site_id = e.site_id AND d.event_id = e.event_id AND d.status = 'pending') AS pending
         FROM events e WHERE e.site_id = ? AND e.event_id = ?`,
    ),
    mergeWrite: db.prepare<[string, number, string, string]>(
      `UPDATE events SET payload = ?, scrubbed = CASE WHEN ? = 1 THEN 0 ELSE scrubbed END
        WHERE site_id = ? AND event_id = ?`,
    ),
    // API tokens.
    createToken: db.prepare<[string, string, string, string | null, string, string, string, number, number | null, number | null]>(
      `INSERT INTO api_tokens (${TOKEN_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    tokenByHash: db.prepare<[string], ApiTokenRecord>(`SELECT ${TOKEN_COLUMNS} FROM api_tokens WHERE token_hash = ?`),
    tokensAll: db.prepare<[], ApiTokenRecord>(`SELECT ${TOKEN_COLUMNS} FROM api_tokens ORDER BY created_at, id`),
    tokensOfSite: db.prepare<[string], ApiTokenRecord>(
      `SELECT ${TOKEN_COLUMNS} FROM api_tokens WHERE site_id = ? ORDER BY created_at, id`,
    ),
    revokeToken: db.prepare<[number, string]>(
      `UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL`,
    ),
    touchToken: db.prepare<[number, string, number]>(
      `UPDATE api_tokens SET last_used_at = ? WHERE id = ? AND (last_used_at IS NULL OR last_used_at < ?)`,
    ),
    // Visitor signals: the side with the newer time wins, the other only fills gaps.
    upsertSignals: db.prepare<[string, string, string, string | null, string | null, string | null, number]>(
      `INSERT INTO visitor_signals (site_id, visitor_id, ids, ip, user_agent, url, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (site_id, visitor_id) DO UPDATE SET
         ids = CASE WHEN excluded.updated_at >= visitor_signals.updated_at
                    THEN json_patch(visitor_signals.ids, excluded.ids)
                    ELSE json_patch(excluded.ids, visitor_signals.ids) END,
         ip = CASE WHEN excluded.updated_at >= visitor_signals.updated_at
                   THEN coalesce(excluded.ip, visitor_signals.ip)
                   ELSE coalesce(visitor_signals.ip, excluded.ip) END,
         user_agent = CASE WHEN excluded.updated_at >= visitor_signals.updated_at
                   THEN coalesce(excluded.user_agent, visitor_signals.user_agent)
                   ELSE coalesce(visitor_signals.user_agent, excluded.user_agent) END,
         url = CASE WHEN excluded.updated_at >= visitor_signals.updated_at
                   THEN coalesce(excluded.url, visitor_signals.url)
                   ELSE coalesce(visitor_signals.url, excluded.url) END,
         updated_at = max(visitor_signals.updated_at, excluded.updated_at)`,
    ),
    getSignals: db.prepare<[string, string], SignalsRow>(
      `SELECT ids, ip, user_agent, url, updated_at FROM visitor_signals WHERE site_id = ? AND visitor_id = ?`,
    ),
    purgeSignals: db.prepare<[number]>(`DELETE FROM visitor_signals WHERE updated_at < ?`),
    // Notifications.
    insertNotification: db.prepare<[string, string, string, string, string, number, number, number]>(
      `INSERT INTO notifications (site_id, kind, url, body, idempotency_id, status, next_attempt_at, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, 'pending', ?, ?, ?)
       ON CONFLICT (site_id, idempotency_id) DO NOTHING`,
    ),
    dueNotifications: db.prepare<[number, number, number], NotificationRow>(
      `SELECT ${NOTIFICATION_COLUMNS} FROM notifications
        WHERE status = 'pending' AND next_attempt_at <= ? AND (lease_until IS NULL OR lease_until <= ?)
        ORDER BY next_attempt_at, id LIMIT ?`,
    ),
    leaseNotification: db.prepare<[number, number, number]>(
      `UPDATE notifications SET lease_until = ?, updated_at = ? WHERE id = ?`,
    ),
    notificationDelivered: db.prepare<[number | null, string | null, number, number, number]>(
      `UPDATE notifications
          SET status = 'delivered', attempts = attempts + 1, last_status = ?, last_error = ?,
              delivered_at = ?, lease_until = NULL, updated_at = ?
        WHERE id = ? AND status = 'pending'`,
    ),
    notificationRetry: db.prepare<[number, number | null, string | null, number, number]>(
      `UPDATE notifications
          SET attempts = attempts + 1, next_attempt_at = ?, last_status = ?, last_error = ?,
              lease_until = NULL, updated_at = ?
        WHERE id = ? AND status = 'pending'`,
    ),
    notificationDead: db.prepare<[number | null, string | null, number, number]>(
      `UPDATE notifications
          SET status = 'dead', attempts = attempts + 1, last_status = ?, last_error = ?,
              lease_until = NULL, updated_at = ?
        WHERE id = ? AND status = 'pending'`,
    ),
    requeueNotifications: db.prepare<[number, number, string]>(
      `UPDATE notifications
          SET status = 'pending', attempts = 0, next_attempt_at = ?, lease_until = NULL, updated_at = ?
        WHERE status = 'dead' AND id IN (SELECT value FROM json_each(?))`,
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
        e.custom.order_id ?? null,
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
      if (item.visitor) upsertSignals(e.site_id, item.visitor.visitor_id, item.visitor.signals, now);
      results.push({ site_id: e.site_id, event_id: e.event_id, inserted });
    }
    return results;
  });

  function upsertSignals(site_id: string, visitor_id: string, signals: VisitorSignalsInput, now: number): void {
    const c = cleanSignals(signals);
    if (!c) return;
    stmt.upsertSignals.run(site_id, visitor_id, JSON.stringify(c.ids), c.ip, c.user_agent, c.url, now);
  }

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
        retry_window_start: Math.max(r.received_at, r.requeued_at ?? 0),
      };
    });
  });

  const eachIdTx = db.transaction((ids: number[], run: (id: number) => boolean, log?: AttemptColumns & { at: number }): void => {
    for (const id of ids) {
      if (run(id) && log) {
        stmt.logAttempt.run(log.at, log.outcome, log.http_status, log.error, log.response, log.duration_ms, id);
      }
    }
  });

  const getEventTx = db.transaction((site_id: string, event_id: string): StoredEvent | null => {
    const row = stmt.getEvent.get(site_id, event_id);
    if (!row) return null;
    const deliveries = stmt.getDeliveries.all(site_id, event_id).map(toDeliveryRecord);
    return { event: JSON.parse(row.payload) as CanonicalEvent, received_at: row.received_at, deliveries };
  });

  const nextDueTx = db.transaction((): number | null => {
    const a = stmt.nextUnleased.get()?.t ?? null;
    const b = stmt.nextLeased.get()?.t ?? null;
    if (a === null) return b;
    if (b === null) return a;
    return Math.min(a, b);
  });

  const listEventsTx = db.transaction((q: ListEventsQuery, limit: number): EventListItem[] => {
    const where: string[] = [];
    const params: Params = [];
    if (q.site_id !== undefined) {
      where.push('site_id = ?');
      params.push(q.site_id);
    }
    if (q.search !== undefined) {
      where.push('(event_id = ? OR order_id = ?)');
      params.push(q.search, q.search);
    }
    if (q.before) {
      const b = q.before;
      if (b.site_id !== undefined) {
        where.push('(received_at < ? OR (received_at = ? AND (event_id < ? OR (event_id = ? AND site_id < ?))))');
        params.push(b.received_at, b.received_at, b.event_id, b.event_id, b.site_id);
      } else {
        where.push('(received_at < ? OR (received_at = ? AND event_id < ?))');
        params.push(b.received_at, b.received_at, b.event_id);
      }
    }
    params.push(limit);
    const rows = prep(
      `SELECT site_id, event_id, event_name, source, event_time, received_at, order_id FROM events
        ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
        ORDER BY received_at DESC, event_id DESC, site_id DESC LIMIT ?`,
    ).all(...params) as EventListRow[];
    return rows.map((r) => ({
      ...r,
      deliveries: stmt.getDeliveries.all(r.site_id, r.event_id).map(toDeliveryRecord),
    }));
  });

  const mergeTx = db.transaction((site_id: string, event_id: string, patch: IdentityPatch): boolean => {
    const row = stmt.mergeSource.get(site_id, event_id);
    if (!row) return false;
    const allowNetwork = row.pending === 1 && row.scrubbed_at === null;
    const r = applyIdentityPatch(JSON.parse(row.payload) as CanonicalEvent, patch, allowNetwork);
    if (!r.changed) return false;
    stmt.mergeWrite.run(JSON.stringify(r.event), r.networkAdded ? 1 : 0, site_id, event_id);
    return true;
  });

  const insertNotificationsTx = db.transaction((items: NewNotification[], now: number): number => {
    let n = 0;
    for (const i of items) {
      n += stmt.insertNotification.run(i.site_id, i.kind, i.url, i.body, i.idempotency_id, now, now, now).changes;
    }
    return n;
  });

  const leaseNotificationsTx = db.transaction((o: NotificationLeaseOptions, limit: number): NotificationRecord[] => {
    const rows = stmt.dueNotifications.all(o.now, o.now, limit);
    for (const r of rows) stmt.leaseNotification.run(o.now + o.leaseMs, o.now, r.id);
    return rows.map((r) => toNotification({ ...r, updated_at: o.now }));
  });

  /** `AND column = ?` for each filter that is set. */
  function filters(pairs: [column: string, value: string | undefined][], params: Params): string {
    let sql = '';
    for (const [column, value] of pairs) {
      if (value === undefined) continue;
      sql += ` AND ${column} = ?`;
      params.push(value);
    }
    return sql;
  }

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
      eachIdTx.immediate(
        ids,
        (id) => stmt.markDelivered.run(info.httpStatus, info.error ?? null, now, now, id).changes === 1,
        { ...attemptColumns('delivered', info), at: now },
      );
    },

    async markRetry(ids, retryAt, info, now) {
      if (ids.length === 0) return;
      eachIdTx.immediate(
        ids,
        (id) => stmt.markRetry.run(retryAt, info.httpStatus, info.error ?? null, now, id).changes === 1,
        { ...attemptColumns('retry', info), at: now },
      );
    },

    async markDead(ids, info, now) {
      if (ids.length === 0) return;
      eachIdTx.immediate(
        ids,
        (id) => stmt.markDead.run(info.httpStatus, info.error ?? null, now, id).changes === 1,
        { ...attemptColumns('dead', info), at: now },
      );
    },

    async markSkipped(ids, reason, now) {
      if (ids.length === 0) return;
      eachIdTx.immediate(ids, (id) => stmt.markSkipped.run(reason, now, id).changes === 1);
    },

    async getEvent(site_id, event_id) {
      return getEventTx(site_id, event_id);
    },

    async nextDueAt() {
      return nextDueTx();
    },

    async scrubFinishedEvents() {
      return stmt.scrub.run(Date.now()).changes;
    },

    async ping() {
      stmt.ping.get();
    },

    async close() {
      if (closed) return;
      closed = true;
      db.close();
    },

    async listAttempts(site_id, event_id) {
      return stmt.listAttempts.all(site_id, event_id);
    },

    async listEvents(q) {
      const limit = listLimit(q.limit);
      if (limit === 0) return [];
      return listEventsTx(q, limit);
    },

    async listDeliveries(q) {
      const limit = listLimit(q.limit);
      if (limit === 0) return [];
      const params: Params = [q.status];
      let sql = `SELECT d.id, d.site_id, d.event_id, e.event_name, e.received_at, d.destination, d.status, d.attempts,
                        d.next_attempt_at, d.last_status, d.last_error, d.delivered_at, d.updated_at
                   FROM deliveries d
                   JOIN events e ON e.site_id = d.site_id AND e.event_id = d.event_id
                  WHERE d.status = ?`;
      sql += filters([['d.site_id', q.site_id], ['d.destination', q.destination]], params);
      if (q.errorContains !== undefined && q.errorContains !== '') {
        sql += ` AND instr(lower(d.last_error), lower(?)) > 0`;
        params.push(q.errorContains);
      }
      sql += ` ORDER BY d.updated_at DESC, d.id DESC LIMIT ? OFFSET ?`;
      params.push(limit, listOffset(q.offset));
      const rows = prep(sql).all(...params) as DeliveryListRow[];
      return rows.map(toDeliveryListItem);
    },

    async requeueDeliveries(q, now) {
      if (q.status !== 'dead') return 0;
      if (q.deliveryIds && q.deliveryIds.length === 0) return 0;
      const params: Params = [now, now, now];
      let sql = `UPDATE deliveries
                    SET status = 'pending', next_attempt_at = ?, lease_until = NULL, requeued_at = ?, updated_at = ?
                  WHERE status = 'dead'`;
      sql += filters([['site_id', q.site_id], ['destination', q.destination]], params);
      if (q.deliveryIds) {
        sql += ` AND id IN (SELECT value FROM json_each(?))`;
        params.push(JSON.stringify(q.deliveryIds));
      }
      return db.transaction(() => prep(sql).run(...params).changes).immediate();
    },

    async destinationSummary(q) {
      const site = q.site_id !== undefined ? ' AND d.site_id = ?' : '';
      const siteParam: Params = q.site_id !== undefined ? [q.site_id] : [];
      const run = db.transaction(() => {
        const counts = prep(
          `SELECT d.site_id, d.destination,
                  SUM(d.status = 'delivered') AS delivered,
                  SUM(d.status = 'pending' AND d.attempts > 0) AS retrying,
                  SUM(d.status = 'pending' AND d.attempts = 0) AS pending,
                  SUM(d.status = 'dead') AS dead,
                  SUM(d.status = 'skipped') AS skipped
             FROM deliveries d
            WHERE d.updated_at >= ?${site}
            GROUP BY d.site_id, d.destination
            ORDER BY d.site_id, d.destination`,
        ).all(q.since, ...siteParam) as DestinationCountsRow[];
        const latency = prep(
          `WITH lat AS (
             SELECT d.site_id, d.destination, d.delivered_at - e.received_at AS ms
               FROM deliveries d
               JOIN events e ON e.site_id = d.site_id AND e.event_id = d.event_id
              WHERE d.status = 'delivered' AND d.delivered_at >= ?${site}
           ), ranked AS (
             SELECT site_id, destination, ms,
                    ROW_NUMBER() OVER (PARTITION BY site_id, destination ORDER BY ms) AS rn,
                    COUNT(*) OVER (PARTITION BY site_id, destination) AS n
               FROM lat
           )
           SELECT site_id, destination, AVG(ms) AS avg_ms,
                  MAX(CASE WHEN rn = ${P95_RANK_SQL} THEN ms END) AS p95_ms
             FROM ranked GROUP BY site_id, destination`,
        ).all(q.since, ...siteParam) as DestinationLatencyRow[];
        // SQLite's bare-column MAX: error comes from the row holding the latest `at`.
        const errors = prep(
          `SELECT a.site_id, a.destination, a.error, MAX(a.at) AS at FROM attempts a
            WHERE a.outcome <> 'delivered' AND a.error IS NOT NULL AND a.at >= ?${site.replace('d.', 'a.')}
            GROUP BY a.site_id, a.destination`,
        ).all(q.since, ...siteParam) as DestinationErrorRow[];
        return { counts, latency, errors };
      });
      const { counts, latency, errors } = run();
      return joinDestinationSummary(counts, latency, errors);
    },

    async deliveryTimeline(q) {
      const b = bucketWidth(q.bucketMs);
      const site = q.site_id !== undefined ? ' AND site_id = ?' : '';
      const siteParam: Params = q.site_id !== undefined ? [q.site_id] : [];
      return prep(
        `SELECT bucket_start, destination, status, COUNT(*) AS count FROM (
           SELECT delivered_at - (delivered_at % ?) AS bucket_start, destination, 'delivered' AS status
             FROM deliveries WHERE status = 'delivered' AND delivered_at >= ?${site}
           UNION ALL
           SELECT updated_at - (updated_at % ?) AS bucket_start, destination, 'dead' AS status
             FROM deliveries WHERE status = 'dead' AND updated_at >= ?${site}
         ) GROUP BY bucket_start, destination, status
           ORDER BY bucket_start, destination, status`,
      ).all(b, q.since, ...siteParam, b, q.since, ...siteParam) as DeliveryTimelinePoint[];
    },

    async eventTimeline(q) {
      const b = bucketWidth(q.bucketMs);
      const site = q.site_id !== undefined ? ' AND site_id = ?' : '';
      const siteParam: Params = q.site_id !== undefined ? [q.site_id] : [];
      return prep(
        `SELECT received_at - (received_at % ?) AS bucket_start, COUNT(*) AS count
           FROM events WHERE received_at >= ?${site}
          GROUP BY bucket_start ORDER BY bucket_start`,
      ).all(b, q.since, ...siteParam) as EventTimelinePoint[];
    },

    async queueDepth() {
      return stmt.queueDepth.all();
    },

    async countPending() {
      return stmt.countPending.get()?.n ?? 0;
    },

    async createApiToken(r) {
      stmt.createToken.run(
        r.id,
        r.site_id,
        r.env,
        r.name,
        r.scope,
        r.token_hash.toLowerCase(),
        r.prefix,
        r.created_at,
        r.revoked_at,
        r.last_used_at,
      );
    },

    async findApiTokenByHash(hash) {
      return stmt.tokenByHash.get(hash.toLowerCase()) ?? null;
    },

    async listApiTokens(site_id) {
      return site_id === undefined ? stmt.tokensAll.all() : stmt.tokensOfSite.all(site_id);
    },

    async revokeApiToken(id, now) {
      return stmt.revokeToken.run(now, id).changes === 1;
    },

    async touchApiToken(id, now) {
      stmt.touchToken.run(now, id, now);
    },

    async upsertVisitorSignals(site_id, visitor_id, signals, now) {
      upsertSignals(site_id, visitor_id, signals, now);
    },

    async getVisitorSignals(site_id, visitor_id) {
      const r = stmt.getSignals.get(site_id, visitor_id);
      if (!r) return null;
      const out: VisitorSignals = { ids: JSON.parse(r.ids) as Identifiers, updated_at: r.updated_at };
      if (r.ip !== null) out.ip = r.ip;
      if (r.user_agent !== null) out.user_agent = r.user_agent;
      if (r.url !== null) out.url = r.url;
      return out;
    },

    async purgeVisitorSignals(olderThan) {
      return stmt.purgeSignals.run(olderThan).changes;
    },

    async mergeEventIdentity(site_id, event_id, patch) {
      return mergeTx.immediate(site_id, event_id, patch);
    },

    async insertNotifications(items, now) {
      if (items.length === 0) return 0;
      return insertNotificationsTx.immediate(items, now);
    },

    async leaseDueNotifications(o) {
      const limit = listLimit(o.limit);
      if (limit === 0) return [];
      return leaseNotificationsTx.immediate(o, limit);
    },

    async markNotification(id, m, now) {
      const error = m.error ?? null;
      if (m.status === 'delivered') stmt.notificationDelivered.run(m.httpStatus, error, now, now, id);
      else if (m.status === 'dead') stmt.notificationDead.run(m.httpStatus, error, now, id);
      else stmt.notificationRetry.run(m.retryAt ?? now, m.httpStatus, error, now, id);
    },

    async listNotifications(q) {
      const limit = listLimit(q.limit);
      if (limit === 0) return [];
      const params: Params = [];
      let sql = `SELECT ${NOTIFICATION_COLUMNS} FROM notifications WHERE 1 = 1`;
      sql += filters([['status', q.status], ['site_id', q.site_id]], params);
      sql += ` ORDER BY created_at DESC, id DESC LIMIT ?`;
      params.push(limit);
      return (prep(sql).all(...params) as NotificationRow[]).map(toNotification);
    },

    async requeueNotifications(ids, now) {
      if (ids.length === 0) return 0;
      return stmt.requeueNotifications.run(now, now, JSON.stringify(ids)).changes;
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
