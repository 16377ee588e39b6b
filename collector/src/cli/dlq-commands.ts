// `trakvo dlq list|replay`: the dead-letter queue from the command line. Replay puts dead
// deliveries back in the outbox, due now, with a fresh retry window; the running collector
// sends them (or this process, with --dispatch), and --wait follows them to the end.
import type { Command } from 'commander';
import type { CollectorConfig } from '../config/schema.js';
import { createDispatcher } from '../dispatch/dispatcher.js';
import { createHttpSender } from '../dispatch/http-sender.js';
import { createLogger } from '../log.js';
import type { DeliveryStatus, Store } from '../store/types.js';
import { UsageError, ioOf, isoTime, oneLine, table, wholeNumber, withContext, type CliDeps, type Io } from './cli-context.js';

const PAGE = 1000;
/** Deliveries requeued per store call; one progress line each. */
const REPLAY_CHUNK = 500;

interface Filter {
  site?: string;
  destination?: string;
}

interface DeadRef {
  id: number;
  site: string;
  destination: string;
}

/** Every dead delivery matching the filter (a snapshot; replay then requeues by id). */
async function deadDeliveries(store: Store, f: Filter & { errorContains?: string }): Promise<DeadRef[]> {
  const found = new Map<number, DeadRef>();
  for (let offset = 0; ; offset += PAGE) {
    const page = await store.listDeliveries({ status: 'dead', site_id: f.site, destination: f.destination, errorContains: f.errorContains, limit: PAGE, offset });
    for (const d of page) found.set(d.delivery_id, { id: d.delivery_id, site: d.site_id, destination: d.destination });
    if (page.length < PAGE) return [...found.values()];
  }
}

/** How many of `ids` are in `status` (pages through that status, filtered like the replay). */
async function countIn(store: Store, status: DeliveryStatus, ids: Set<number>, f: Filter): Promise<number> {
  let n = 0;
  for (let offset = 0; ; offset += PAGE) {
    const page = await store.listDeliveries({ status, site_id: f.site, destination: f.destination, limit: PAGE, offset });
    for (const d of page) if (ids.has(d.delivery_id)) n += 1;
    if (page.length < PAGE) return n;
  }
}

interface Progress {
  delivered: number;
  dead: number;
  /** The mapping would not send them (by now too old for the platform, no consent). */
  skipped: number;
  pending: number;
}

async function progressOf(store: Store, ids: Set<number>, f: Filter): Promise<Progress> {
  const pending = await countIn(store, 'pending', ids, f);
  const dead = await countIn(store, 'dead', ids, f);
  const skipped = await countIn(store, 'skipped', ids, f);
  return { pending, dead, skipped, delivered: ids.size - pending - dead - skipped };
}

/** A dispatcher for only the destinations that have replayed deliveries. */
function dispatcherFor(config: CollectorConfig, store: Store, replayed: DeadRef[]) {
  const wanted = new Set(replayed.map((r) => `${r.site}\u0000${r.destination}`));
  const sites = config.sites.map((s) => ({ ...s, destinations: s.destinations.filter((d) => wanted.has(`${s.id}\u0000${d.id}`)) }));
  const sender = createHttpSender({ timeoutMs: config.dispatch.timeoutMs });
  const dispatcher = createDispatcher({
    store,
    sites,
    send: sender.send,
    logger: createLogger('silent'),
    pollMs: 250,
    leaseMs: config.dispatch.leaseMs,
    maxRetryMs: config.dispatch.maxRetryHours * 3_600_000,
  });
  return {
    dispatcher,
    async close() {
      await dispatcher.stop();
      await sender.close();
    },
  };
}

interface ReplayOptions extends Filter {
  config?: string;
  error?: string;
  all?: boolean;
  wait?: boolean;
  dispatch?: boolean;
  timeout: number;
  interval: number;
}

async function replay(store: Store, config: CollectorConfig, idArgs: string[], o: ReplayOptions, io: Io): Promise<void> {
  if (o.all && idArgs.length) throw new UsageError('give delivery ids or --all, not both');
  if (!o.all && !idArgs.length) throw new UsageError('name the delivery ids to replay (see `trakvo dlq list`), or pass --all');
  const bad = idArgs.filter((a) => !/^\d+$/.test(a));
  if (bad.length) throw new UsageError(`not a delivery id: ${bad.join(', ')}`);
  const f: Filter = { site: o.site, destination: o.destination };

  // Which deliveries are dead (and match the filter) right now: those are the ones replayed.
  const dead = await deadDeliveries(store, { ...f, errorContains: o.error });
  let candidates = dead;
  if (!o.all) {
    const byId = new Map(dead.map((d) => [d.id, d]));
    const asked = [...new Set(idArgs.map(Number))];
    candidates = asked.flatMap((id) => byId.get(id) ?? []);
    const others = asked.filter((id) => !byId.has(id));
    if (others.length) io.out(`not dead${f.site || f.destination || o.error ? ' or not matching the filter' : ''}, left alone: ${others.join(', ')}`);
  }
  if (!candidates.length) {
    io.out('nothing to replay: no dead deliveries match');
    return;
  }
  const total = candidates.length;
  let count = 0;
  for (let i = 0; i < total; i += REPLAY_CHUNK) {
    const chunk = candidates.slice(i, i + REPLAY_CHUNK).map((d) => d.id);
    count += await store.requeueDeliveries({ status: 'dead', deliveryIds: chunk, site_id: f.site, destination: f.destination }, Date.now());
    const done = Math.min(i + REPLAY_CHUNK, total);
    if (total > REPLAY_CHUNK) io.out(`requeued ${done}/${total} (${Math.round((done / total) * 100)}%)`);
  }
  if (!count) {
    io.out('nothing requeued');
    return;
  }
  io.out(`requeued ${count} dead deliver${count === 1 ? 'y' : 'ies'}; they are due now`);
  if (!o.wait && !o.dispatch) {
    io.out('the running collector sends them; follow with `trakvo dlq list` or pass --wait');
    return;
  }

  const ids = new Set(candidates.map((d) => d.id));
  const local = o.dispatch ? dispatcherFor(config, store, candidates) : undefined;
  local?.dispatcher.start();
  const deadline = Date.now() + o.timeout * 1000;
  let last = '';
  try {
    for (;;) {
      const p = await progressOf(store, ids, f);
      const line = `delivered ${p.delivered}/${ids.size}, dead again ${p.dead}${p.skipped ? `, skipped ${p.skipped}` : ''}, pending ${p.pending}`;
      if (line !== last) io.out(line);
      last = line;
      if (p.pending === 0) break;
      if (Date.now() >= deadline) {
        io.out(`stopped waiting after ${o.timeout} s: ${p.pending} still pending (retrying); they stay queued for the collector`);
        break;
      }
      await new Promise((r) => setTimeout(r, o.interval));
    }
  } finally {
    await local?.close();
  }
  const end = await progressOf(store, ids, f);
  if (end.dead > 0) {
    io.out(`${end.dead} died again: see \`trakvo dlq list\` for the platform's answer`);
    process.exitCode = 1;
  }
  if (end.skipped > 0) io.out(`${end.skipped} skipped: the platform would not take them any more (see \`trakvo events get\`)`);
}

