// Reads the config file, applies environment overrides, resolves secret references
// (`env:NAME`, `file:/path`) and validates. Secrets never live in the file itself.
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { ConfigSchema, type CollectorConfig } from './schema.js';

export class ConfigError extends Error {
  constructor(public readonly problems: string[]) {
    super(`invalid Trakvo config:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

function keyPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>((acc, p) => (typeof p === 'number' ? `${acc}[${p}]` : acc ? `${acc}.${String(p)}` : String(p)), '');
}

/** Replaces `env:NAME` and `file:/path` strings anywhere in the config with their values. */
function resolveSecrets(value: unknown, env: NodeJS.ProcessEnv, path: PropertyKey[], problems: string[]): unknown {
  if (typeof value === 'string') {
    const env_ = /^env:([A-Za-z_][A-Za-z0-9_]*)$/.exec(value);
    if (env_) {
      const v = env[env_[1]!];
      if (v === undefined || v === '') problems.push(`${keyPath(path)}: environment variable ${env_[1]} is not set`);
      return v;
    }
    if (value.startsWith('file:')) {
      try {
        return readFileSync(value.slice(5), 'utf8').trim();
      } catch {
        problems.push(`${keyPath(path)}: cannot read secret file ${value.slice(5)}`);
        return undefined;
      }
    }
    return value;
  }
  if (Array.isArray(value)) return value.map((v, i) => resolveSecrets(v, env, [...path, i], problems));
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, resolveSecrets(v, env, [...path, k], problems)]),
    );
  }
  return value;
}

/** Validates a config object (from a file or from code) and resolves its secrets. */
export function parseConfig(input: unknown, env: NodeJS.ProcessEnv = process.env): CollectorConfig {
  const problems: string[] = [];
  const resolved = resolveSecrets(input, env, [], problems);
  if (problems.length) throw new ConfigError(problems);
  const result = ConfigSchema.safeParse(resolved);
  if (!result.success) throw new ConfigError(formatIssues(result.error));
  return result.data;
}

export function formatIssues(error: z.ZodError): string[] {
  return error.issues.map((i) => `${keyPath(i.path) || '(root)'}: ${i.message}`);
}

/** Loads `file` (or $TRAKVO_CONFIG), with PORT / TRAKVO_DATA_DIR / LOG_LEVEL overriding it. */
export function loadConfig(file?: string, env: NodeJS.ProcessEnv = process.env): CollectorConfig {
  const path = file ?? env.TRAKVO_CONFIG;
  if (!path) throw new ConfigError(['no config file: pass --config <file> or set TRAKVO_CONFIG']);
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  } catch (err) {
    throw new ConfigError([`cannot read ${path}: ${(err as Error).message}`]);
  }
  if (env.PORT) raw.port = env.PORT;
  if (env.TRAKVO_DATA_DIR) raw.dataDir = env.TRAKVO_DATA_DIR;
  if (env.LOG_LEVEL) raw.logLevel = env.LOG_LEVEL;
  return parseConfig(raw, env);
}
