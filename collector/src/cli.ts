#!/usr/bin/env node
// The `trakvo` command: run the collector standalone, or the demo store.
import { randomBytes } from 'node:crypto';
import { Command } from 'commander';
import express from 'express';
import { openCliContext } from './cli/cli-context.js';
import { registerConfigCommands } from './cli/config-commands.js';
import { registerDlqCommands } from './cli/dlq-commands.js';
import { registerEventCommands } from './cli/event-commands.js';
import { registerShopifyCommands } from './cli/shopify-commands.js';
import { registerTokenCommands } from './cli/token-commands.js';
import { ConfigError, loadConfig } from './config/load-config.js';
import { startDemo } from './demo/demo-server.js';
import { buildCollector } from './http/create-collector.js';
import { createLogger } from './log.js';

const program = new Command('trakvo').description('First-party conversion tracking collector');

function fail(err: unknown): never {
  console.error(err instanceof ConfigError ? err.message : `error: ${(err as Error).message}`);
  process.exit(1);
}

function onShutdown(close: () => Promise<void>): void {
  let closing = false;
  const stop = (signal: string) => {
    if (closing) return;
    closing = true;
    console.error(`${signal}: finishing in-flight work…`);
    close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

program
  .command('serve')
  .description('run the collector as a standalone HTTP server')
  .option('-c, --config <file>', 'config file (default: $TRAKVO_CONFIG)')
  .action((opts: { config?: string }) => {
    let config;
    try {
      config = loadConfig(opts.config);
    } catch (err) {
      fail(err);
    }
    const logger = createLogger(config.logLevel);
    const app = express();
    app.disable('x-powered-by');
    app.set('trust proxy', config.trustProxy);
    const collector = buildCollector(config, { logger });
    app.use(config.basePath, collector);
    const server = app.listen(config.port, config.host, () => {
      logger.info({ port: config.port, basePath: config.basePath, sites: config.sites.map((s) => s.id) }, 'trakvo collector listening');
    });
    onShutdown(async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await collector.close();
    });
  });

program
  .command('demo')
  .description('run the demo store with the collector mounted at /t (SQLite, no other service)')
  .option('-p, --port <port>', 'port', (v) => Number(v), Number(process.env.PORT ?? 8080))
  .option('--host <host>', 'interface to listen on', '127.0.0.1')
  .option('--data-dir <dir>', 'where the SQLite store lives', process.env.TRAKVO_DATA_DIR ?? './.trakvo-data')
  .action(async (opts: { port: number; host: string; dataDir: string }) => {
    const pixelId = process.env.META_PIXEL_ID;
    const accessToken = process.env.META_ACCESS_TOKEN;
    const meta = pixelId && accessToken ? { pixelId, accessToken, testEventCode: process.env.META_TEST_EVENT_CODE } : undefined;
    try {
      // The demo's dashboard password: yours from the environment, else a fresh one per run.
      const adminPassword = process.env.TRAKVO_ADMIN_PASSWORD || randomBytes(9).toString('base64url');
      const demo = await startDemo({ port: opts.port, host: opts.host, dataDir: opts.dataDir, meta, adminPassword });
      console.log(`Demo store:        ${demo.url}/`);
      console.log(`Snippet:           ${demo.url}/t/t.js`);
      console.log(`Dashboard:         ${demo.url}/t/admin/  (password: ${adminPassword})`);
      console.log(meta ? `Delivering to Meta pixel ${pixelId}` : `What Meta received: ${demo.url}/_mock/graph/_received (built-in Graph API stand-in)`);
      onShutdown(() => demo.close());
    } catch (err) {
      fail(err);
    }
  });

registerTokenCommands(program, { openContext: openCliContext });
registerConfigCommands(program, { openContext: openCliContext });
registerDlqCommands(program, { openContext: openCliContext });
registerEventCommands(program, { openContext: openCliContext });
registerShopifyCommands(program, { loadConfig });

await program.parseAsync(process.argv);
