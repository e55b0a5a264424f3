import type { Request } from '../app/request.ts';
import type { BackgroundRoute } from '../app/routes.ts';
import type { JobBody } from './job-body.ts';

/** The moments of a job's life that hooks hear about. */
export type JobEvent = 'started' | 'progress' | 'output' | 'succeeded' | 'failed' | 'canceled';

/**
 * Where other parts of kalium (webhooks) plug into jobs. Passed to the api part and to the worker;
 * every hook is optional, and a hook that throws is logged, never fails the job.
 */
export interface JobHooks {
  /**
   * At submit, before the job is queued (as `jobId`): returns what to keep with the job (e.g. the
   * webhook target from `X-Webhook-Url`), or throws a KaliumError (4xx) to refuse the request.
   */
  accept?(
    request: Request,
    route: BackgroundRoute,
    jobId: string,
  ): Record<string, unknown> | undefined | Promise<Record<string, unknown> | undefined>;
  /** The `webhook` field of a job's body; null when the job has none. */
  webhook?(jobId: string): Promise<unknown>;
  /**
   * A job started, progressed or ended. Called by the worker, and by the api for a job canceled while
   * queued. `extra` is what `accept` kept.
   */
  onEvent?(event: JobEvent, job: JobBody, extra: Record<string, unknown> | undefined): void | Promise<void>;
  /**
   * Whether `onEvent` has anything to do for a job with this `extra` (default: yes). Lets the worker
   * skip building a job's body for every event of every job when only a few jobs asked for hooks.
   */
  listens?(extra: Record<string, unknown> | undefined): boolean;
}

/** Whether any hook has something to do for a job with this `extra` (see JobHooks.listens). */
export function anyListens(hooks: readonly JobHooks[], extra: Record<string, unknown> | undefined): boolean {
  return hooks.some((hook) => hook.onEvent && hook.listens?.(extra) !== false);
}

/** Calls every hook's `onEvent`; a hook that throws is logged and the others still run. */
export async function announce(
  hooks: readonly JobHooks[],
  logger: { warn: (object: object, message: string) => void },
  event: JobEvent,
  body: JobBody | (() => JobBody),
  extra: Record<string, unknown> | undefined,
): Promise<void> {
  let job: JobBody | undefined;
  for (const hook of hooks) {
    if (!hook.onEvent || hook.listens?.(extra) === false) continue;
    job ??= typeof body === 'function' ? body() : body;
    try {
      await hook.onEvent(event, job, extra);
    } catch (error) {
      logger.warn({ err: error, jobId: job.id, event }, 'a job hook failed');
    }
  }
}
