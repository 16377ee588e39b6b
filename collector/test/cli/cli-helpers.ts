// Runs operator commands in-process, the way `trakvo` would: a fresh commander program per
// call, real config file, real SQLite store (opened by the default openCliContext).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command, CommanderError } from 'commander';
import { openCliContext, type CliDeps } from '../../src/cli/cli-context.js';
import { registerConfigCommands, type ConfigCommandDeps } from '../../src/cli/config-commands.js';
import { registerDlqCommands } from '../../src/cli/dlq-commands.js';
import { registerEventCommands } from '../../src/cli/event-commands.js';
import { openSqliteStore, type SqliteStore } from '../../src/store/sqlite.js';

export interface RunResult {
  out: string;
  err: string;
  code: number;
}

export interface Workspace {
  dir: string;
  configFile: string;
  writeConfig(config: unknown): void;
  /** A direct connection to the same SQLite file (seed data, check results). */
  openStore(): SqliteStore;
  run(args: string[], extra?: Partial<ConfigCommandDeps>): Promise<RunResult>;
  remove(): void;
}

export function workspace(): Workspace {
  const dir = mkdtempSync(join(tmpdir(), 'trakvo-cli-'));
  const configFile = join(dir, 'trakvo.json');
  return {
    dir,
    configFile,
    writeConfig(config) {
      writeFileSync(configFile, JSON.stringify({ dataDir: dir, ...(config as object) }, null, 2));
    },
    openStore: () => openSqliteStore({ file: join(dir, 'trakvo.db') }),
    async run(args, extra = {}) {
      const out: string[] = [];
      const err: string[] = [];
      const program = new Command('trakvo')
        .exitOverride()
        .configureOutput({ writeOut: (s) => void out.push(s), writeErr: (s) => void err.push(s) });
      const deps: CliDeps = {
        openContext: openCliContext,
        out: (line) => void out.push(`${line}\n`),
        err: (line) => void err.push(`${line}\n`),
        ...extra,
      };
      registerDlqCommands(program, deps);
      registerEventCommands(program, deps);
      registerConfigCommands(program, deps);
      const before = process.exitCode;
      process.exitCode = undefined;
      let code = 0;
      try {
        await program.parseAsync(['node', 'trakvo', ...args]);
        code = Number(process.exitCode ?? 0);
      } catch (e) {
        if (!(e instanceof CommanderError)) throw e;
        code = e.exitCode;
      } finally {
        process.exitCode = before;
      }
      return { out: out.join(''), err: err.join(''), code };
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
