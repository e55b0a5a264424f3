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
  };
}
