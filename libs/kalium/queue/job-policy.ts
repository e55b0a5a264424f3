import { KaliumError } from '../errors/kalium-error.ts';
import { DEFAULT_MAX_OUTPUT_BYTES } from '../stream/job-output.ts';

/** SPEC §14's priority levels; queued jobs run high before normal before low, FIFO within a level. */
export const PRIORITIES = ['high', 'normal', 'low'] as const;
export type Priority = (typeof PRIORITIES)[number];

/**
 * BullMQ's priority of each level (1 is taken first; within a priority BullMQ keeps insertion order).
 * Every job gets one, `normal` too: BullMQ takes unprioritized jobs before any prioritized one, so a
 * `normal` job without a priority would overtake every `high` one (see bench/README.md, priorities).
 */
export const BULLMQ_PRIORITY: Record<Priority, number> = { high: 1, normal: 2, low: 3 };

/** Longest `Cancel-After` accepted: a day (a job kept longer than RESULT_TTL would expire first anyway). */
const MAX_CANCEL_AFTER_MS = 24 * 3600 * 1000;

/** A background route's defaults for the policies of its jobs (SPEC §14). */
export interface RoutePolicy {
  /** A job still queued this long after it was accepted ends `canceled` (`deadline_exceeded`) unrun. */
  maxQueueMs: number | undefined;
  /** The default of `Cancel-After`: a job not finished this long after it was accepted is canceled. */
  deadlineMs: number | undefined;
  /** The cap on a streaming job's kept output (bytes of chunk JSON); past it the job fails. */
  maxOutputBytes: number;
}

/** What a job carries of its policies (in its JobData), as absolute times (ms since the epoch). */
export interface JobPolicy {
  priority: Priority;
  /** Canceled with `deadline_exceeded` when not finished by then (Cancel-After or the route's deadlineMs). */
  deadlineAt?: number;
  /** Canceled with `deadline_exceeded` when not started by then (the route's maxQueueMs). */
  startBy?: number;
  /** How the deadline was set, for the error's message. */
  deadlineMs?: number;
  maxQueueMs?: number;
}

/** The route options of policies, validated; throws naming the option (at registration, not at run). */
export function routePolicy(
  path: string,
  options: { maxQueueMs?: number; deadlineMs?: number; maxOutputBytes?: number; batch?: unknown },
  fn: (...args: never[]) => unknown,
): RoutePolicy {
  const positive = (name: string, value: number | undefined): number | undefined => {
    if (value === undefined) return undefined;
    if (!Number.isInteger(value) || value < 1) throw new Error(`Route ${path}: ${name} must be a positive integer (ms or bytes), got ${String(value)}`);
    return value;
  };
  // A batch handler answers with one array for all its jobs: there is no one job to stream to.
  if (options.batch !== undefined && fn.constructor.name === 'AsyncGeneratorFunction') {
    throw new Error(`Route ${path}: a batch handler cannot be an async generator (streamed output is per job; drop batch to stream)`);
  }
  return {
    maxQueueMs: positive('maxQueueMs', options.maxQueueMs),
    deadlineMs: atMostADay(path, positive('deadlineMs', options.deadlineMs)),
    maxOutputBytes: positive('maxOutputBytes', options.maxOutputBytes) ?? DEFAULT_MAX_OUTPUT_BYTES,
  };
}

/** A route's deadlineMs, like Cancel-After, is at most a day (the worker keeps it with a timer). */
function atMostADay(path: string, ms: number | undefined): number | undefined {
  if (ms !== undefined && ms > MAX_CANCEL_AFTER_MS) throw new Error(`Route ${path}: deadlineMs must be at most a day (${MAX_CANCEL_AFTER_MS} ms), got ${ms}`);
  return ms;
}

/**
 * A background request's policies from its `Cancel-After` and `X-Priority` headers and the route's
 * defaults, measured from `acceptedAt`.
 * @throws KaliumError 400 `invalid_header` naming the header, before anything is queued.
 */
export function jobPolicy(headers: Record<string, string | string[] | undefined>, route: RoutePolicy | undefined, acceptedAt = Date.now()): JobPolicy {
  const policy: JobPolicy = { priority: parsePriority(one(headers, 'x-priority', 'X-Priority')) };
  const cancelAfter = one(headers, 'cancel-after', 'Cancel-After');
  const deadlineMs = cancelAfter === undefined ? route?.deadlineMs : parseCancelAfter(cancelAfter);
  if (deadlineMs !== undefined) Object.assign(policy, { deadlineAt: acceptedAt + deadlineMs, deadlineMs });
  if (route?.maxQueueMs !== undefined) Object.assign(policy, { startBy: acceptedAt + route.maxQueueMs, maxQueueMs: route.maxQueueMs });
  return policy;
}

/** `30s`, `5m`, `1h` (and `500ms`): a positive whole number and a unit, at most a day. */
export function parseCancelAfter(value: string): number {
  const match = /^\s*(\d{1,9})(ms|s|m|h)\s*$/.exec(value);
  const ms = match ? Number(match[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[match[2] as 'ms' | 's' | 'm' | 'h'] : NaN;
  if (!(ms >= 1 && ms <= MAX_CANCEL_AFTER_MS)) {
    throw invalidHeader('Cancel-After', `must be a duration such as 30s, 5m or 1h (a positive whole number and ms, s, m or h; at most 24h), got ${JSON.stringify(value)}`);
  }
  return ms;
}

function parsePriority(value: string | undefined): Priority {
  if (value === undefined) return 'normal';
  const level = value.trim().toLowerCase();
  if (!(PRIORITIES as readonly string[]).includes(level)) throw invalidHeader('X-Priority', `must be high, normal or low, got ${JSON.stringify(value)}`);
  return level as Priority;
}

function one(headers: Record<string, string | string[] | undefined>, key: string, name: string): string | undefined {
  const value = headers[key];
  if (Array.isArray(value)) throw invalidHeader(name, 'must be sent once');
  return value === undefined || value === '' ? undefined : value;
}

function invalidHeader(name: string, message: string): KaliumError {
  return new KaliumError('invalid_header', 400, `${name} ${message}.`, { details: { header: name } });
}
