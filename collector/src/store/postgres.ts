// The outbox on PostgreSQL, for more than one collector machine. Same contract as the SQLite
// engine (collector/test/store-contract.ts). Leasing takes rows with FOR UPDATE SKIP LOCKED
// in one statement, so two machines never lease the same delivery. Tables live in their own
// schema (default `trakvo`), versioned in `schema_migrations`; migrations run in one
// transaction under an advisory lock, so collectors starting together do not race.
// Times are bigint Unix ms (parsed back to JS numbers), payloads jsonb.
import pg from 'pg';
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
  type DeliveryListRow,
  type DeliveryRow,
  type DestinationCountsRow,
  type DestinationErrorRow,
  type DestinationLatencyRow,
} from './common.js';
import type {
  ApiTokenRecord,
  AttemptInfo,
  AttemptRecord,
  DeliveryRecord,
  DeliveryTimelinePoint,
  EventListItem,
  EventTimelinePoint,
  InsertResult,
  LeasedDelivery,
  NotificationRecord,
  QueueDepth,
  Store,
  VisitorSignals,
  VisitorSignalsInput,
} from './types.js';

export interface PostgresStoreOptions {
  /** Connection string, e.g. postgres://user@host:5432/db. */
  url: string;
  /** Schema holding Trakvo's tables; created when missing. Default `trakvo`. */
  schema?: string;
  /** Most connections in the pool. Default 10. */
  poolSize?: number;
  /** Errors of idle pooled connections (server restart, network); the pool reconnects. */
  onError?: (err: Error) => void;
}

export interface PostgresStore extends Store {
  /** The schema this store uses. */
  readonly schema: string;
  /** Highest migration version applied. */
  schemaVersion(): Promise<number>;
}

/** Advisory-lock namespace for migrations (first key); the schema name hash is the second. */
const MIGRATION_LOCK_NAMESPACE = 0x7472_6b76; // "trkv"

/**
 * Each entry moves the schema from version `index` to `index + 1`; `S` is the quoted schema
 * name. Append only: never edit a released step, add a new one.
 */
const MIGRATIONS: readonly ((S: string) => string)[] = [
  // Keys compare byte-wise (COLLATE "C"), as in SQLite, whatever the database's locale: the
  // same order in both engines, and cheaper indexes.
  (S) => `
  CREATE TABLE ${S}.events (
    id          bigint  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    site_id     text COLLATE "C" NOT NULL,
    event_id    text COLLATE "C" NOT NULL,
    event_name  text    NOT NULL,
    event_time  bigint  NOT NULL,
    source      text    NOT NULL,
    received_at bigint  NOT NULL,
    payload     jsonb   NOT NULL,
    order_id    text COLLATE "C",
    -- true once the payload holds no ip/user_agent (none given, or removed after delivery).
    scrubbed    boolean NOT NULL DEFAULT false,
    -- Set when scrubFinishedEvents removed ip/user_agent: they are never added back.
    scrubbed_at bigint,
    UNIQUE (site_id, event_id)
  );
  CREATE INDEX events_unscrubbed ON ${S}.events (id) WHERE NOT scrubbed;
  CREATE INDEX events_received ON ${S}.events (received_at, event_id);
  CREATE INDEX events_site_received ON ${S}.events (site_id, received_at, event_id);
  CREATE INDEX events_event_id ON ${S}.events (event_id);
  CREATE INDEX events_order_id ON ${S}.events (order_id, site_id) WHERE order_id IS NOT NULL;

  CREATE TABLE ${S}.deliveries (
    id              bigint  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    site_id         text COLLATE "C" NOT NULL,
    event_id        text COLLATE "C" NOT NULL,
    destination     text COLLATE "C" NOT NULL,
    status          text    NOT NULL CHECK (status IN ('pending', 'delivered', 'dead', 'skipped')),
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at bigint,
    lease_until     bigint,
    last_status     integer,
    last_error      text,
    delivered_at    bigint,
    requeued_at     bigint,
    created_at      bigint  NOT NULL,
    updated_at      bigint  NOT NULL,
    UNIQUE (site_id, event_id, destination),
    FOREIGN KEY (site_id, event_id) REFERENCES ${S}.events (site_id, event_id) ON DELETE CASCADE
  );
  CREATE INDEX deliveries_due ON ${S}.deliveries (site_id, destination, next_attempt_at, id)
    WHERE status = 'pending';
  CREATE INDEX deliveries_next_unleased ON ${S}.deliveries (next_attempt_at)
    WHERE status = 'pending' AND lease_until IS NULL;
  CREATE INDEX deliveries_next_leased ON ${S}.deliveries (lease_until)
    WHERE status = 'pending' AND lease_until IS NOT NULL;
  CREATE INDEX deliveries_status_updated ON ${S}.deliveries (status, updated_at);
  CREATE INDEX deliveries_updated ON ${S}.deliveries (updated_at);
  CREATE INDEX deliveries_delivered_at ON ${S}.deliveries (delivered_at) WHERE status = 'delivered';

  CREATE TABLE ${S}.attempts (
    id          bigint  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    delivery_id bigint  NOT NULL REFERENCES ${S}.deliveries (id) ON DELETE CASCADE,
    site_id     text COLLATE "C" NOT NULL,
    destination text COLLATE "C" NOT NULL,
    at          bigint  NOT NULL,
    outcome     text    NOT NULL CHECK (outcome IN ('delivered', 'retry', 'dead', 'auth')),
    http_status integer,
    error       text,
    response    text,
    duration_ms integer
  );
  CREATE INDEX attempts_delivery ON ${S}.attempts (delivery_id, id);
  CREATE INDEX attempts_errors ON ${S}.attempts (site_id, destination, at)
    WHERE outcome <> 'delivered' AND error IS NOT NULL;

  CREATE TABLE ${S}.api_tokens (
    id           text COLLATE "C" PRIMARY KEY,
    site_id      text COLLATE "C" NOT NULL,
    env          text   NOT NULL CHECK (env IN ('production', 'staging', 'development')),
    name         text,
    scope        text   NOT NULL CHECK (scope IN ('events', 'pixel')),
    token_hash   text   NOT NULL UNIQUE,
    prefix       text   NOT NULL,
    created_at   bigint NOT NULL,
    revoked_at   bigint,
    last_used_at bigint
  );
  CREATE INDEX api_tokens_site ON ${S}.api_tokens (site_id, created_at);

  CREATE TABLE ${S}.visitor_signals (
    site_id    text COLLATE "C" NOT NULL,
    visitor_id text   NOT NULL,
    ids        jsonb  NOT NULL,
    ip         text,
    user_agent text,
    url        text,
    updated_at bigint NOT NULL,
    PRIMARY KEY (site_id, visitor_id)
  );
  CREATE INDEX visitor_signals_updated ON ${S}.visitor_signals (updated_at);

  CREATE TABLE ${S}.notifications (
    id              bigint  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    site_id         text COLLATE "C" NOT NULL,
    kind            text    NOT NULL,
    url             text    NOT NULL,
    body            text    NOT NULL,
    idempotency_id  text    NOT NULL,
    status          text    NOT NULL CHECK (status IN ('pending', 'delivered', 'dead')),
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at bigint,
    lease_until     bigint,
    last_status     integer,
    last_error      text,
    created_at      bigint  NOT NULL,
    updated_at      bigint  NOT NULL,
    delivered_at    bigint,
    UNIQUE (site_id, idempotency_id)
  );
  CREATE INDEX notifications_due ON ${S}.notifications (next_attempt_at, id) WHERE status = 'pending';
  CREATE INDEX notifications_created ON ${S}.notifications (created_at, id);
  `,
];

