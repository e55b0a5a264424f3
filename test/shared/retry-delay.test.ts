import test from 'ava';
import { parseRetryAfter, retryDelayMs } from '../../libs/shared/retry-delay.ts';

const schedule = { initialMs: 100, maxMs: 1000 };

test('delays double per retry up to the cap, with jitter in the upper half', (t) => {
  for (const [retry, full] of [[1, 100], [2, 200], [3, 400], [4, 800], [5, 1000], [9, 1000]] as const) {
    t.is(retryDelayMs(retry, schedule, undefined, () => 0), full / 2, `retry ${retry}, least jitter`);
    t.is(retryDelayMs(retry, schedule, undefined, () => 1), full, `retry ${retry}, most jitter`);
  }
  const spread = new Set(Array.from({ length: 50 }, () => retryDelayMs(3, schedule)));
  t.true(spread.size > 10, 'jitter spreads retries apart');
});

test('Retry-After is a floor, never shortened by the backoff', (t) => {
  t.is(retryDelayMs(1, schedule, 2000, () => 1), 2000);
  t.is(retryDelayMs(5, schedule, 10, () => 1), 1000);
});

test('Retry-After parses as seconds or an HTTP date', (t) => {
  const now = Date.parse('2026-01-01T00:00:00Z');
  t.is(parseRetryAfter('3', now), 3000);
  t.is(parseRetryAfter(' 0 ', now), 0);
  t.is(parseRetryAfter('Thu, 01 Jan 2026 00:00:05 GMT', now), 5000);
  t.is(parseRetryAfter('Wed, 31 Dec 2025 23:00:00 GMT', now), 0);
  t.is(parseRetryAfter('soon', now), undefined);
  t.is(parseRetryAfter(null, now), undefined);
  t.is(parseRetryAfter('-1', now), undefined);
});
