/**
 * Every Redis key kalium writes is built here. All of an app's keys share one hash tag,
 * `{kalium:<app>}`, so they land in one Redis Cluster slot and multi-key scripts stay legal.
 */
export interface AppKeys {
  /** The hash-tagged prefix; also BullMQ's `prefix` for the app's queues. */
  readonly prefix: string;
  /** The GPU lease of a device: a string holding the holder's token. */
  lease(device: string): string;
  /** A `Store` entry of the app's store. */
  store(key: string): string;
  /** Pub/sub channel on which lease releases are announced, so waiters need not poll hard. */
  leaseReleased(device: string): string;
  /** The BullMQ queue name of the app's background jobs (BullMQ builds its keys as `<prefix>:jobs:…`). */
  readonly jobQueue: string;
  /** A canceled job's marker: a string (JSON) holding when it was canceled and what the job was. */
  jobCanceled(jobId: string): string;
  /** Pub/sub channel telling api processes a job progressed or changed state (messages: JSON notices). */
  readonly jobNotices: string;
  /** Pub/sub channel telling workers to abort a running job (messages: job ids). */
  readonly jobCancels: string;
}

export function appKeys(app: string): AppKeys {
  const prefix = `{kalium:${app}}`;
  return {
    prefix,
    lease: (device) => `${prefix}:gpu:${device}`,
    store: (key) => `${prefix}:store:${key}`,
    leaseReleased: (device) => `${prefix}:gpu:${device}:released`,
    jobQueue: 'jobs',
    jobCanceled: (jobId) => `${prefix}:canceled:${jobId}`,
    jobNotices: `${prefix}:job-notices`,
    jobCancels: `${prefix}:job-cancels`,
  };
}
