import type { SendWebhookOptions, WebhookAttemptResult, WebhookSender } from './webhook-sender.ts';

/** The senders of the runtimes open in this process; the latest one serves `sendWebhook`. */
const senders: WebhookSender[] = [];

/** @internal A runtime makes its sender the process's own when it starts. */
export function registerWebhookSender(sender: WebhookSender): void {
  senders.push(sender);
}

/** @internal And gives it up when it closes. */
export function unregisterWebhookSender(sender: WebhookSender): void {
  const index = senders.lastIndexOf(sender);
  if (index >= 0) senders.splice(index, 1);
}

/**
 * Sends `json` to `url` as a durable, signed, retried webhook (potassium's `send_webhook`, made durable).
 * The delivery is in Redis when the promise resolves; a webhook worker (run by `kalium worker`) makes
 * the attempts, retrying with backoff per the schedule in `options` (defaults from `WEBHOOK_*` config).
 * Every attempt carries the same `webhook-id`, so receivers can de-duplicate.
 *
 * Resolves to the delivery's id; with `{ wait: true }`, to the outcome of the first attempt.
 *
 * @throws KaliumError 400 `webhook_url_invalid` or `webhook_url_forbidden` for a bad target,
 *   503 `backend_unavailable` when Redis is down; Error when called outside a running kalium process.
 */
export function sendWebhook(url: string, json: unknown, options: SendWebhookOptions & { wait: true }): Promise<WebhookAttemptResult>;
export function sendWebhook(url: string, json: unknown, options?: SendWebhookOptions & { wait?: false }): Promise<string>;
export function sendWebhook(url: string, json: unknown, options: SendWebhookOptions = {}): Promise<string | WebhookAttemptResult> {
  const sender = senders.at(-1);
  if (!sender) {
    return Promise.reject(
      new Error(
        'sendWebhook needs a running kalium process (kalium api, worker or dev): it enqueues the delivery in ' +
          "the app's Redis. Call it from a handler, a background handler or init, not at module load.",
      ),
    );
  }
  return options.wait ? sender.sendAndWait(url, json, options) : sender.send(url, json, options);
}
