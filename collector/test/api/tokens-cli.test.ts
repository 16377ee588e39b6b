// `trakvo tokens create|list|revoke` on a real store, and the created token used over HTTP.
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TOKEN_RE } from '../../src/api/tokens.js';
import { registerTokenCommands } from '../../src/cli/token-commands.js';
import { postJson, startHarness, type Harness } from './harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(() => h.close());

/** Runs `trakvo <args>`: what it printed, on stdout (ours and commander's) and stderr, and its exit code. */
async function run(...args: string[]): Promise<{ out: string; err: string; code: number; configPaths: (string | undefined)[] }> {
  let out = '';
  let err = '';
  const configPaths: (string | undefined)[] = [];
  const program = new Command('trakvo').exitOverride().configureOutput({
    writeOut: (s) => (out += s),
    writeErr: (s) => (err += s),
  });
  registerTokenCommands(program, {
    openContext: async (configPath) => {
      configPaths.push(configPath);
      return { store: h.store, config: h.ctx.config, close: async () => undefined };
    },
    out: (line) => (out += `${line}\n`),
    err: (line) => (err += `${line}\n`),
    now: () => Date.now(),
  });
  let code = 0;
  try {
    await program.parseAsync(args, { from: 'user' });
    code = Number(process.exitCode ?? 0);
  } catch (e) {
    err += (e as Error).message;
    code = (e as { exitCode?: number }).exitCode ?? 1;
  } finally {
    process.exitCode = undefined;
  }
  return { out, err, code, configPaths };
}

describe('trakvo tokens', () => {
  it('creates a token, prints it once, and it works against the API', async () => {
    const { out, configPaths } = await run('tokens', 'create', '--site', 'shop', '--env', 'production', '--name', 'order backend', '-c', 'trakvo.json');
    expect(configPaths).toEqual(['trakvo.json']);
    const token = /^\s+(\S+)$/m.exec(out)![1]!;
    expect(token).toMatch(TOKEN_RE);
    expect(out).toMatch(/Created events token tok_[0-9a-f]{16} for site "shop" \(production\)/);
    expect(out).toMatch(/cannot be shown again/);
    expect((await postJson(`${h.base}/v1/events`, token, { event: 'Lead' })).status).toBe(200);

    const list = await run('tokens', 'list', '--site', 'shop');
    expect(list.out).toMatch(/^ID\s+SITE\s+ENV\s+SCOPE\s+PREFIX\s+NAME\s+CREATED\s+LAST USED\s+REVOKED$/m);
    expect(list.out).toContain('order backend');
    expect(list.out).not.toContain(token);
  });

  it('creates a pixel token and prints JSON on request, without the hash', async () => {
    const { out } = await run('tokens', 'create', '--site', 'shop', '--env', 'staging', '--scope', 'pixel', '--json');
    const created = JSON.parse(out);
    expect(created).toMatchObject({ site_id: 'shop', env: 'staging', scope: 'pixel', name: null, revoked_at: null });
    expect(created.token).toMatch(/^trkpx_stg_/);
    expect(created.token_hash).toBeUndefined();
    const listed = JSON.parse((await run('tokens', 'list', '--json')).out) as { id: string; token_hash?: string }[];
    expect(listed.find((t) => t.id === created.id)).toBeDefined();
    expect(listed.every((t) => t.token_hash === undefined)).toBe(true);
  });

  it('revokes a token: the API answers 401 from then on', async () => {
    const created = JSON.parse((await run('tokens', 'create', '--site', 'shop', '--env', 'production', '--json')).out);
    expect((await run('tokens', 'revoke', created.id)).out).toBe(`Revoked ${created.id}.\n`);
    expect((await postJson(`${h.base}/v1/events`, created.token, { event: 'Lead' })).status).toBe(401);
    const again = await run('tokens', 'revoke', created.id);
    expect(again.err).toBe(`no active token "${created.id}" (unknown or already revoked)\n`);
    expect(again.code).toBe(1);
    const list = await run('tokens', 'list', '--site', 'shop');
    const row = list.out.split('\n').find((l) => l.startsWith(created.id))!;
    expect(row).toMatch(/\d{4}-\d\d-\d\dT[\d:]+Z$/); // revoked time in the last column
  });

  it('refuses an unknown site, env or scope', async () => {
    const unknown = await run('tokens', 'create', '--site', 'nope', '--env', 'production');
    expect(unknown.err).toBe('unknown site "nope" (configured: shop, blog)\n');
    expect(unknown.code).toBe(1);
    expect((await run('tokens', 'create', '--site', 'shop', '--env', 'prod')).err).toMatch(/Allowed choices are production, staging, development/);
    expect((await run('tokens', 'create', '--site', 'shop', '--env', 'staging', '--scope', 'all')).err).toMatch(/Allowed choices are events, pixel/);
    expect((await run('tokens', 'create', '--env', 'staging')).err).toMatch(/--site/);
  });

  it('says so when a site has no tokens', async () => {
    expect((await run('tokens', 'list', '--site', 'blog')).out).toBe('No tokens for site "blog".\n');
  });

  it('has --help text with examples', async () => {
    const help = await run('tokens', '--help');
    expect(help.out).toMatch(/create \[options\]/);
    expect(help.out).toMatch(/revoke \[options\] <id>/);
    expect(help.out).toMatch(/trakvo tokens create --site shop --env production/);
    const createHelp = await run('tokens', 'create', '--help');
    const flat = createHelp.out.replace(/\s+/g, ' ');
    expect(flat).toMatch(/--scope <scope> events: every endpoint; pixel: only the GET form .*\(choices: "events", "pixel", default: "events"\)/);
  });
});
