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
  /** A `sendWebhook` delivery's state: a hash (attempts, last_status, last_error, d:<delivery id>). */
  webhookDelivery(id: string): string;
  /** The state of a job's webhook deliveries: the same hash shape, one d:<delivery id> per event sent. */
  jobWebhook(jobId: string): string;
  /** Pub/sub channel on which the outcome of every webhook attempt is announced. */
  webhookAttempted: string;
  /** The BullMQ queue name of the app's background jobs (BullMQ builds its keys as `<prefix>:jobs:…`). */
  readonly jobQueue: string;
  /** A canceled job's marker: a string (JSON) holding when it was canceled and what the job was. */
  jobCanceled(jobId: string): string;
  /**
   * Pub/sub channel telling api processes that a job progressed or changed state (messages: JSON
   * notices). One per job: only the api processes watching that job (long-polls, event streams)
   * subscribe, and only while they watch, so a job nobody waits on wakes no api process.
   */
  jobNotices(jobId: string): string;
  /** Pub/sub channel telling workers to abort a running job (messages: job ids). */
  readonly jobCancels: string;
  /**
   * A streaming job's output (SPEC §14): a Redis stream, one entry per chunk of its latest run, entry id
   * `<attempt>-<index + 1>` (a reader resumes after the last id it saw), expiring with the job (RESULT_TTL).
   */
  jobOutput(jobId: string): string;
  /** The jobs canceled within RESULT_TTL: a sorted set of job ids scored by when (ms), for the counts. */
  readonly canceledJobs: string;
  /** Set (NX) by whichever process announces a job's cancel to the hooks, so it is announced once. */
  jobCancelAnnounced(jobId: string): string;
  /** The response cache of the app's handler routes. */
  readonly routeCache: CacheKeys;
  /** `app.cache`, the cache that handlers use directly. */
  readonly appCache: CacheKeys;
}

/** The keys of one cache namespace (SPEC §7). */
export interface CacheKeys {
  /** An entry's value: a string with a TTL. */
  value(key: string): string;
  /** An entry's compute lock: a string holding the computer's token, with a TTL it renews. */
  lock(key: string): string;
  /** Pub/sub channel on which fills and lock releases are announced; the message is the value key. */
  readonly filled: string;
}

export function cacheKeys(prefix: string): CacheKeys {
  return {
    value: (key) => `${prefix}v:${key}`,
    lock: (key) => `${prefix}l:${key}`,
    filled: `${prefix}filled`,
  };
}

/** The name of a route's cache entry within `routeCache`: route, method and a digest of the request. */
export function routeCacheEntry(path: string, method: string, digest: string): string {
  return `${path}:${method}:${digest}`;
}

export function appKeys(app: string): AppKeys {
  const prefix = `{kalium:${app}}`;
  return {
    prefix,
    lease: (device) => `${prefix}:gpu:${device}`,
    store: (key) => `${prefix}:store:${key}`,
    leaseReleased: (device) => `${prefix}:gpu:${device}:released`,
    webhookDelivery: (id) => `${prefix}:webhook:delivery:${id}`,
    jobWebhook: (jobId) => `${prefix}:webhook:job:${jobId}`,
    webhookAttempted: `${prefix}:webhook:attempted`,
    jobQueue: 'jobs',
    jobCanceled: (jobId) => `${prefix}:canceled:${jobId}`,
    jobNotices: (jobId) => `${prefix}:job-notices:${jobId}`,
    jobCancels: `${prefix}:job-cancels`,
    jobOutput: (jobId) => `${prefix}:output:${jobId}`,
    canceledJobs: `${prefix}:canceled-jobs`,
    jobCancelAnnounced: (jobId) => `${prefix}:canceled:${jobId}:announced`,
    routeCache: cacheKeys(`${prefix}:cache:route:`),
    appCache: cacheKeys(`${prefix}:cache:app:`),
  };
}

/**
 * The fields kalium adds to a BullMQ job's hash (BullMQ keeps and removes them with the job, and
 * ignores them), and `stc`, BullMQ's own, which kalium reads.
 */
export const JOB_FIELDS = {
  /**
   * Set while a take of the job waits before its handler starts (a re-take's check, the GPU lease, a
   * hook): a stall found with it set was a worker dying before the handler started.
   */
  waiting: 'kalium:waiting',
  /** Of BullMQ's stalls of the job (`stc`), those forgiven: workers lost before the handler started. */
  forgiven: 'kalium:forgiven',
  /** BullMQ's count of the job's stalls: its worker stopped renewing the lock (it died, or froze). */
  stalls: 'stc',
  /** The error code of a job kalium failed itself (`worker_lost`). */
  errorCode: 'kalium:code',
  /** Set by a cancel (job-cancel.lua), so a worker taking the job learns of it in the reply that hands it over. */
  canceled: 'kalium:canceled',
} as const;