export const POSTGRES_SCHEMA_VERSION = MIGRATIONS.length;

const SCHEMA_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

/** The schema name, double-quoted; only plain identifiers are accepted. */
export function quoteSchema(schema: string): string {
  if (!SCHEMA_NAME.test(schema)) {
    throw new Error(`invalid PostgreSQL schema name ${JSON.stringify(schema)}: use letters, digits and _`);
  }
  return `"${schema}"`;
}

// PostgreSQL text and jsonb cannot hold U+0000, and jsonb rejects unpaired surrogates. Both
// are replaced by U+FFFD so one odd event cannot fail the group commit it shares.
const UNSTORABLE_SOURCE = '\\u0000|[\\uD800-\\uDBFF](?![\\uDC00-\\uDFFF])|(?<![\\uD800-\\uDBFF])[\\uDC00-\\uDFFF]';
const HAS_UNSTORABLE = new RegExp(UNSTORABLE_SOURCE);
const UNSTORABLE = new RegExp(UNSTORABLE_SOURCE, 'g');

function pgText(s: string): string {
  return HAS_UNSTORABLE.test(s) ? s.replace(UNSTORABLE, '\uFFFD') : s;
}

function pgTextOrNull(s: string | null | undefined): string | null {
  return s === null || s === undefined ? null : pgText(s);
}

/** A deep copy with every string (keys too) made storable. */
function pgValue(v: unknown): unknown {
  if (typeof v === 'string') return pgText(v);
  if (Array.isArray(v)) return v.map(pgValue);
  if (v !== null && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[pgText(k)] = pgValue(x);
    return out;
  }
  return v;
}

const INT8_OID = 20;
const NUMERIC_OID = 1700;

/** bigint (and numeric) come back as JS numbers: every stored number is a safe integer ms or a count. */
const types = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === INT8_OID || oid === NUMERIC_OID) return (value: string) => Number(value);
    return pg.types.getTypeParser(oid, format);
  },
} as pg.CustomTypesConfig;

/** Numbered query parameters: `p.add(v)` returns its `$n`. */
class Params {
  readonly values: unknown[] = [];
  add(v: unknown, cast = ''): string {
    this.values.push(v);
    return `$${this.values.length}${cast}`;
  }
}

/** A delivery row with the keys of its event (pg's `DELIVERY_COLUMNS`). */
interface KeyedDeliveryRow extends DeliveryRow {
  site_id: string;
  event_id: string;
}

const DELIVERY_COLUMNS = `id, site_id, event_id, destination, status, attempts, next_attempt_at, last_status, last_error, delivered_at`;
const NOTIFICATION_COLUMNS = `id, site_id, kind, url, body, idempotency_id, status, attempts, next_attempt_at,
  last_status, last_error, created_at, updated_at, delivered_at`;
const TOKEN_COLUMNS = `id, site_id, env, name, scope, token_hash, prefix, created_at, revoked_at, last_used_at`;

