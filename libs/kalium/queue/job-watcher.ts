import type { Redis } from 'ioredis';
import type { Logger } from '../log/logger.ts';
import { decodeNotice, type JobNotice } from './job-notices.ts';

/** A notice about the watched job, or undefined: "notices may have been lost (reconnect): re-read". */
type Pending = JobNotice | undefined;

/** Notices a slow reader may have pending at most; the oldest progress ones go first. */
const MAX_PENDING = 64;

/** The notices about one job since its watcher started; read them with `wait()` then `drain()`. */
export class JobSubscription {
  #pending: Pending[] = [];
  #wake: (() => void) | undefined;
  readonly #stop: () => void;

  constructor(stop: () => void) {
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

/**
 * One pub/sub subscription per api process to the app's job notices, fanned out to the requests
 * watching a job (long-polls, event streams). A request subscribes before it re-reads the job's state,
 * so a change after that read always reaches it; after a reconnect every subscription gets an
 * "re-read" entry, since notices published meanwhile are gone.
 */
export class JobWatcher {
  readonly #subscriptions = new Map<string, Set<JobSubscription>>();
  readonly #subscriber: Redis;
  readonly #subscribed: Promise<void>;
  #closed = false;

  constructor(subscriber: Redis, channel: string, logger: Logger) {
    this.#subscriber = subscriber;
    subscriber.on('message', (_channel: string, message: string) => {
      const notice = decodeNotice(message);
      if (notice) this.#push(notice.id, notice);
    });
    let connectedBefore = false;
    subscriber.on('ready', () => {
      if (connectedBefore) for (const id of [...this.#subscriptions.keys()]) this.#push(id, undefined);
      connectedBefore = true;
    });
    this.#subscribed = subscriber.subscribe(channel).then(() => undefined);
    this.#subscribed.catch((error: unknown) => logger.warn({ err: error }, 'could not subscribe to job notices; will retry on reconnect'));
  }

  /** Resolves once the subscription is in place (callers bound the wait). */
  ready(): Promise<void> {
    return this.#subscribed;
  }

  /** Starts collecting notices about one job. Close the subscription when done. */
  subscribe(id: string): JobSubscription {
    let set = this.#subscriptions.get(id);
    if (!set) this.#subscriptions.set(id, (set = new Set()));
    const subscriptions = set;
    const subscription = new JobSubscription(() => {
      subscriptions.delete(subscription);
      if (subscriptions.size === 0 && this.#subscriptions.get(id) === subscriptions) this.#subscriptions.delete(id);
    });
    subscriptions.add(subscription);
    if (this.#closed) subscription.push(undefined);
    return subscription;
  }

  /** Wakes every subscription (they answer with what they have) and stops listening. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const id of [...this.#subscriptions.keys()]) this.#push(id, undefined);
    this.#subscriber.disconnect();
  }

  #push(id: string, notice: Pending): void {
    for (const subscription of [...(this.#subscriptions.get(id) ?? [])]) subscription.push(notice);
  }
}
