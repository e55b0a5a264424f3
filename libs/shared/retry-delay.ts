/**
 * How long to wait before retry number `retry` (1 = the first retry): exponential backoff from
 * `initialMs`, capped at `maxMs`, with "equal jitter" (half fixed, half random) so that many callers
 * turned away at once do not come back at once. A server's `Retry-After` is a floor: the delay is never
 * shorter than what the server asked for.
 */
export function retryDelayMs(
  retry: number,
  schedule: { initialMs: number; maxMs: number },
  retryAfterMs?: number,
  random: () => number = Math.random,
): number {
  const exponential = Math.min(schedule.maxMs, schedule.initialMs * 2 ** Math.max(0, retry - 1));
  const jittered = exponential / 2 + random() * (exponential / 2);
  return Math.round(Math.max(jittered, retryAfterMs ?? 0));
}

/**
 * Parses a `Retry-After` header (delta-seconds or an HTTP date) into milliseconds from `now`;
 * undefined when absent or unreadable. A date in the past means "now" (0).
 */
export function parseRetryAfter(value: string | null | undefined, now = Date.now()): number | undefined {
  if (value === null || value === undefined) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  // An HTTP date names its day and month; Date.parse would also take "-1" or "2" as years.
  if (!/^[A-Za-z]{3}, /.test(text)) return undefined;
  const date = Date.parse(text);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}
