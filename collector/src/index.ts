// Public API of the trakvo package.
export { createCollector, buildCollector, type Collector, type CollectorOptions } from './http/create-collector.js';
export { loadConfig, parseConfig, ConfigError } from './config/load-config.js';
export type { CollectorConfig, CollectorConfigInput, SiteConfig } from './config/schema.js';
export { CanonicalEventSchema, type CanonicalEvent } from './event/schema.js';
export type { Destination, Outcome } from './destinations/types.js';
export type { Store } from './store/types.js';
export { startDemo } from './demo/demo-server.js';
