// A worker that runs batches of due work until none is left, and can be woken at any time.
// The dispatcher runs one per destination, the notifier one for its outbox. A wake that
// arrives while a run is under way is never lost: the run goes round once more, or, if the
// wake came after the run's last check, a new run starts as the old one ends.

export interface WakeableLoopOptions {
  /** Leases and handles one batch; returns how many items it took (0: nothing is due). */
  processBatch: () => Promise<number>;
  /** Whether the owner is running; checked before every batch and before going round again. */
  isRunning: () => boolean;
  /** A batch threw: the run ends here (the next wake or poll starts a new one). */
  onError: (err: unknown) => void;
}

export interface WakeableLoop {
  /** Runs batches now, or, if a run is under way, has it go round once more. Resolves when that run ends. */
  kick(): Promise<void>;
  /** Resolves once no run is under way, including runs started by late wakes. */
  idle(): Promise<void>;
}

export function createWakeableLoop(opts: WakeableLoopOptions): WakeableLoop {
  let active: Promise<void> | undefined;
  let again = false;

  async function loop(): Promise<void> {
    do {
      again = false;
      try {
        while (opts.isRunning() && (await opts.processBatch()) > 0) {
          /* keep going while there is due work */
        }
      } catch (err) {
        opts.onError(err);
      }
    } while (again && opts.isRunning());
  }

  function kick(): Promise<void> {
    if (active) {
      again = true;
      return active;
    }
    active = loop().finally(() => {
      active = undefined;
      // A wake that arrived after the loop's last check must not be lost.
      if (again && opts.isRunning()) void kick();
    });
    return active;
  }

  async function idle(): Promise<void> {
    while (active) await active;
  }

  return { kick, idle };
}
