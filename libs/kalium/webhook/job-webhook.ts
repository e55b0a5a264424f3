import { KaliumError } from '../errors/kalium-error.ts';
import { checkWebhookTarget } from './webhook-target.ts';
import type { WebhookSender } from './webhook-sender.ts';

/** The job events a webhook may ask for (`X-Webhook-Events`). */
export const JOB_WEBHOOK_EVENTS = ['started', 'progress', 'output', 'succeeded', 'failed', 'canceled'] as const;
export type JobWebhookEvent = (typeof JOB_WEBHOOK_EVENTS)[number];

/** Without `X-Webhook-Events`: the three endings. */
export const DEFAULT_JOB_WEBHOOK_EVENTS: readonly JobWebhookEvent[] = ['succeeded', 'failed', 'canceled'];

/** What a job keeps of its webhook request. */
export interface JobWebhookTarget {
  url: string;
  events: JobWebhookEvent[];
}

/** The `webhook` field of `GET /jobs/:id`. */
export interface JobWebhookField extends JobWebhookTarget {
  state: 'pending' | 'delivered' | 'failed';
  attempts: number;
  last_status: number | null;
}

/**
 * Reads `X-Webhook-Url` and `X-Webhook-Events` from a background request (lower-case header names).
 * Undefined when there is no webhook.
 *
 * @throws KaliumError 400 `webhook_url_invalid` / `webhook_url_forbidden` for a bad target,
 *   400 `webhook_events_invalid` for an unknown or empty event list, or events without a URL.
 */
export async function parseJobWebhook(headers: Record<string, string>, allowPrivate: boolean): Promise<JobWebhookTarget | undefined> {
  const url = headers['x-webhook-url']?.trim();
  const events = headers['x-webhook-events'];
  if (!url) {
    if (events !== undefined) throw invalidEvents('X-Webhook-Events needs an X-Webhook-Url to send them to.');
    return undefined;
  }
  await checkWebhookTarget(url, allowPrivate);
  return { url, events: events === undefined ? [...DEFAULT_JOB_WEBHOOK_EVENTS] : parseEvents(events) };
}

function parseEvents(header: string): JobWebhookEvent[] {
  const names = header.split(',').map((name) => name.trim().toLowerCase()).filter((name) => name !== '');
  if (names.length === 0) throw invalidEvents('X-Webhook-Events is empty.');
  const unknown = names.filter((name) => !(JOB_WEBHOOK_EVENTS as readonly string[]).includes(name));
  if (unknown.length > 0) {
    throw invalidEvents(`Unknown webhook events: ${unknown.join(', ')}. Known events: ${JOB_WEBHOOK_EVENTS.join(', ')}.`);
  }
  return [...new Set(names as JobWebhookEvent[])];
}

function invalidEvents(message: string): KaliumError {
  return new KaliumError('webhook_events_invalid', 400, message);
}

/** A stored target read back; undefined unless it has the expected shape. */
export function asJobWebhookTarget(value: unknown): JobWebhookTarget | undefined {
  const target = value as Partial<JobWebhookTarget> | null | undefined;
  if (typeof target?.url !== 'string' || !Array.isArray(target.events)) return undefined;
  return { url: target.url, events: target.events };
}

/** The job's `webhook` field: its target and how its deliveries stand; null for a job without a webhook. */
export async function jobWebhookField(sender: WebhookSender, jobId: string): Promise<JobWebhookField | null> {
  const status = await sender.jobStatus(jobId);
  const target = asJobWebhookTarget(status?.target);
  if (!status || !target) return null;
  return { ...target, state: status.state, attempts: status.attempts, last_status: status.lastStatus };
}

/**
 * Sends a job event to the job's webhook when it asked for that event. Ends are sent once per job and
 * event; `started` once per run; `progress` once per value per run, so a repeated report is one delivery.
 */
export async function sendJobEvent(
  sender: WebhookSender,
  target: JobWebhookTarget,
  event: JobWebhookEvent,
  payload: { id: string; attempts: number; progress: number; event: JobWebhookEvent } & Record<string, unknown>,
): Promise<string | undefined> {
  if (!target.events.includes(event)) return undefined;
  const occurrence =
    event === 'started'
      ? `${payload.attempts}`
      : event === 'progress'
        ? `${payload.attempts}:${payload.progress}`
        : event === 'output'
          ? `${payload.attempts}:${String(payload.output_index)}` // one delivery per throttle window (stream/output-webhook.ts)
          : '';
  return sender.sendJobEvent(payload.id, target, event, payload, occurrence);
}
