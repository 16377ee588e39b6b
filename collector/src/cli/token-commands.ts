// `trakvo tokens create|list|revoke`: API tokens for the server-to-server API. The token is
// printed once, at creation; only its SHA-256 is stored.
import { Option, type Command } from 'commander';
import type { ApiTokenRecord } from '../store/types.js';
import { createToken, listTokens, revokeToken, TOKEN_ENVS, TOKEN_SCOPES } from '../api/tokens.js';
import { ioOf, isoTime, table, UsageError, withContext, type CliDeps } from './cli-context.js';

export type TokenCommandDeps = CliDeps & { now?: () => number };

function publicView(t: ApiTokenRecord) {
  const { token_hash: _hash, ...rest } = t;
  return rest;
}

export function registerTokenCommands(program: Command, deps: TokenCommandDeps): Command {
  const io = ioOf(deps);
  const now = deps.now ?? Date.now;

  const tokens = program
    .command('tokens')
    .description('API tokens for the server-to-server API (POST /v1/events, the e-mail pixel)')
    .addHelpText(
      'after',
      `
Tokens belong to one site and one environment. Only a SHA-256 of each token is stored:
the token itself is shown once, when it is created. Send it as
"Authorization: Bearer <token>" (or ?api_key=<token> where headers cannot be set).

Examples:
  $ trakvo tokens create --site shop --env production --name "order backend"
  $ trakvo tokens create --site shop --env production --scope pixel --name "e-mail opens"
  $ trakvo tokens list --site shop
  $ trakvo tokens revoke tok_3f2a9c1b7e4d5a60`,
    );

  tokens
    .command('create')
    .description('create a token and print it (once)')
    .requiredOption('--site <id>', 'site the token sends events for')
    .addOption(new Option('--env <env>', 'environment').choices(TOKEN_ENVS).makeOptionMandatory())
    .option('--name <name>', 'what uses it, for your own records')
    .addOption(
      new Option('--scope <scope>', 'events: every endpoint; pixel: only the GET form (safe to put in e-mail HTML)')
        .choices(TOKEN_SCOPES)
        .default('events'),
    )
    .option('-c, --config <file>', 'config file (default: $TRAKVO_CONFIG)')
    .option('--json', 'print JSON')
    .action(async (opts: { site: string; env: (typeof TOKEN_ENVS)[number]; name?: string; scope: (typeof TOKEN_SCOPES)[number]; config?: string; json?: boolean }) => {
      await withContext(deps, opts.config, io, async ({ store, config }) => {
        if (!config.sites.some((s) => s.id === opts.site)) {
          throw new UsageError(`unknown site "${opts.site}" (configured: ${config.sites.map((s) => s.id).join(', ')})`);
        }
        const { token, record } = await createToken(store, { site_id: opts.site, env: opts.env, name: opts.name ?? null, scope: opts.scope }, now());
        if (opts.json) {
          io.out(JSON.stringify({ token, ...publicView(record) }));
          return;
        }
        io.out(`Created ${record.scope} token ${record.id} for site "${record.site_id}" (${record.env}).`);
        io.out('');
        io.out(`  ${token}`);
        io.out('');
        io.out('Store it now (for example in your secrets manager): it cannot be shown again.');
      });
    });

  tokens
    .command('list')
    .description('list tokens (never the tokens themselves)')
    .option('--site <id>', 'only this site')
    .option('-c, --config <file>', 'config file (default: $TRAKVO_CONFIG)')
    .option('--json', 'print JSON')
    .action(async (opts: { site?: string; config?: string; json?: boolean }) => {
      await withContext(deps, opts.config, io, async ({ store }) => {
        const list = await listTokens(store, opts.site);
        if (opts.json) {
          io.out(JSON.stringify(list.map(publicView)));
          return;
        }
        if (!list.length) {
          io.out(opts.site ? `No tokens for site "${opts.site}".` : 'No tokens.');
          return;
        }
        const rows = list.map((t) => [
          t.id,
          t.site_id,
          t.env,
          t.scope,
          `${t.prefix}…`,
          t.name ?? '-',
          isoTime(t.created_at),
          isoTime(t.last_used_at),
          isoTime(t.revoked_at),
        ]);
        for (const line of table(['ID', 'SITE', 'ENV', 'SCOPE', 'PREFIX', 'NAME', 'CREATED', 'LAST USED', 'REVOKED'], rows)) io.out(line);
      });
    });

  tokens
    .command('revoke')
    .description('revoke a token: requests with it get 401 from now on')
    .argument('<id>', 'token id (tok_…), as shown by "tokens list"')
    .option('-c, --config <file>', 'config file (default: $TRAKVO_CONFIG)')
    .action(async (id: string, opts: { config?: string }) => {
      await withContext(deps, opts.config, io, async ({ store }) => {
        if (!(await revokeToken(store, id, now()))) throw new UsageError(`no active token "${id}" (unknown or already revoked)`);
        io.out(`Revoked ${id}.`);
      });
    });

  return tokens;
}
