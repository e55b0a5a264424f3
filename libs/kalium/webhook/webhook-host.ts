import type { Config } from '../config/config.ts';
import type { Logger } from '../log/logger.ts';
import type { Metrics } from '../metrics/metrics.ts';
import type { ConnectionRole, RedisClient } from '../redis/connection.ts';
import type { AppKeys } from '../redis/keys.ts';
import type { DeliveryOwner } from './delivery-tracker.ts';
import type { DeliverySchedule } from './delivery-schedule.ts';
import { MAX_RETRY_AFTER_MS } from './delivery-schedule.ts';

/**
 * What the webhook parts need from the process's runtime. The `Runtime` satisfies it; naming it here
 * keeps the webhook module from importing the runtime that owns it.
 */
export interface WebhookHost {
  readonly config: Config;
  readonly logger: Logger;
  readonly keys: AppKeys;
  /** The fail-fast command connection. */
  readonly redis: RedisClient;
  readonly metrics: Metrics;
  connection(role: ConnectionRole): RedisClient;
  onClose(name: string, close: () => Promise<void> | void): void;
}

/** The BullMQ queue webhook deliveries go through, under the app's prefix (`{kalium:<app>}:webhooks:…`). */
export const WEBHOOK_QUEUE = 'webhooks';

/** The custom BullMQ backoff type of deliveries; the webhook worker's `backoffStrategy` implements it. */
export const WEBHOOK_BACKOFF = 'kalium-webhook';

/** What a delivery job carries: the exact body signed and sent on every attempt, and its schedule. */
export interface DeliveryData {
  url: string;
  body: string;
  schedule: DeliverySchedule;
  owner: DeliveryOwner;
  /** The job event this delivery reports, for logs. */
  event?: string;
}

/** The process's default schedule, from `WEBHOOK_*` configuration. */
export function configuredSchedule(config: Config): DeliverySchedule {
  return {
    attempts: config.webhookAttempts,
    backoffMs: config.webhookBackoffMs,
    maxBackoffMs: config.webhookBackoffMaxMs,
    timeoutMs: config.webhookTimeoutMs,
  };
}

/** How long delivery state is kept: the result TTL past the last write, plus the longest wait between attempts. */
export function trackerTtlSeconds(config: Config): number {
  return config.resultTtl + Math.ceil(Math.max(config.webhookBackoffMaxMs, MAX_RETRY_AFTER_MS) / 1000);
}
