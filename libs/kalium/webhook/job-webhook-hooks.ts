import { onBackend } from '../queue/backend-call.ts';
import type { JobHooks } from '../queue/job-hooks.ts';
import { asJobWebhookTarget, jobWebhookField, parseJobWebhook, sendJobEvent } from './job-webhook.ts';
import type { WebhookHost } from './webhook-host.ts';
import type { WebhookSender } from './webhook-sender.ts';

/**
 * Per-job webhooks (SPEC §8), plugged into jobs: at submit, `X-Webhook-Url` / `X-Webhook-Events` are
 * checked (400 on a bad target or an unknown event) and kept with the job; `GET /jobs/:id` shows the
 * deliveries' state; each event the job asked for is delivered with the job's body plus `event`.
 * The api and the worker both use these hooks.
 */
export function jobWebhookHooks(host: WebhookHost & { readonly webhooks: WebhookSender }): JobHooks {
  const sender = host.webhooks;
  return {
    async accept(request, _route, jobId) {
      const target = await parseJobWebhook(request.headers, host.config.webhookAllowPrivate);
      if (!target) return undefined;
      // Shown by GET /jobs/:id while the job waits; each delivery writes it again (the job's copy rules).
      await onBackend(() => sender.describeJob(jobId, target));
      return { webhook: target };
    },
    webhook: (jobId) => jobWebhookField(sender, jobId),
    listens: (extra) => extra?.webhook !== undefined,
    async onEvent(event, job, extra) {
      const target = asJobWebhookTarget(extra?.webhook);
      if (!target?.events.includes(event)) return;
      await sendJobEvent(sender, target, event, { ...job, webhook: await jobWebhookField(sender, job.id), event });
    },
  };
}
