import { UnrecoverableError, Worker, type Job, type MinimalJob } from 'bullmq';
import { connectionErrorLog } from '../log/connection-errors.ts';
import { attemptDelivery, createDeliveryAgents, type AttemptOutcome, type DeliveryAgents } from './delivery-attempt.ts';
import { deliveryRetryDelay } from './delivery-schedule.ts';
import { DeliveryTracker, type DeliveryState } from './delivery-tracker.ts';
import { WebhookSigner, webhookHeaders } from './signature.ts';
import { trackerTtlSeconds, WEBHOOK_BACKOFF, WEBHOOK_QUEUE, type DeliveryData, type WebhookHost } from './webhook-host.ts';

/** A failed attempt worth retrying; carries the receiver's `Retry-After` to the backoff strategy. */
class RetryLater extends Error {
  readonly retryAfterMs: number | undefined;
  constructor(message: string, retryAfterMs: number | undefined) {
    super(message);
    this.name = 'RetryLater';
    this.retryAfterMs = retryAfterMs;
  }
}

export interface WebhookWorker {
  /** Stops taking deliveries and lets the attempts under way finish. Idempotent. */
  close(): Promise<void>;
}

/**
 * Starts delivering webhooks: a BullMQ worker of its own on the app's `webhooks` queue, with its own
 * concurrency (`WEBHOOK_CONCURRENCY`), so deliveries never take the GPU worker's single slot and a slow
 * receiver never delays a model call. `kalium worker` runs it; any process with a runtime may.
 * Closes with the runtime.
 */
export function startWebhookWorker(host: WebhookHost): WebhookWorker {
  const agents = createDeliveryAgents();
  const signer = host.config.webhookSecret ? new WebhookSigner(host.config.webhookSecret) : undefined;
  const tracker = new DeliveryTracker(host.redis, host.keys, trackerTtlSeconds(host.config));
  const worker = new Worker<DeliveryData>(
    WEBHOOK_QUEUE,
    (job) => deliver(job, { host, agents, signer, tracker }),
    {
      connection: host.connection('blocking'),
      prefix: host.keys.prefix,
      concurrency: host.config.webhookConcurrency,
      // An attempt cut short by a crash is not the receiver's fault: allow a few before giving up.
      maxStalledCount: 5,
      settings: {
        backoffStrategy: (attemptsMade: number, _type?: string, error?: Error, job?: MinimalJob) =>
          deliveryRetryDelay((job as MinimalJob<DeliveryData>).data.schedule, attemptsMade, (error as RetryLater | undefined)?.retryAfterMs),
      },
    },
  );
  worker.on('error', connectionErrorLog(host.logger, 'webhook worker error (retrying)'));
  host.logger.info({ concurrency: host.config.webhookConcurrency }, 'webhook worker started');

  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      await worker.close();
      agents.http.destroy();
      agents.https.destroy();
    })();
    return closing;
  };
  host.onClose('webhook worker', close);
  return { close };
}

interface DeliverParts {
  host: WebhookHost;
  agents: DeliveryAgents;
  signer: WebhookSigner | undefined;
  tracker: DeliveryTracker;
}

/** One attempt of one delivery: POST, record, and tell BullMQ whether to retry. */
async function deliver(job: Job<DeliveryData>, parts: DeliverParts): Promise<{ status: number }> {
  const { host, agents, signer, tracker } = parts;
  const data = job.data;
  const id = job.id!;
  const attempt = job.attemptsMade + 1;
  const outcome = await attemptDelivery({
    url: data.url,
    body: data.body,
    headers: webhookHeaders(id, data.body, signer),
    timeoutMs: data.schedule.timeoutMs,
    allowPrivate: host.config.webhookAllowPrivate,
    agents,
  });
  const last = outcome.kind !== 'retry' || attempt >= (job.opts.attempts ?? 1);
  const state: DeliveryState = outcome.kind === 'delivered' ? 'delivered' : last ? 'failed' : 'pending';
  const error = outcome.kind === 'delivered' ? null : outcome.error;
  await tracker.attempted(data.owner, { id, attempt, state, status: outcome.status, error });
  report(host, job, attempt, outcome, state);

  if (outcome.kind === 'delivered') return { status: outcome.status };
  if (outcome.kind === 'retry') throw new RetryLater(outcome.error, outcome.retryAfterMs);
  throw new UnrecoverableError(outcome.error);
}

function report(host: WebhookHost, job: Job<DeliveryData>, attempt: number, outcome: AttemptOutcome, state: DeliveryState): void {
  const metricOutcome = outcome.kind === 'retry' ? (state === 'failed' ? 'failed' : 'retry') : outcome.kind;
  host.metrics.webhookDeliveries.inc({ outcome: metricOutcome });
  const url = new URL(job.data.url);
  // The query string may carry a receiver's token: log the origin and path only.
  const fields = {
    webhookId: job.id,
    target: `${url.origin}${url.pathname}`,
    event: job.data.event,
    attempt,
    status: outcome.status,
    outcome: metricOutcome,
    error: outcome.kind === 'delivered' ? undefined : outcome.error,
  };
  if (metricOutcome === 'delivered') host.logger.info(fields, 'webhook delivered');
  else host.logger.warn(fields, 'webhook attempt failed');
}
