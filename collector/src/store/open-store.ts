// Opens the configured outbox engine: SQLite in a local file (one machine, the default) or
// PostgreSQL (several collector machines sharing one queue).
import { openPostgresStore } from './postgres.js';
import { openSqliteStore } from './sqlite.js';
import type { Store } from './types.js';

export type StoreConfig =
  | { engine: 'sqlite'; file: string }
  | { engine: 'postgres'; url: string; schema?: string };

export async function openStore(config: StoreConfig): Promise<Store> {
  switch (config.engine) {
    case 'sqlite':
      return openSqliteStore({ file: config.file });
    case 'postgres':
      return openPostgresStore(config.schema === undefined ? { url: config.url } : { url: config.url, schema: config.schema });
    default: {
      const engine: never = config;
      throw new Error(`unknown store engine ${JSON.stringify((engine as { engine?: unknown }).engine)}`);
    }
  }
}
