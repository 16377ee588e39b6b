// `trakvo config check [--send-test]`: validates the config (every problem named by its
// key) and, with --send-test, sends one test event to each destination that has a test
// mode (Meta's `testEventCode`: the event shows in Events Manager › Test Events), through
// the real mapping and HTTP, and prints the platform's answer.
import { randomUUID, createHash } from 'node:crypto';
import type { Command } from 'commander';
import { loadConfig } from '../config/load-config.js';
import type { CollectorConfig, DestinationEntry, SiteConfig } from '../config/schema.js';
import { createHttpSender, type Sender } from '../dispatch/http-sender.js';
import { destinationFor } from '../destinations/registry.js';
import type { CanonicalEvent } from '../event/schema.js';
import { failWith, ioOf, oneLine, type CliDeps, type Io } from './cli-context.js';

export interface ConfigCommandDeps extends CliDeps {
  /** HTTP client for --send-test (tests); by default an undici pool. */
  send?: Sender;
}

/** The config key that switches a destination type to the platform's test mode, if it has one. */
const TEST_MODE_KEY = 'testEventCode';

function hasTestMode(type: string): boolean {
  const schema = destinationFor(type).configSchema as unknown as { shape?: Record<string, unknown> };
  return schema.shape !== undefined && TEST_MODE_KEY in schema.shape;
}

function testCode(entry: DestinationEntry): string | undefined {
  const v = (entry.config as Record<string, unknown>)[TEST_MODE_KEY];
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/** A PageView that is obviously a test, with just enough identity for the platform to accept it. */
function testEvent(site: SiteConfig, nowMs: number): CanonicalEvent {
  return {
    event_id: `trakvo-config-check-${randomUUID()}`,
    event_name: 'PageView',
    event_time: Math.floor(nowMs / 1000),
    site_id: site.id,
    source: 'api',
    url: `${site.allowedOrigins[0] ?? 'https://example.com'}/trakvo-config-check`,
    user_agent: 'trakvo-config-check',
    user: { external_id: createHash('sha256').update('trakvo-config-check').digest('hex') },
    ids: {},
    custom: {},
    consent: { marketing: true, analytics: true },
  };
}

function describeConfig(config: CollectorConfig, io: Io): void {
  for (const site of config.sites) {
    const dests = site.destinations.map((d) => `${d.id} (${d.type}${d.enabled ? '' : ', disabled'}${testCode(d) ? ', test mode' : ''})`);
    const notify = (site as SiteConfig & { notify?: unknown[] }).notify;
    io.out(`site ${site.id}: origins ${site.allowedOrigins.join(', ')}; destinations ${dests.join(', ') || 'none'}${notify?.length ? `; ${notify.length} notify target(s)` : ''}`);
  }
}

/** Sends the test events; true when every one that was sent was accepted. */
async function sendTests(config: CollectorConfig, send: Sender, io: Io): Promise<boolean> {
  let ok = true;
  let sent = 0;
  for (const site of config.sites) {
    for (const entry of site.destinations) {
      const label = `${site.id}/${entry.id} (${entry.type})`;
      if (!entry.enabled) {
        io.out(`${label}: disabled, skipped`);
        continue;
      }
      if (!hasTestMode(entry.type)) {
        io.out(`${label}: the platform has no test mode, skipped (nothing is sent to it)`);
        continue;
      }
      const code = testCode(entry);
      if (!code) {
        io.out(`${label}: set ${TEST_MODE_KEY} to send a test event, skipped`);
        continue;
      }
      const destination = destinationFor(entry.type);
      const now = Date.now();
      const event = testEvent(site, now);
      const { requests, skipped } = destination.map([event], entry.config, new Date(now));
      for (const s of skipped) {
        ok = false;
        io.out(`${label}: the mapping refused the test event: ${s.reason}`);
      }
      for (const req of requests) {
        sent += 1;
        const started = performance.now();
        try {
          const res = await send(req);
          const outcome = destination.classify(res);
          const ms = Math.round(performance.now() - started);
          const verdict = outcome.kind === 'delivered' ? 'accepted' : `${outcome.kind}: ${outcome.reason}`;
          if (outcome.kind !== 'delivered') ok = false;
          io.out(`${label}: test event ${event.event_id} (${TEST_MODE_KEY} ${code}) → HTTP ${res.status} in ${ms} ms, ${verdict}`);
          io.out(`  answer: ${oneLine(res.body, 1000)}`);
        } catch (err) {
          ok = false;
          io.out(`${label}: no answer: ${(err as Error).message}`);
        }
      }
    }
  }
  if (!sent) io.out('no test event sent: no enabled destination has a test mode configured');
  return ok;
}

export function registerConfigCommands(program: Command, deps: ConfigCommandDeps): void {
  const io = ioOf(deps);
  const load = deps.loadConfig ?? loadConfig;
  const configCmd = program.command('config').description('configuration tools');
  configCmd
    .command('check')
    .description('validate a config file and print what it configures; optionally send test events')
    .option('-c, --config <file>', 'config file (default: $TRAKVO_CONFIG)')
    .option('--send-test', `send one test event to each destination in test mode (${TEST_MODE_KEY}) and print the answer`)
    .addHelpText(
      'after',
      `\nSecrets written as env:NAME or file:/path are resolved; a missing one is an error.\nOnly destinations whose platform has a test mode and that set ${TEST_MODE_KEY} get a test\nevent (a PageView with a config-check event id); no other destination is contacted.\n\nExample:\n  trakvo config check --config trakvo.json --send-test`,
    )
    .action(async (o: { config?: string; sendTest?: boolean }) => {
      let config: CollectorConfig;
      try {
        config = load(o.config);
      } catch (err) {
        failWith(io, err);
        return;
      }
      describeConfig(config, io);
      io.out('config OK');
      if (!o.sendTest) return;
      const own = deps.send ? undefined : createHttpSender({ timeoutMs: config.dispatch.timeoutMs });
      try {
        const allOk = await sendTests(config, deps.send ?? own!.send, io);
        if (!allOk) process.exitCode = 1;
      } catch (err) {
        failWith(io, err);
      } finally {
        await own?.close();
      }
    });
}
