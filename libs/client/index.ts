/**
 * kalium/client: call a kalium api from Node 20+ (built-in fetch) and receive its webhooks.
 * No server code: safe to use in any service.
 * @packageDocumentation
 */
export { KaliumClient, type KaliumClientOptions, type CallOptions, type SubmitOptions, type WaitOptions } from './kalium-client.ts';
export { KaliumClientError, type KaliumClientErrorDetails } from './client-error.ts';
export { verifyWebhook, type WebhookHeaders } from './verify-webhook.ts';
export { webhookReceiver, type ReceivedWebhook, type WebhookReceiverOptions } from './webhook-receiver.ts';
export { SseParser, type ServerSentEvent } from './sse-parser.ts';
export { isFinished, type JobBody, type JobEvent, type JobStatus, type JobWebhook, type JobWebhookEvent, type SubmitResult } from './job-types.ts';
