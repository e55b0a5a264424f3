import { createHash, randomUUID } from 'node:crypto';

/** Job ids are lower-case UUIDs: random (v4) for plain submits, derived (v8) from an Idempotency-Key. */
const JOB_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[48][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** Idempotency-Key values kalium accepts: 1 to 255 visible ASCII characters. */
const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

/** A fresh job id. */
export function newJobId(): string {
  return randomUUID();
}

/**
 * The job id an Idempotency-Key stands for: the same key always names the same job (per app), so
 * BullMQ's own "a job with this id exists" check makes a repeated submit find the first job, atomically.
 */
export function jobIdForKey(app: string, key: string): string {
  const hex = createHash('sha256').update(`${app}\0${key}`).digest('hex');
  const variant = ((parseInt(hex[16]!, 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** Whether `id` is shaped like a job id kalium hands out (checked before any Redis access). */
export function isJobId(id: string): boolean {
  return JOB_ID.test(id);
}

export function isIdempotencyKey(key: string): boolean {
  return IDEMPOTENCY_KEY.test(key);
}
