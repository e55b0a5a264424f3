import test from 'ava';
import { loadConfig } from '../../libs/kalium/config/config.ts';
import { ConfigError } from '../../libs/kalium/errors/kalium-error.ts';
import { deliveryRetryDelay, MAX_RETRY_AFTER_MS, resolveSchedule } from '../../libs/kalium/webhook/delivery-schedule.ts';
import { configuredSchedule } from '../../libs/kalium/webhook/webhook-host.ts';

test('the delivery schedule comes from WEBHOOK_* configuration, with documented defaults', (t) => {
  t.deepEqual(configuredSchedule(loadConfig({})), { attempts: 8, backoffMs: 1000, maxBackoffMs: 3_600_000, timeoutMs: 10_000 });
  const config = loadConfig({ WEBHOOK_ATTEMPTS: '3', WEBHOOK_BACKOFF_MS: '50', WEBHOOK_BACKOFF_MAX_MS: '500', WEBHOOK_TIMEOUT_MS: '250', WEBHOOK_CONCURRENCY: '4' });
  t.deepEqual(configuredSchedule(config), { attempts: 3, backoffMs: 50, maxBackoffMs: 500, timeoutMs: 250 });
  t.is(config.webhookConcurrency, 4);
});

test('bad WEBHOOK_* values stop start-up with a message naming them', (t) => {
  for (const [name, value] of [
    ['WEBHOOK_ATTEMPTS', '0'],
    ['WEBHOOK_TIMEOUT_MS', 'ten'],
    ['WEBHOOK_CONCURRENCY', '0'],
    ['WEBHOOK_SECRET', 'whsec_AAAAAAAAAAAAAAAA=A'],
    ['WEBHOOK_SECRET', 'not-a-secret'],
    ['WEBHOOK_ALLOW_PRIVATE', 'yes'],
  ]) {
    t.throws(() => loadConfig({ [name!]: value }), { instanceOf: ConfigError, message: new RegExp(name!) }, `${name}=${value}`);
  }
});

test('per-delivery overrides are checked and merged over the defaults', (t) => {
  const defaults = configuredSchedule(loadConfig({}));
  t.deepEqual(resolveSchedule(defaults, { attempts: 2, timeoutMs: 100 }), { ...defaults, attempts: 2, timeoutMs: 100 });
  t.throws(() => resolveSchedule(defaults, { attempts: 101 }), { message: /attempts must be a whole number from 1 to 100, got 101/ });
  t.throws(() => resolveSchedule(defaults, { backoffMs: -1 }), { message: /backoffMs/ });
});

test('retries back off exponentially with jitter; Retry-After is honoured up to a cap', (t) => {
  const schedule = { attempts: 8, backoffMs: 1000, maxBackoffMs: 60_000, timeoutMs: 1000 };
  for (let retry = 1; retry <= 8; retry++) {
    const full = Math.min(60_000, 1000 * 2 ** (retry - 1));
    const delay = deliveryRetryDelay(schedule, retry);
    t.true(delay >= full / 2 && delay <= full, `retry ${retry}: ${delay}`);
  }
  t.true(deliveryRetryDelay(schedule, 1, 30_000) >= 30_000);
  t.is(deliveryRetryDelay(schedule, 1, 365 * 86_400_000), MAX_RETRY_AFTER_MS);
});
