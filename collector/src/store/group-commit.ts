// Group commit: concurrent requests share one transaction. Inserts that arrive in the same
// tick, or while a commit is in flight, are merged into one store.insertEvents call. Each
// caller's promise settles only after that commit, so a 2xx still means durable.
import type { InsertResult, NewEvent, Store } from './types.js';

export interface GroupCommitter {
  /** Queues one event; resolves with its own result once the group holding it committed. */
  insert(e: NewEvent): Promise<InsertResult>;
  /** Commits everything queued so far (and anything queued meanwhile) and waits for it. */
  flush(): Promise<void>;
}

export interface GroupCommitOptions {
  /** Most events per transaction. Default 500. */
  maxBatch?: number;
}

interface Waiter {
  item: NewEvent;
  resolve(r: InsertResult): void;
  reject(err: unknown): void;
}

export function createGroupCommitter(
  store: Pick<Store, 'insertEvents'>,
  opts: GroupCommitOptions = {},
): GroupCommitter {
  const maxBatch = Math.max(1, Math.floor(opts.maxBatch ?? 500));
  let queue: Waiter[] = [];
  let timer: NodeJS.Immediate | null = null;
  let running: Promise<void> | null = null;

  async function commit(group: Waiter[]): Promise<void> {
    let results: InsertResult[];
    try {
      results = await store.insertEvents(group.map((w) => w.item));
    } catch (err) {
      for (const w of group) w.reject(err);
      return;
    }
    if (results.length !== group.length) {
      const err = new Error(
        `store.insertEvents returned ${results.length} results for ${group.length} events`,
      );
      for (const w of group) w.reject(err);
      return;
    }
    group.forEach((w, i) => w.resolve(results[i]!));
  }

  // One drain loop at a time; whatever queued up during a commit becomes the next group.
  function drain(): Promise<void> {
    if (timer) {
      clearImmediate(timer);
      timer = null;
    }
    running ??= (async () => {
      try {
        while (queue.length > 0) {
          const group = queue.slice(0, maxBatch);
          queue = queue.slice(group.length);
          await commit(group);
        }
      } finally {
        running = null;
      }
    })();
    return running;
  }

  return {
    insert(item) {
      return new Promise<InsertResult>((resolve, reject) => {
        queue.push({ item, resolve, reject });
        // While a drain runs it picks this up after the current commit; otherwise wait for
        // the rest of this tick's callers.
        if (!running && !timer) {
          timer = setImmediate(() => {
            timer = null;
            void drain();
          });
        }
      });
    },

    async flush() {
      while (queue.length > 0 || running) await drain();
    },
  };
}