export function registerDlqCommands(program: Command, deps: CliDeps): void {
  const io = ioOf(deps);
  const dlq = program
    .command('dlq')
    .description('dead-lettered deliveries: list them, replay them after fixing the config');

  dlq
    .command('list')
    .description('list dead deliveries, most recently dead first')
    .option('-c, --config <file>', 'config file (default: $TRAKVO_CONFIG)')
    .option('--site <id>', 'only this site')
    .option('--destination <id>', 'only this configured destination (e.g. meta0)')
    .option('--error <text>', 'only those whose last error contains this text (case-insensitive)')
    .option('--limit <n>', 'at most this many (max 1000)', wholeNumber(1), 50)
    .option('--offset <n>', 'skip this many first', wholeNumber(0), 0)
    .option('--json', 'print JSON (one array)')
    .addHelpText('after', '\nExamples:\n  trakvo dlq list --destination meta0 --error "error 190"\n  trakvo dlq list --site shop --limit 200 --json')
    .action(async (o: { config?: string; site?: string; destination?: string; error?: string; limit: number; offset: number; json?: boolean }) => {
      await withContext(deps, o.config, io, async ({ store }) => {
        const rows = await store.listDeliveries({
          status: 'dead',
          site_id: o.site,
          destination: o.destination,
          errorContains: o.error,
          limit: Math.min(o.limit, 1000),
          offset: o.offset,
        });
        if (o.json) {
          io.out(JSON.stringify(rows, null, 2));
          return;
        }
        if (!rows.length) {
          io.out('no dead deliveries match');
          return;
        }
        for (const line of table(
          ['DELIVERY', 'SITE', 'DESTINATION', 'EVENT', 'NAME', 'ATTEMPTS', 'DIED', 'HTTP', 'LAST ERROR'],
          rows.map((d) => [
            String(d.delivery_id), d.site_id, d.destination, d.event_id, d.event_name, String(d.attempts),
            isoTime(d.updated_at), d.last_status === null ? '-' : String(d.last_status), oneLine(d.last_error, 100),
          ]),
        )) io.out(line);
        const more = rows.length === Math.min(o.limit, 1000) ? ` (more may follow: --offset ${o.offset + rows.length})` : '';
        io.out(`${rows.length} dead deliver${rows.length === 1 ? 'y' : 'ies'}${more}`);
      });
    });

  dlq
    .command('replay')
    .description('put dead deliveries back in the queue (after fixing what killed them)')
    .argument('[deliveryIds...]', 'delivery ids from `trakvo dlq list`')
    .option('-c, --config <file>', 'config file (default: $TRAKVO_CONFIG)')
    .option('--all', 'every dead delivery (narrowed by --site / --destination)')
    .option('--site <id>', 'only this site')
    .option('--destination <id>', 'only this configured destination')
    .option('--error <text>', 'only those whose last error contains this text (case-insensitive)')
    .option('--wait', 'follow the replayed deliveries until none is pending (or --timeout)')
    .option('--dispatch', 'send them from this process now, instead of leaving it to the running collector (implies --wait)')
    .option('--timeout <seconds>', 'how long --wait follows them', wholeNumber(1), 120)
    .option('--interval <ms>', 'how often --wait prints progress', wholeNumber(10), 1000)
    .addHelpText(
      'after',
      '\nA replayed delivery is due at once and gets a fresh retry window; it keeps its\nattempt count. Progress is printed per 500 requeued and, with --wait, as they finish.\n\nExamples:\n  trakvo dlq replay 812 813\n  trakvo dlq replay --all --destination meta0 --error "error 190" --wait\n  trakvo dlq replay --all --dispatch      # no collector running',
    )
    .action(async (idArgs: string[], o: ReplayOptions) => {
      await withContext(deps, o.config, io, ({ store, config }) => replay(store, config, idArgs, o, io));
    });
}
