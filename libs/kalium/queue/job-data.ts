import { createHash } from 'node:crypto';
import type { JobsOptions } from 'bullmq';
import type { RequestData } from '../app/request.ts';
import type { BackgroundRoute } from '../app/routes.ts';
import { BULLMQ_PRIORITY, type JobPolicy } from './job-policy.ts';

/** What a job carries through Redis, from the api that accepted it to the worker that runs it. */
export interface JobData {
  /** The background route's path; also the BullMQ job name. */
  route: string;
  request: RequestData;
  /** With an Idempotency-Key: tells a reuse of the key with another body apart from a retry. */
  bodyHash?: string;
  /** With an Idempotency-Key: tells the submit that created the job from one that found it there. */
  nonce?: string;
  /** What job hooks kept at submit (e.g. a webhook target). */
  extra?: Record<string, unknown>;
  /** Its priority and deadlines (SPEC §14; absent in jobs queued before them: normal, none). */
  policy?: JobPolicy;
}

/**
 * Finished jobs kept at most, on top of the RESULT_TTL age limit: a backstop for bursts far above
 * what the TTL was sized for (BullMQ evicts by age only when later jobs finish).
 */
export const FINISHED_JOBS_CAP = 100_000;

/** Length BullMQ trims its per-queue events stream to (nothing in kalium reads it; bull-board may). */
export const EVENTS_MAX_LEN = 1000;

export function bodyHash(route: string, body: Buffer): string {
  return createHash('sha256').update(route).update('\n').update(body).digest('hex');
}

/** BullMQ options for one job of `route`: attempts and backoff from the route, expiry from RESULT_TTL. */
export function jobOptions(route: BackgroundRoute, jobId: string, resultTtlSeconds: number, policy?: JobPolicy): JobsOptions {
  const keep = { age: resultTtlSeconds, count: FINISHED_JOBS_CAP };
  return {
    jobId,
    priority: BULLMQ_PRIORITY[policy?.priority ?? 'normal'],
    attempts: route.attempts,
    backoff: { type: route.backoff.type, delay: route.backoff.delayMs },
    removeOnComplete: keep,
    removeOnFail: keep,
    // Failures keep their message only: stacks can carry paths and secrets, and nothing shows them.
    stackTraceLimit: 0,
  };
}
