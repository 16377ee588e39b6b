// What the operator commands (`dlq`, `events`, `config`) share: how they open the store
// and config, where they print, and how they fail (exit code 1, message on stderr, never a
// stack trace for an expected problem).
import { InvalidArgumentError } from 'commander';
import { ConfigError, loadConfig } from '../config/load-config.js';
import type { CollectorConfig } from '../config/schema.js';
import { openConfiguredStore } from '../http/create-collector.js';
import type { Store } from '../store/types.js';

export interface CliContext {
  store: Store;
  config: CollectorConfig;
  close(): Promise<void>;
}

export interface CliDeps {
  /** Loads the config (`--config` or $TRAKVO_CONFIG) and opens its store. */
  openContext(configPath?: string): Promise<CliContext>;
  /** Loads and validates the config only (default: `loadConfig`). */
  loadConfig?(configPath?: string): CollectorConfig;
  /** Standard output, one line per call (default: process.stdout). */
  out?(line: string): void;
  /** Standard error (default: process.stderr). */
  err?(line: string): void;
}

/** The default `openContext`: the config file and the store it names. */
export async function openCliContext(configPath?: string): Promise<CliContext> {
  const config = loadConfig(configPath);
  const store = openConfiguredStore(config);
  return { store, config, close: () => store.close() };
}

export interface Io {
  out(line: string): void;
  err(line: string): void;
}

export function ioOf(deps: CliDeps): Io {
  return {
    out: deps.out ?? ((line) => void process.stdout.write(`${line}\n`)),
    err: deps.err ?? ((line) => void process.stderr.write(`${line}\n`)),
  };
}

/** Reports an error and sets exit code 1, without exiting (the caller's finally blocks run). */
export function failWith(io: Io, err: unknown): void {
  io.err(err instanceof ConfigError || err instanceof UsageError ? err.message : `error: ${(err as Error).message}`);
  process.exitCode = 1;
}

/** Runs `fn` with an opened context, closing it whatever happens. */
export async function withContext(deps: CliDeps, configPath: string | undefined, io: Io, fn: (ctx: CliContext) => Promise<void>): Promise<void> {
  let ctx: CliContext | undefined;
  try {
    ctx = await deps.openContext(configPath);
    await fn(ctx);
  } catch (err) {
    failWith(io, err);
  } finally {
    await ctx?.close();
  }
}

/** A problem in how the command was called: printed as is. */
export class UsageError extends Error {}

/** Fixed-width columns; the last column is not padded. */
export function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)];
}

export function isoTime(ms: number | null | undefined): string {
  return ms === null || ms === undefined ? '-' : new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function oneLine(s: string | null | undefined, max: number): string {
  if (s === null || s === undefined || s === '') return '-';
  const flat = s.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

/** Option parser for commander: a whole number ≥ `min`. */
export function wholeNumber(min: number) {
  return (value: string): number => {
    if (!/^\d+$/.test(value) || Number(value) < min) throw new InvalidArgumentError(`must be a whole number ≥ ${min}`);
    return Number(value);
  };
}
