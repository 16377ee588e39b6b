// When to try a failed delivery again: exponential backoff with jitter, capped, and the
// platform's own Retry-After when it gave one.

export interface BackoffPolicy {
  baseMs: number;
  capMs: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { baseMs: 2_000, capMs: 60 * 60_000 };

/**
 * Delay before attempt number `attempts + 1` (attempts = tries made so far, ≥ 1).
 * "Equal jitter": half the exponential delay fixed, half random, so retries of a burst
 * spread out but never collapse to zero.
 */
export function retryDelayMs(
  attempts: number,
  afterMs?: number,
  policy: BackoffPolicy = DEFAULT_BACKOFF,
  random: () => number = Math.random,
): number {
  if (afterMs !== undefined && afterMs >= 0) return Math.min(afterMs, policy.capMs * 24);
  const exp = Math.min(policy.capMs, policy.baseMs * 2 ** Math.max(0, attempts - 1));
  return Math.round(exp / 2 + random() * (exp / 2));
}
