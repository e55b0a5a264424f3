import { randomBytes, randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { Kalium } from '../../libs/kalium/app/kalium.ts';
import { loadConfig } from '../../libs/kalium/config/config.ts';
import { createLogger } from '../../libs/kalium/log/logger.ts';
import { Runtime } from '../../libs/kalium/runtime/runtime.ts';
import { startWebhookWorker } from '../../libs/kalium/webhook/webhook-worker.ts';

/** A fresh Standard Webhooks secret. */
export function newSecret(): string {
  return `whsec_${randomBytes(24).toString('base64')}`;
}

/**
 * A runtime of its own app (so its own queue and keys) on the test's Redis, with a fast delivery
 * schedule, and a webhook worker unless `worker: false`.
 */
export async function webhookRuntime(
  redisUrl: string,
  env: Record<string, string> = {},
  options: { worker?: boolean; app?: string } = {},
): Promise<Runtime> {
  const app = new Kalium(options.app ?? `wh-${randomUUID().slice(0, 8)}`);
  const config = loadConfig({
    REDIS_URL: redisUrl,
    LOG_LEVEL: 'silent',
    WEBHOOK_ALLOW_PRIVATE: 'true',
    WEBHOOK_BACKOFF_MS: '20',
    WEBHOOK_BACKOFF_MAX_MS: '200',
    WEBHOOK_TIMEOUT_MS: '2000',
    ...env,
  });
  const runtime = new Runtime(app, config, createLogger({ level: config.logLevel }), { processMetrics: false });
  if (options.worker ?? true) startWebhookWorker(runtime);
  // The command connection fails fast rather than queueing: let it connect before the test sends.
  if (runtime.redis.status !== 'ready') await once(runtime.redis, 'ready');
  return runtime;
}
