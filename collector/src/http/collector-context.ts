// What every route of the collector gets: the validated config, the store, the one ingest
// step, the dispatcher and the logger. Routers are factories of this context, so each
// entry point (browser, REST API, platform webhooks, dashboard) stays a separate module.
import type { CollectorConfig, SiteConfig } from '../config/schema.js';
import type { Dispatcher } from '../dispatch/dispatcher.js';
import type { Logger } from '../log.js';
import type { Ingest } from '../pipeline/ingest.js';
import type { Store } from '../store/types.js';

export interface CollectorContext {
  config: CollectorConfig;
  sites: Map<string, SiteConfig>;
  store: Store;
  /** Validated canonical event in → durably committed (resolves after commit). */
  ingest: Ingest;
  dispatcher: Dispatcher;
  logger: Logger;
  now: () => number;
}
