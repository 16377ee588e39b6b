// Polling for the end-to-end tests: what the browser, the collector and the platform
// stand-ins do happens asynchronously, so a test waits for the state it expects.

/**
 * Calls `fn` every 50 ms until it returns something other than `undefined`, and returns
 * that; throws `timed out waiting for <what>` after `timeoutMs`.
 */
export async function waitFor<T>(fn: () => T | undefined | Promise<T | undefined>, what: string, timeoutMs = 15_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
