import type { RedisClient } from '../redis/connection.ts';
import { decodeNotice, type JobNotice } from './job-notices.ts';

/** A notice about the watched job, or undefined: "notices may have been lost (reconnect): re-read". */
type Pending = JobNotice | undefined;

/** Notices a slow reader may have pending at most; the oldest progress ones go first. */
const MAX_PENDING = 64;

/**
 * The notices about one job since its watcher started; wait for `ready`, read the job, then `wait()`
 * and `drain()`.
 */
export class JobSubscription {
  /** Resolves once Redis has confirmed the job's channel: notices published from then on arrive. */
  readonly ready: Promise<void>;
  #pending: Pending[] = [];
  #wake: (() => void) | undefined;
  readonly #stop: () => void;

  constructor(ready: Promise<void>, stop: () => void) {
    this.ready = ready;
    this.#stop = stop;
  }

  /** @internal */
  push(notice: Pending): void {
    if (this.#pending.length >= MAX_PENDING) this.#pending.shift();
    this.#pending.push(notice);
    this.#wake?.();
  }

  /** Resolves true once a notice is pending, false after `ms` or when `signal` aborts. */
  wait(ms: number, signal?: AbortSignal): Promise<boolean> {
    if (this.#pending.length > 0) return Promise.resolve(true);
    if (signal?.aborted) return Promise.resolve(false);
    return new Promise((resolve) => {
      const done = (woken: boolean) => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', aborted);
        this.#wake = undefined;
        resolve(woken);
      };
      const aborted = () => done(false);
      const timer = setTimeout(() => done(false), Math.max(0, ms));
      signal?.addEventListener('abort', aborted, { once: true });
      this.#wake = () => done(true);
    });
  }

  /** Takes the pending notices. */
  drain(): Pending[] {
    const pending = this.#pending;
    this.#pending = [];
    return pending;
  }

  close(): void {
    this.#wake?.();
    this.#stop();
  }
}

/** The watchers of one job in this process, and its channel's subscription. */
interface Watched {
  readonly subscriptions: Set<JobSubscription>;
  readonly subscribed: Promise<void>;
}

/**
 * The api process's subscriptions to job notices, fanned out to the requests watching a job (long-polls,
 * event streams). Each job has its own channel, subscribed while someone here watches the job: a job
 * nobody waits on wakes no api process, however many replicas run. A request waits for its channel's
 * subscription before it re-reads the job's state, so a change after that read always reaches it; after
 * a reconnect (ioredis subscribes again) every watcher gets a "re-read" entry, since notices published
 * meanwhile are gone.
 */
export class JobWatcher {
  /** By channel. */
  readonly #watched = new Map<string, Watched>();
  readonly #subscriber: RedisClient;
  readonly #channel: (id: string) => string;
  #closed = false;

  constructor(subscriber: RedisClient, channel: (id: string) => string) {
    this.#subscriber = subscriber;
    this.#channel = channel;
    subscriber.on('message', (channel: string, message: string) => {
      const watched = this.#watched.get(channel);
      const notice = watched && decodeNotice(message);
      if (notice) this.#push(watched, notice);
    });
    let connectedBefore = false;
    subscriber.on('ready', () => {
      if (connectedBefore) for (const watched of [...this.#watched.values()]) this.#push(watched, undefined);
      connectedBefore = true;
    });
  }

  /** Starts collecting notices about one job (wait for its `ready`). Close the subscription when done. */
  subscribe(id: string): JobSubscription {
    const channel = this.#channel(id);
    let watched = this.#watched.get(channel);
    if (!watched) {
      const subscribed = this.#closed ? Promise.resolve() : this.#subscriber.subscribe(channel).then(() => undefined);
      subscribed.catch(() => undefined); // the waiting request answers 503; the next watcher subscribes again
      watched = { subscriptions: new Set(), subscribed };
      this.#watched.set(channel, watched);
    }
    const entry = watched;
    const subscription = new JobSubscription(entry.subscribed, () => {
      entry.subscriptions.delete(subscription);
      if (entry.subscriptions.size > 0 || this.#watched.get(channel) !== entry) return;
      this.#watched.delete(channel);
      if (!this.#closed) this.#subscriber.unsubscribe(channel).catch(() => undefined);
    });
    entry.subscriptions.add(subscription);
    if (this.#closed) subscription.push(undefined);
    return subscription;
  }

  /** Wakes every subscription (they answer with what they have) and stops listening. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const watched of [...this.#watched.values()]) this.#push(watched, undefined);
    this.#subscriber.disconnect();
  }

  #push(watched: Watched, notice: Pending): void {
    for (const subscription of [...watched.subscriptions]) subscription.push(notice);
  }
}
