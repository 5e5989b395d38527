/** When a failed attempt is tried again. */
export interface RetrySchedule {
  /** The wait after the first failed attempt; it doubles after each further one. */
  readonly baseDelayMs: number;
  /** The longest wait between two attempts. */
  readonly maxDelayMs: number;
  /** Each wait is moved by up to this fraction either way, so that endpoints that fail together are not retried together. */
  readonly jitter: number;
  /** How long after the delivery was made attempts go on; after that it is marked failed. */
  readonly retryPeriodMs: number;
}

export const DEFAULT_SCHEDULE: RetrySchedule = Object.freeze({
  baseDelayMs: 10_000,
  maxDelayMs: 3_600_000,
  jitter: 0.2,
  retryPeriodMs: 86_400_000,
});

/** The wait after failed attempt number `attempt` (from 1), before jitter. */
export function backoff(attempt: number, schedule: RetrySchedule): number {
  // 2 ** 40 is far past any cap; the exponent is bounded so that the number stays finite.
  return Math.min(schedule.baseDelayMs * 2 ** Math.min(attempt - 1, 40), schedule.maxDelayMs);
}

/**
 * When to try again after failed attempt number `attempt` made at `now`, for a delivery made at
 * `createdAt`; null when that would be past the retry period (the delivery is then failed).
 * `random` returns a number in [0, 1), like Math.random.
 */
export function nextAttemptAt(attempt: number, now: number, createdAt: number, schedule: RetrySchedule, random: () => number = Math.random): number | null {
  const delay = backoff(attempt, schedule) * (1 + schedule.jitter * (2 * random() - 1));
  const next = now + Math.round(delay);
  return next > createdAt + schedule.retryPeriodMs ? null : next;
}
