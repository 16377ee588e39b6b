// A Store that opens on first use. Every Store method is async, so a collector can be
// built synchronously (`app.use('/t', createCollector(cfg))`) even when its engine
// (PostgreSQL) needs an async connect: calls wait for the open; a failed open surfaces
// as the error of each call (and of /readyz) instead of crashing the host app.
import type { Store } from './types.js';

export function lazyStore(open: () => Promise<Store>): Store & { ready: Promise<Store> } {
  const ready = open();
  ready.catch(() => {}); // reported through the calls that need it
  return new Proxy({ ready } as Store & { ready: Promise<Store> }, {
    get(target, name) {
      if (name === 'ready') return target.ready;
      if (name === 'then') return undefined; // not a thenable
      return async (...args: unknown[]) => {
        const store = (await ready) as unknown as Record<PropertyKey, (...a: unknown[]) => unknown>;
        const method = store[name];
        if (typeof method !== 'function') throw new TypeError(`store has no method ${String(name)}`);
        return method.apply(store, args);
      };
    },
  });
}
