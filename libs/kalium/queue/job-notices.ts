/**
 * What the worker (and a DELETE) tells api processes about a job over pub/sub: progress with its value,
 * or "changed" (it started, ended, or was retried: re-read it). Notices are hints; the state in Redis
 * is the truth, so a lost notice costs latency, never correctness.
 */
export type JobNotice =
  | { id: string; type: 'progress'; progress: number }
  | { id: string; type: 'changed' }
  /** A streaming job wrote output chunk `index` (see stream/job-output.ts). */
  | { id: string; type: 'output'; index: number };

export function encodeNotice(notice: JobNotice): string {
  return JSON.stringify(notice);
}

export function decodeNotice(message: string): JobNotice | undefined {
  try {
    const notice = JSON.parse(message) as JobNotice;
    return typeof notice?.id === 'string' && (notice.type === 'changed' || notice.type === 'progress' || notice.type === 'output') ? notice : undefined;
  } catch {
    return undefined;
  }
}