async function migrate(pool: pg.Pool, schema: string, S: string): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    // Held until COMMIT: a second collector starting now waits here, then finds nothing to do.
    await client.query('SELECT pg_advisory_xact_lock($1::int, hashtext($2::text))', [MIGRATION_LOCK_NAMESPACE, schema]);
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${S}`);
    await client.query(
      `CREATE TABLE IF NOT EXISTS ${S}.schema_migrations (version integer PRIMARY KEY, applied_at bigint NOT NULL)`,
    );
    const { rows } = await client.query<{ v: number }>(`SELECT COALESCE(MAX(version), 0)::int AS v FROM ${S}.schema_migrations`);
    const current = rows[0]?.v ?? 0;
    if (current > MIGRATIONS.length) {
      throw new Error(
        `database schema version ${current} is newer than this collector supports (${MIGRATIONS.length}); upgrade Trakvo`,
      );
    }
    for (let v = current; v < MIGRATIONS.length; v++) {
      await client.query(MIGRATIONS[v]!(S));
      await client.query(`INSERT INTO ${S}.schema_migrations (version, applied_at) VALUES ($1, $2)`, [v + 1, Date.now()]);
    }
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}

export async function openPostgresStore(options: PostgresStoreOptions): Promise<PostgresStore> {
  const schema = options.schema ?? 'trakvo';
  const S = quoteSchema(schema);
  const pool = new pg.Pool({ connectionString: options.url, max: options.poolSize ?? 10, types });
  // Without a listener an idle connection's error would crash the process.
  pool.on('error', (err) => options.onError?.(err));
  try {
    await migrate(pool, schema, S);
  } catch (err) {
    await pool.end().catch(() => undefined);
    throw err;
  }

  const q = async <R extends pg.QueryResultRow>(sql: string, values?: unknown[]): Promise<pg.QueryResult<R>> =>
    pool.query<R>(sql, values);

  /** The side with the newer time wins, the other only fills gaps. */
  async function upsertSignals(
    run: (sql: string, params: unknown[]) => Promise<unknown>,
    site_id: string,
    visitor_id: string,
    signals: VisitorSignalsInput,
    now: number,
  ): Promise<void> {
    const c = cleanSignals(signals);
    if (!c) return;
    const ids: Record<string, string> = {};
    for (const [k, v] of Object.entries(c.ids)) ids[pgText(k)] = pgText(v);
    await run(
      `INSERT INTO ${S}.visitor_signals AS v (site_id, visitor_id, ids, ip, user_agent, url, updated_at)
       VALUES ($1, $2, $3::jsonb, $4, $5, $6, $7::bigint)
       ON CONFLICT (site_id, visitor_id) DO UPDATE SET
         ids = CASE WHEN EXCLUDED.updated_at >= v.updated_at THEN v.ids || EXCLUDED.ids ELSE EXCLUDED.ids || v.ids END,
         ip = CASE WHEN EXCLUDED.updated_at >= v.updated_at
                   THEN COALESCE(EXCLUDED.ip, v.ip) ELSE COALESCE(v.ip, EXCLUDED.ip) END,
         user_agent = CASE WHEN EXCLUDED.updated_at >= v.updated_at
                   THEN COALESCE(EXCLUDED.user_agent, v.user_agent) ELSE COALESCE(v.user_agent, EXCLUDED.user_agent) END,
         url = CASE WHEN EXCLUDED.updated_at >= v.updated_at
                   THEN COALESCE(EXCLUDED.url, v.url) ELSE COALESCE(v.url, EXCLUDED.url) END,
         updated_at = GREATEST(v.updated_at, EXCLUDED.updated_at)`,
      [
        pgText(site_id),
        pgText(visitor_id),
        JSON.stringify(ids),
        pgTextOrNull(c.ip),
        pgTextOrNull(c.user_agent),
        pgTextOrNull(c.url),
        now,
      ],
    );
  }

  async function tx<T>(fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      const result = await fn(client);
      await client.query('COMMIT');
      return result;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }

  /** Marks pending deliveries and logs one attempt per delivery changed, in one statement. */
  async function mark(kind: 'delivered' | 'retry' | 'dead', ids: number[], info: AttemptInfo, now: number, retryAt?: number) {
    if (ids.length === 0) return;
    const a = attemptColumns(kind, info);
    const p = new Params();
    const idList = p.add(ids, '::bigint[]');
    const st = p.add(info.httpStatus, '::int');
    const err = p.add(pgTextOrNull(info.error), '::text');
    const t = p.add(now, '::bigint');
    const set =
      kind === 'delivered'
        ? `status = 'delivered', delivered_at = ${t}`
        : kind === 'dead'
          ? `status = 'dead'`
          : `next_attempt_at = ${p.add(retryAt, '::bigint')}`;
    await q(
      `WITH m AS (
         UPDATE ${S}.deliveries
            SET ${set}, attempts = attempts + 1, last_status = ${st}, last_error = ${err},
                lease_until = NULL, updated_at = ${t}
          WHERE id = ANY(${idList}) AND status = 'pending'
          RETURNING id, site_id, destination
       )
       INSERT INTO ${S}.attempts (delivery_id, site_id, destination, at, outcome, http_status, error, response, duration_ms)
       SELECT id, site_id, destination, ${t}, ${p.add(a.outcome, '::text')}, ${st}, ${err},
              ${p.add(pgTextOrNull(a.response), '::text')}, ${p.add(a.duration_ms, '::int')}
         FROM m`,
      p.values,
    );
  }

  async function deliveriesOf(keys: { site_id: string; event_id: string }[]): Promise<Map<string, DeliveryRecord[]>> {
    const out = new Map<string, DeliveryRecord[]>();
    if (keys.length === 0) return out;
    const { rows } = await q<KeyedDeliveryRow>(
      `SELECT ${DELIVERY_COLUMNS} FROM ${S}.deliveries
        WHERE (site_id, event_id) IN (SELECT * FROM unnest($1::text[], $2::text[]))
        ORDER BY id`,
      [keys.map((k) => k.site_id), keys.map((k) => k.event_id)],
    );
    for (const r of rows) {
      const k = `${r.site_id}\u0000${r.event_id}`;
      let list = out.get(k);
      if (!list) out.set(k, (list = []));
      list.push(toDeliveryRecord(r));
    }
    return out;
  }

  let closed = false;

  return {
    schema,

    async schemaVersion() {
      const { rows } = await q<{ v: number }>(`SELECT COALESCE(MAX(version), 0)::int AS v FROM ${S}.schema_migrations`);
      return rows[0]?.v ?? 0;
    },

    async insertEvents(batch) {
      if (batch.length === 0) return [];
      const now = Date.now();
      // Everything is serialized before the transaction: a value that cannot be stored fails
      // the call without touching the database.
      const firstOf = new Map<string, number>();
      const ev = { site: [] as string[], id: [] as string[], name: [] as string[], time: [] as number[], source: [] as string[] };
      const payloads: string[] = [];
      const scrubbed: boolean[] = [];
      const orderIds: (string | null)[] = [];
      const keys: string[] = [];
      batch.forEach((item, i) => {
        const e = pgValue(item.event) as CanonicalEvent;
        const key = `${e.site_id}\u0000${e.event_id}`;
        keys.push(key);
        if (firstOf.has(key)) return;
        firstOf.set(key, i);
        payloads.push(JSON.stringify(e));
        ev.site.push(e.site_id);
        ev.id.push(e.event_id);
        ev.name.push(e.event_name);
        ev.time.push(e.event_time);
        ev.source.push(e.source);
        scrubbed.push(e.ip === undefined && e.user_agent === undefined);
        orderIds.push(e.custom.order_id ?? null);
      });

      const inserted = await tx(async (c) => {
        const { rows } = await c.query<{ site_id: string; event_id: string }>(
          `INSERT INTO ${S}.events (site_id, event_id, event_name, event_time, source, received_at, payload, scrubbed, order_id)
           SELECT u.site_id, u.event_id, u.event_name, u.event_time, u.source, $9::bigint, u.payload::jsonb, u.scrubbed, u.order_id
             FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::text[], $6::text[], $7::boolean[], $8::text[])
                  WITH ORDINALITY AS u(site_id, event_id, event_name, event_time, source, payload, scrubbed, order_id, ord)
            ORDER BY u.ord
           ON CONFLICT (site_id, event_id) DO NOTHING
           RETURNING site_id, event_id`,
          [ev.site, ev.id, ev.name, ev.time, ev.source, payloads, scrubbed, orderIds, now],
        );
        const done = new Set(rows.map((r) => `${r.site_id}\u0000${r.event_id}`));
        const d = { site: [] as string[], id: [] as string[], dest: [] as string[], status: [] as string[], error: [] as (string | null)[], next: [] as (number | null)[] };
        for (const [key, i] of firstOf) {
          if (!done.has(key)) continue;
          const item = batch[i]!;
          const site = pgText(item.event.site_id);
          const id = pgText(item.event.event_id);
          for (const destination of item.destinations) {
            d.site.push(site), d.id.push(id), d.dest.push(pgText(destination));
            d.status.push('pending'), d.error.push(null), d.next.push(now);
          }
          for (const s of item.skipped ?? []) {
            d.site.push(site), d.id.push(id), d.dest.push(pgText(s.destination));
            d.status.push('skipped'), d.error.push(pgText(s.reason)), d.next.push(null);
          }
        }
        if (d.site.length > 0) {
          await c.query(
            `INSERT INTO ${S}.deliveries (site_id, event_id, destination, status, last_error, next_attempt_at, created_at, updated_at)
             SELECT u.site_id, u.event_id, u.destination, u.status, u.last_error, u.next_attempt_at, $7::bigint, $7::bigint
               FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[])
                    WITH ORDINALITY AS u(site_id, event_id, destination, status, last_error, next_attempt_at, ord)
              ORDER BY u.ord
             ON CONFLICT (site_id, event_id, destination) DO NOTHING`,
            [d.site, d.id, d.dest, d.status, d.error, d.next, now],
          );
        }
        for (const item of batch) {
          if (item.visitor) {
            await upsertSignals((sql, params) => c.query(sql, params), item.event.site_id, item.visitor.visitor_id, item.visitor.signals, now);
          }
        }
        return done;
      });

      return batch.map((item, i): InsertResult => {
        const key = keys[i]!;
        return {
          site_id: item.event.site_id,
          event_id: item.event.event_id,
          inserted: firstOf.get(key) === i && inserted.has(key),
        };
      });
    },

    async leaseDueDeliveries(o) {
      const limit = Math.floor(o.limit);
      if (!(limit > 0)) return [];
      const { rows } = await q<{
        id: number;
        destination: string;
        attempts: number;
        requeued_at: number | null;
        next_attempt_at: number;
        payload: CanonicalEvent;
        received_at: number;
      }>(
        `WITH due AS (
           SELECT id FROM ${S}.deliveries
            WHERE site_id = $1 AND destination = $2 AND status = 'pending'
              AND next_attempt_at <= $3::bigint
              AND (lease_until IS NULL OR lease_until <= $3::bigint)
            ORDER BY next_attempt_at, id
            LIMIT $4
            FOR UPDATE SKIP LOCKED
         ), leased AS (
           UPDATE ${S}.deliveries d SET lease_until = $5::bigint, updated_at = $3::bigint
             FROM due WHERE d.id = due.id
           RETURNING d.id, d.site_id, d.event_id, d.destination, d.attempts, d.requeued_at, d.next_attempt_at
         )
         SELECT l.id, l.destination, l.attempts, l.requeued_at, l.next_attempt_at, e.payload, e.received_at
           FROM leased l
           JOIN ${S}.events e ON e.site_id = l.site_id AND e.event_id = l.event_id
          ORDER BY l.next_attempt_at, l.id`,
        [pgText(o.site_id), pgText(o.destination), o.now, limit, o.now + o.leaseMs],
      );
      return rows.map(
        (r): LeasedDelivery => ({
          delivery_id: r.id,
          destination: r.destination,
          attempts: r.attempts,
          event: r.payload,
          received_at: r.received_at,
          retry_window_start: Math.max(r.received_at, r.requeued_at ?? 0),
        }),
      );
    },

    async markDelivered(ids, info, now) {
      await mark('delivered', ids, info, now);
    },

    async markRetry(ids, retryAt, info, now) {
      await mark('retry', ids, info, now, retryAt);
    },

    async markDead(ids, info, now) {
      await mark('dead', ids, info, now);
    },

    async markSkipped(ids, reason, now) {
      if (ids.length === 0) return;
      await q(
        `UPDATE ${S}.deliveries SET status = 'skipped', last_error = $2, lease_until = NULL, updated_at = $3::bigint
          WHERE id = ANY($1::bigint[]) AND status = 'pending'`,
        [ids, pgText(reason), now],
      );
    },

    async getEvent(site_id, event_id) {
      const key = { site_id: pgText(site_id), event_id: pgText(event_id) };
      const { rows } = await q<{ payload: CanonicalEvent; received_at: number }>(
        `SELECT payload, received_at FROM ${S}.events WHERE site_id = $1 AND event_id = $2`,
        [key.site_id, key.event_id],
      );
      const row = rows[0];
      if (!row) return null;
      const ds = await deliveriesOf([key]);
      return { event: row.payload, received_at: row.received_at, deliveries: ds.get(`${key.site_id}\u0000${key.event_id}`) ?? [] };
    },

    async nextDueAt() {
      const { rows } = await q<{ t: number | null }>(
        `SELECT LEAST(
           (SELECT MIN(next_attempt_at) FROM ${S}.deliveries WHERE status = 'pending' AND lease_until IS NULL),
           (SELECT MIN(lease_until) FROM ${S}.deliveries WHERE status = 'pending' AND lease_until IS NOT NULL)
         ) AS t`,
      );
      return rows[0]?.t ?? null;
    },

    async scrubFinishedEvents() {
      const r = await q(
        `UPDATE ${S}.events e
            SET payload = e.payload - 'ip' - 'user_agent', scrubbed = true, scrubbed_at = $1::bigint
          WHERE NOT e.scrubbed
            AND NOT EXISTS (SELECT 1 FROM ${S}.deliveries d
                             WHERE d.site_id = e.site_id AND d.event_id = e.event_id AND d.status = 'pending')`,
        [Date.now()],
      );
      return r.rowCount ?? 0;
    },

    async ping() {
      await q('SELECT 1');
    },

    async close() {
      if (closed) return;
      closed = true;
      await pool.end();
    },

    async listAttempts(site_id, event_id) {
      const { rows } = await q<AttemptRecord>(
        `SELECT a.delivery_id, a.destination, a.at, a.outcome, a.http_status, a.error, a.response, a.duration_ms
           FROM ${S}.deliveries d
           JOIN ${S}.attempts a ON a.delivery_id = d.id
          WHERE d.site_id = $1 AND d.event_id = $2
          ORDER BY a.at, a.id`,
        [pgText(site_id), pgText(event_id)],
      );
      return rows;
    },

    async listEvents(query) {
      const limit = listLimit(query.limit);
      if (limit === 0) return [];
      const p = new Params();
      const where: string[] = [];
      if (query.site_id !== undefined) where.push(`site_id = ${p.add(pgText(query.site_id))}`);
      if (query.search !== undefined) {
        const s = p.add(pgText(query.search), '::text');
        where.push(`(event_id = ${s} OR order_id = ${s})`);
      }
      if (query.before) {
        const b = query.before;
        const t = p.add(b.received_at, '::bigint');
        const id = p.add(pgText(b.event_id), '::text');
        where.push(
          b.site_id !== undefined
            ? `(received_at, event_id, site_id) < (${t}, ${id}, ${p.add(pgText(b.site_id), '::text')})`
            : `(received_at, event_id) < (${t}, ${id})`,
        );
      }
      const { rows } = await q<Omit<EventListItem, 'deliveries'>>(
        `SELECT site_id, event_id, event_name, source, event_time, received_at, order_id FROM ${S}.events
          ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
          ORDER BY received_at DESC, event_id DESC, site_id DESC
          LIMIT ${p.add(limit, '::int')}`,
        p.values,
      );
      const ds = await deliveriesOf(rows);
      return rows.map((r) => ({ ...r, deliveries: ds.get(`${r.site_id}\u0000${r.event_id}`) ?? [] }));
    },

    async listDeliveries(query) {
      const limit = listLimit(query.limit);
      if (limit === 0) return [];
      const p = new Params();
      let sql = `SELECT d.id, d.site_id, d.event_id, e.event_name, e.received_at, d.destination, d.status, d.attempts,
                        d.next_attempt_at, d.last_status, d.last_error, d.delivered_at, d.updated_at
                   FROM ${S}.deliveries d
                   JOIN ${S}.events e ON e.site_id = d.site_id AND e.event_id = d.event_id
                  WHERE d.status = ${p.add(query.status)}`;
      if (query.site_id !== undefined) sql += ` AND d.site_id = ${p.add(pgText(query.site_id))}`;
      if (query.destination !== undefined) sql += ` AND d.destination = ${p.add(pgText(query.destination))}`;
      if (query.errorContains !== undefined && query.errorContains !== '') {
        sql += ` AND strpos(lower(d.last_error), lower(${p.add(pgText(query.errorContains), '::text')})) > 0`;
      }
      sql += ` ORDER BY d.updated_at DESC, d.id DESC LIMIT ${p.add(limit, '::int')} OFFSET ${p.add(listOffset(query.offset), '::int')}`;
      const { rows } = await q<DeliveryListRow>(sql, p.values);
      return rows.map(toDeliveryListItem);
    },

    async requeueDeliveries(query, now) {
      if (query.status !== 'dead') return 0;
      if (query.deliveryIds && query.deliveryIds.length === 0) return 0;
      const p = new Params();
      const t = p.add(now, '::bigint');
      let sql = `UPDATE ${S}.deliveries
                    SET status = 'pending', next_attempt_at = ${t}, lease_until = NULL, requeued_at = ${t}, updated_at = ${t}
                  WHERE status = 'dead'`;
      if (query.site_id !== undefined) sql += ` AND site_id = ${p.add(pgText(query.site_id))}`;
      if (query.destination !== undefined) sql += ` AND destination = ${p.add(pgText(query.destination))}`;
      if (query.deliveryIds) sql += ` AND id = ANY(${p.add(query.deliveryIds, '::bigint[]')})`;
      const r = await q(sql, p.values);
      return r.rowCount ?? 0;
    },

    async destinationSummary(query) {
      const values: unknown[] = [query.since];
      let site = '';
      if (query.site_id !== undefined) {
        values.push(pgText(query.site_id));
        site = ' AND d.site_id = $2';
      }
      const [counts, latency, errors] = await Promise.all([
        q<DestinationCountsRow>(
          `SELECT d.site_id, d.destination,
                  COUNT(*) FILTER (WHERE d.status = 'delivered') AS delivered,
                  COUNT(*) FILTER (WHERE d.status = 'pending' AND d.attempts > 0) AS retrying,
                  COUNT(*) FILTER (WHERE d.status = 'pending' AND d.attempts = 0) AS pending,
                  COUNT(*) FILTER (WHERE d.status = 'dead') AS dead,
                  COUNT(*) FILTER (WHERE d.status = 'skipped') AS skipped
             FROM ${S}.deliveries d
            WHERE d.updated_at >= $1::bigint${site}
            GROUP BY d.site_id, d.destination
            ORDER BY d.site_id, d.destination`,
          values,
        ),
        q<DestinationLatencyRow>(
          `WITH lat AS (
             SELECT d.site_id, d.destination, d.delivered_at - e.received_at AS ms
               FROM ${S}.deliveries d
               JOIN ${S}.events e ON e.site_id = d.site_id AND e.event_id = d.event_id
              WHERE d.status = 'delivered' AND d.delivered_at >= $1::bigint${site}
           ), ranked AS (
             SELECT site_id, destination, ms,
                    ROW_NUMBER() OVER (PARTITION BY site_id, destination ORDER BY ms) AS rn,
                    COUNT(*) OVER (PARTITION BY site_id, destination) AS n
               FROM lat
           )
           SELECT site_id, destination, AVG(ms) AS avg_ms,
                  MAX(CASE WHEN rn = ${P95_RANK_SQL} THEN ms END) AS p95_ms
             FROM ranked GROUP BY site_id, destination`,
          values,
        ),
        q<DestinationErrorRow>(
          `SELECT DISTINCT ON (a.site_id, a.destination) a.site_id, a.destination, a.error, a.at
             FROM ${S}.attempts a
            WHERE a.outcome <> 'delivered' AND a.error IS NOT NULL AND a.at >= $1::bigint${site.replace('d.', 'a.')}
            ORDER BY a.site_id, a.destination, a.at DESC, a.id DESC`,
          values,
        ),
      ]);
      return joinDestinationSummary(counts.rows, latency.rows, errors.rows);
    },

    async deliveryTimeline(query) {
      const b = bucketWidth(query.bucketMs);
      const values: unknown[] = [b, query.since];
      let site = '';
      if (query.site_id !== undefined) {
        values.push(pgText(query.site_id));
        site = ' AND site_id = $3';
      }
      const { rows } = await q<DeliveryTimelinePoint>(
        `SELECT bucket_start, destination, status, COUNT(*) AS count FROM (
           SELECT delivered_at - (delivered_at % $1::bigint) AS bucket_start, destination, 'delivered' AS status
             FROM ${S}.deliveries WHERE status = 'delivered' AND delivered_at >= $2::bigint${site}
           UNION ALL
           SELECT updated_at - (updated_at % $1::bigint) AS bucket_start, destination, 'dead' AS status
             FROM ${S}.deliveries WHERE status = 'dead' AND updated_at >= $2::bigint${site}
         ) t GROUP BY bucket_start, destination, status
           ORDER BY bucket_start, destination, status`,
        values,
      );
      return rows;
    },

    async eventTimeline(query) {
      const b = bucketWidth(query.bucketMs);
      const values: unknown[] = [b, query.since];
      let site = '';
      if (query.site_id !== undefined) {
        values.push(pgText(query.site_id));
        site = ' AND site_id = $3';
      }
      const { rows } = await q<EventTimelinePoint>(
        `SELECT received_at - (received_at % $1::bigint) AS bucket_start, COUNT(*) AS count
           FROM ${S}.events WHERE received_at >= $2::bigint${site}
          GROUP BY 1 ORDER BY 1`,
        values,
      );
      return rows;
    },

    async queueDepth() {
      const { rows } = await q<QueueDepth>(
        `SELECT site_id, destination, COUNT(*) AS pending FROM ${S}.deliveries
          WHERE status = 'pending' GROUP BY site_id, destination ORDER BY site_id, destination`,
      );
      return rows;
    },

    async countPending() {
      const { rows } = await q<{ n: number }>(`SELECT COUNT(*) AS n FROM ${S}.deliveries WHERE status = 'pending'`);
      return rows[0]?.n ?? 0;
    },

    async createApiToken(r) {
      await q(
        `INSERT INTO ${S}.api_tokens (${TOKEN_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
        [
          pgText(r.id),
          pgText(r.site_id),
          r.env,
          pgTextOrNull(r.name),
          r.scope,
          pgText(r.token_hash.toLowerCase()),
          pgText(r.prefix),
          r.created_at,
          r.revoked_at,
          r.last_used_at,
        ],
      );
    },

    async findApiTokenByHash(hash) {
      const { rows } = await q<ApiTokenRecord>(`SELECT ${TOKEN_COLUMNS} FROM ${S}.api_tokens WHERE token_hash = $1`, [
        pgText(hash.toLowerCase()),
      ]);
      return rows[0] ?? null;
    },

    async listApiTokens(site_id) {
      const { rows } =
        site_id === undefined
          ? await q<ApiTokenRecord>(`SELECT ${TOKEN_COLUMNS} FROM ${S}.api_tokens ORDER BY created_at, id`)
          : await q<ApiTokenRecord>(`SELECT ${TOKEN_COLUMNS} FROM ${S}.api_tokens WHERE site_id = $1 ORDER BY created_at, id`, [
              pgText(site_id),
            ]);
      return rows;
    },

    async revokeApiToken(id, now) {
      const r = await q(`UPDATE ${S}.api_tokens SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL`, [pgText(id), now]);
      return r.rowCount === 1;
    },

    async touchApiToken(id, now) {
      await q(
        `UPDATE ${S}.api_tokens SET last_used_at = $2::bigint
          WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < $2::bigint)`,
        [pgText(id), now],
      );
    },

    async upsertVisitorSignals(site_id, visitor_id, signals, now) {
      await upsertSignals((sql, params) => q(sql, params), site_id, visitor_id, signals, now);
    },

    async getVisitorSignals(site_id, visitor_id) {
      const { rows } = await q<{ ids: Identifiers; ip: string | null; user_agent: string | null; url: string | null; updated_at: number }>(
        `SELECT ids, ip, user_agent, url, updated_at FROM ${S}.visitor_signals WHERE site_id = $1 AND visitor_id = $2`,
        [pgText(site_id), pgText(visitor_id)],
      );
      const r = rows[0];
      if (!r) return null;
      const out: VisitorSignals = { ids: r.ids, updated_at: r.updated_at };
      if (r.ip !== null) out.ip = r.ip;
      if (r.user_agent !== null) out.user_agent = r.user_agent;
      if (r.url !== null) out.url = r.url;
      return out;
    },

    async purgeVisitorSignals(olderThan) {
      const r = await q(`DELETE FROM ${S}.visitor_signals WHERE updated_at < $1::bigint`, [olderThan]);
      return r.rowCount ?? 0;
    },

    async mergeEventIdentity(site_id, event_id, patch) {
      const key = [pgText(site_id), pgText(event_id)];
      return tx(async (c) => {
        // Row lock: concurrent merges of one event apply one after the other.
        const { rows } = await c.query<{ payload: CanonicalEvent; scrubbed_at: number | null; pending: boolean }>(
          `SELECT e.payload, e.scrubbed_at,
                  EXISTS (SELECT 1 FROM ${S}.deliveries d
                           WHERE d.site_id = e.site_id AND d.event_id = e.event_id AND d.status = 'pending') AS pending
             FROM ${S}.events e WHERE e.site_id = $1 AND e.event_id = $2
              FOR UPDATE OF e`,
          key,
        );
        const row = rows[0];
        if (!row) return false;
        const r = applyIdentityPatch(row.payload, pgValue(patch) as typeof patch, row.pending && row.scrubbed_at === null);
        if (!r.changed) return false;
        await c.query(
          `UPDATE ${S}.events SET payload = $3::jsonb, scrubbed = CASE WHEN $4::boolean THEN false ELSE scrubbed END
            WHERE site_id = $1 AND event_id = $2`,
          [...key, JSON.stringify(r.event), r.networkAdded],
        );
        return true;
      });
    },

    async insertNotifications(items, now) {
      if (items.length === 0) return 0;
      const seen = new Set<string>();
      const cols = { site: [] as string[], kind: [] as string[], url: [] as string[], body: [] as string[], idem: [] as string[] };
      for (const i of items) {
        const site = pgText(i.site_id);
        const idem = pgText(i.idempotency_id);
        const key = `${site}\u0000${idem}`;
        if (seen.has(key)) continue;
        seen.add(key);
        cols.site.push(site), cols.kind.push(pgText(i.kind)), cols.url.push(pgText(i.url));
        cols.body.push(pgText(i.body)), cols.idem.push(idem);
      }
      const r = await q(
        `INSERT INTO ${S}.notifications (site_id, kind, url, body, idempotency_id, status, next_attempt_at, created_at, updated_at)
         SELECT u.site_id, u.kind, u.url, u.body, u.idem, 'pending', $6::bigint, $6::bigint, $6::bigint
           FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[])
                WITH ORDINALITY AS u(site_id, kind, url, body, idem, ord)
          ORDER BY u.ord
         ON CONFLICT (site_id, idempotency_id) DO NOTHING`,
        [cols.site, cols.kind, cols.url, cols.body, cols.idem, now],
      );
      return r.rowCount ?? 0;
    },

    async leaseDueNotifications(o) {
      const limit = listLimit(o.limit);
      if (limit === 0) return [];
      const { rows } = await q<NotificationRecord & { next_attempt_at: number }>(
        `WITH due AS (
           SELECT id FROM ${S}.notifications
            WHERE status = 'pending' AND next_attempt_at <= $1::bigint
              AND (lease_until IS NULL OR lease_until <= $1::bigint)
            ORDER BY next_attempt_at, id
            LIMIT $2
            FOR UPDATE SKIP LOCKED
         )
         UPDATE ${S}.notifications n SET lease_until = $3::bigint, updated_at = $1::bigint
           FROM due WHERE n.id = due.id
         RETURNING ${NOTIFICATION_COLUMNS.split(',').map((c) => `n.${c.trim()}`).join(', ')}`,
        [o.now, limit, o.now + o.leaseMs],
      );
      return rows.sort((a, b) => a.next_attempt_at - b.next_attempt_at || a.id - b.id);
    },

    async markNotification(id, m, now) {
      const error = pgTextOrNull(m.error);
      if (m.status === 'delivered') {
        await q(
          `UPDATE ${S}.notifications
              SET status = 'delivered', attempts = attempts + 1, last_status = $2, last_error = $3,
                  delivered_at = $4::bigint, lease_until = NULL, updated_at = $4::bigint
            WHERE id = $1 AND status = 'pending'`,
          [id, m.httpStatus, error, now],
        );
      } else if (m.status === 'dead') {
        await q(
          `UPDATE ${S}.notifications
              SET status = 'dead', attempts = attempts + 1, last_status = $2, last_error = $3,
                  lease_until = NULL, updated_at = $4::bigint
            WHERE id = $1 AND status = 'pending'`,
          [id, m.httpStatus, error, now],
        );
      } else {
        await q(
          `UPDATE ${S}.notifications
              SET attempts = attempts + 1, next_attempt_at = $5::bigint, last_status = $2, last_error = $3,
                  lease_until = NULL, updated_at = $4::bigint
            WHERE id = $1 AND status = 'pending'`,
          [id, m.httpStatus, error, now, m.retryAt ?? now],
        );
      }
    },

    async listNotifications(query) {
      const limit = listLimit(query.limit);
      if (limit === 0) return [];
      const p = new Params();
      let sql = `SELECT ${NOTIFICATION_COLUMNS} FROM ${S}.notifications WHERE true`;
      if (query.status !== undefined) sql += ` AND status = ${p.add(query.status)}`;
      if (query.site_id !== undefined) sql += ` AND site_id = ${p.add(pgText(query.site_id))}`;
      sql += ` ORDER BY created_at DESC, id DESC LIMIT ${p.add(limit, '::int')}`;
      const { rows } = await q<NotificationRecord>(sql, p.values);
      return rows;
    },

    async requeueNotifications(ids, now) {
      if (ids.length === 0) return 0;
      const r = await q(
        `UPDATE ${S}.notifications
            SET status = 'pending', attempts = 0, next_attempt_at = $2::bigint, lease_until = NULL, updated_at = $2::bigint
          WHERE status = 'dead' AND id = ANY($1::bigint[])`,
        [ids, now],
      );
      return r.rowCount ?? 0;
    },
  };
}
