// `trakvo events get <event_id>`: one event, where it went, and every attempt with the
// platform's answer. Identifiers are listed by name only: no hash, IP or user agent is
// printed (they are personal data, kept only until delivery ends).
import type { Command } from 'commander';
import type { CollectorConfig } from '../config/schema.js';
import type { CanonicalEvent } from '../event/schema.js';
import { matchQuality, matchQualityFor, type MatchQuality } from '../quality/match-quality.js';
import type { AttemptRecord, StoredEvent, Store } from '../store/types.js';
import { ioOf, isoTime, oneLine, table, withContext, UsageError, type CliDeps, type Io } from './cli-context.js';

interface Found {
  stored: StoredEvent;
  attempts: AttemptRecord[];
}

/** The event without personal data: identifiers by name, everything else as stored. */
function describeEvent(e: CanonicalEvent) {
  return {
    site_id: e.site_id,
    event_id: e.event_id,
    event_name: e.event_name,
    event_time: e.event_time,
    source: e.source,
    url: e.url,
    custom: e.custom,
    consent: e.consent,
    identifiers: matchQuality(e).signals,
  };
}

function destinationTypes(config: CollectorConfig, site_id: string): Map<string, string> {
  const site = config.sites.find((s) => s.id === site_id);
  return new Map((site?.destinations ?? []).map((d) => [d.id, d.type]));
}

function qualityByDestination(f: Found, config: CollectorConfig): Record<string, MatchQuality> {
  const types = destinationTypes(config, f.stored.event.site_id);
  const out: Record<string, MatchQuality> = {};
  for (const d of f.stored.deliveries) {
    const type = types.get(d.destination);
    out[d.destination] = type ? matchQualityFor(f.stored.event, type) : matchQuality(f.stored.event);
  }
  return out;
}

function printEvent(f: Found, config: CollectorConfig, io: Io): void {
  const { event: e, received_at, deliveries } = f.stored;
  const overall = matchQuality(e);
  const perDest = qualityByDestination(f, config);
  io.out(`event ${e.event_id} (site ${e.site_id})`);
  io.out(`  name           ${e.event_name}`);
  io.out(`  source         ${e.source}`);
  io.out(`  happened       ${isoTime(e.event_time * 1000)}   received ${isoTime(received_at)}`);
  if (e.url) io.out(`  page           ${e.url}`);
  const money = e.custom.value !== undefined ? `${e.custom.value} ${e.custom.currency ?? ''}`.trim() : undefined;
  if (e.custom.order_id || money) io.out(`  order          ${[e.custom.order_id, money].filter(Boolean).join('  ')}`);
  io.out(`  consent        marketing ${e.consent.marketing ? 'yes' : 'no'}, analytics ${e.consent.analytics ? 'yes' : 'no'}`);
  io.out(`  identifiers    ${overall.signals.join(', ') || 'none'} (values not shown)`);
  const per = Object.entries(perDest).map(([d, q]) => `${d} ${q.score.toFixed(1)}`);
  io.out(`  match quality  ${overall.score.toFixed(1)}/10${per.length ? ` (${per.join(', ')})` : ''}; Trakvo's estimate, not the platform's score`);
  io.out('');
  io.out('deliveries');
  if (!deliveries.length) io.out('  none (no destination enabled for this site when it arrived)');
  else {
    for (const line of table(
      ['DELIVERY', 'DESTINATION', 'STATUS', 'ATTEMPTS', 'HTTP', 'NEXT ATTEMPT', 'DELIVERED', 'LAST ERROR'],
      deliveries.map((d) => [
        String(d.delivery_id), d.destination, d.status, String(d.attempts), d.last_status === null ? '-' : String(d.last_status),
        d.status === 'pending' ? isoTime(d.next_attempt_at) : '-', isoTime(d.delivered_at), oneLine(d.last_error, 100),
      ]),
    )) io.out(`  ${line}`);
  }
  io.out('');
  io.out('attempts');
  if (!f.attempts.length) io.out('  none yet');
  for (const a of f.attempts) {
    const ms = a.duration_ms === null ? '' : ` ${Math.round(a.duration_ms)} ms`;
    io.out(`  ${isoTime(a.at)}  ${a.destination}  ${a.outcome}  HTTP ${a.http_status ?? '-'}${ms}`);
    if (a.error) io.out(`      error:    ${oneLine(a.error, 300)}`);
    if (a.response) io.out(`      response: ${oneLine(a.response, 500)}`);
  }
}

async function find(store: Store, config: CollectorConfig, eventId: string, site?: string): Promise<Found[]> {
  const sites = site ? [site] : config.sites.map((s) => s.id);
  const found: Found[] = [];
  for (const s of sites) {
    const stored = await store.getEvent(s, eventId);
    if (stored) found.push({ stored, attempts: await store.listAttempts(s, eventId) });
  }
  return found;
}

export function registerEventCommands(program: Command, deps: CliDeps): void {
  const io = ioOf(deps);
  const events = program.command('events').description('look up stored events');
  events
    .command('get')
    .description('show one event: its deliveries and every attempt with the platform\'s answer')
    .argument('<event_id>', 'the event id (as the browser or API sent it)')
    .option('-c, --config <file>', 'config file (default: $TRAKVO_CONFIG)')
    .option('--site <id>', 'the site (default: look in every configured site)')
    .option('--json', 'print JSON (an array: one entry per site holding this id)')
    .addHelpText('after', '\nIdentifiers are shown by name only; hashes, IP and user agent are never printed.\n\nExample:\n  trakvo events get purchase-1001 --site shop')
    .action(async (eventId: string, o: { config?: string; site?: string; json?: boolean }) => {
      await withContext(deps, o.config, io, async ({ store, config }) => {
        const found = await find(store, config, eventId, o.site);
        if (!found.length) {
          throw new UsageError(`no event "${eventId}" in ${o.site ? `site ${o.site}` : `sites ${config.sites.map((s) => s.id).join(', ')}`}`);
        }
        if (o.json) {
          const out = found.map((f) => ({
            event: describeEvent(f.stored.event),
            received_at: f.stored.received_at,
            match_quality: { overall: matchQuality(f.stored.event), by_destination: qualityByDestination(f, config) },
            deliveries: f.stored.deliveries,
            attempts: f.attempts,
          }));
          // Always an array: one entry per site holding this event id.
          io.out(JSON.stringify(out, null, 2));
          return;
        }
        found.forEach((f, i) => {
          if (i > 0) io.out('');
          printEvent(f, config, io);
        });
      });
    });
}
