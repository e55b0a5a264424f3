import { retryDelayMs } from '../../shared/retry-delay.ts';

/** How one delivery is attempted and retried. Stored with the delivery, so a retry after a restart keeps it. */
export interface DeliverySchedule {
  /** Attempts in all, the first included. @defaultValue 8 (config `WEBHOOK_ATTEMPTS`) */
  attempts: number;
  /** Delay before the first retry; doubles on each retry, with jitter. @defaultValue 1000 (config `WEBHOOK_BACKOFF_MS`) */
  backoffMs: number;
  /** Longest delay between two attempts. @defaultValue 3600000 (config `WEBHOOK_BACKOFF_MAX_MS`) */
  maxBackoffMs: number;
  /** Time allowed for one attempt, connect to response headers. @defaultValue 10000 (config `WEBHOOK_TIMEOUT_MS`) */
  timeoutMs: number;
}

/** The longest `Retry-After` honoured; a receiver asking for more is retried after this. */
export const MAX_RETRY_AFTER_MS = 6 * 3600 * 1000;

/**
 * Merges per-call overrides into the process defaults, checking each value.
 * @throws TypeError naming the option, what was expected and what came.
 */
export function resolveSchedule(defaults: DeliverySchedule, overrides: Partial<DeliverySchedule> = {}): DeliverySchedule {
  const schedule = { ...defaults };
  for (const [name, min, max] of [
    ['attempts', 1, 100],
    ['backoffMs', 0, 86_400_000],
    ['maxBackoffMs', 0, 86_400_000],
    ['timeoutMs', 1, 600_000],
  ] as const) {
    const value = overrides[name];
    if (value === undefined) continue;
    if (!Number.isInteger(value) || value < min || value > max) {
      throw new TypeError(`webhook option ${name} must be a whole number from ${min} to ${max}, got ${JSON.stringify(value)}`);
    }
    schedule[name] = value;
  }
  return schedule;
}

/** Delay before retry number `retry` (1 = the first retry): backoff with jitter, never before `Retry-After`. */
export function deliveryRetryDelay(schedule: DeliverySchedule, retry: number, retryAfterMs?: number): number {
  const floor = retryAfterMs === undefined ? undefined : Math.min(retryAfterMs, MAX_RETRY_AFTER_MS);
  return retryDelayMs(retry, { initialMs: schedule.backoffMs, maxMs: schedule.maxBackoffMs }, floor);
}
