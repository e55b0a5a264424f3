import { LazyAbortController } from '../app/lazy-abort.ts';
import type { RedisClient } from '../redis/connection.ts';
import type { Logger } from '../log/logger.ts';
import type { JobRecords } from './job-records.ts';

/** Clocks of api and worker hosts may differ this much; jobs created closer to a (re)subscription are checked in Redis. */
const CLOCK_MARGIN_MS = 2000;
/** How long, and how many, cancels heard are remembered for jobs not running yet. */
const HEARD_TTL_MS = 10 * 60_000;
const HEARD_MAX = 10_000;

/** The reason `job.signal` carries when the job was canceled. */
export class JobCanceledError extends Error {
  constructor(id: string) {
    super(`Job ${id} was canceled.`);
    this.name = 'AbortError';
  }
}

/**
 * The jobs this worker process runs now, each with the (lazy) AbortController behind its `job.signal`, and
 * the cancels heard lately. A DELETE in any api process reaches the worker over pub/sub; after a
 * reconnect (cancels may have been missed meanwhile) the cancel markers of the running jobs are read
 * again, and jobs created before the subscription was back are checked in Redis before they start.
 */
export class RunningJobs {
  readonly #running = new Map<string, LazyAbortController>();
  readonly #heard = new Map<string, number>();
  readonly #subscriber: RedisClient;
  readonly #records: JobRecords;
  readonly #logger: Logger;
  /** Since when every cancel published has reached this process; undefined while not subscribed. */
  #listeningSince: number | undefined;

  constructor(subscriber: RedisClient, channel: string, records: JobRecords, logger: Logger) {
    this.#subscriber = subscriber;
    this.#records = records;
    this.#logger = logger;
    subscriber.on('message', (_channel: string, id: string) => this.#heardCancel(id));
    subscriber.on('close', () => (this.#listeningSince = undefined));
    let subscribedBefore = false;
    const subscribe = () => {
      subscriber.subscribe(channel).then(
        () => {
          this.#listeningSince = Date.now();
          if (subscribedBefore) void this.#recheck();
          subscribedBefore = true;
        },
        (error: unknown) => logger.warn({ err: error }, 'could not subscribe to job cancels; will retry on reconnect'),
      );
    };
    subscriber.on('ready', subscribe);
    if (subscriber.status === 'ready') subscribe();
  }

  /** Registers a job as running (before its cancel is looked for, so no cancel falls between). */
  start(id: string): LazyAbortController {
    const controller = new LazyAbortController();
    this.#running.set(id, controller);
    if (this.#heard.has(id)) controller.abort(new JobCanceledError(id));
    return controller;
  }

  /**
   * Whether every cancel of a job created at `createdAt` has reached this process, so that a cancel
   * marker need not be read from Redis: subscribed since before the job existed.
   */
  hearsAllCancelsOf(createdAt: number): boolean {
    return this.#listeningSince !== undefined && createdAt - CLOCK_MARGIN_MS >= this.#listeningSince;
  }

  end(id: string): void {
    this.#running.delete(id);
  }

  close(): void {
    this.#subscriber.disconnect();
  }

  #heardCancel(id: string): void {
    const now = Date.now();
    this.#heard.set(id, now);
    if (this.#heard.size > HEARD_MAX) {
      for (const [old, at] of this.#heard) if (now - at > HEARD_TTL_MS || this.#heard.size > HEARD_MAX) this.#heard.delete(old);
    }
    const controller = this.#running.get(id);
    if (!controller || controller.aborted) return;
    this.#logger.info({ jobId: id }, 'job canceled while running');
    controller.abort(new JobCanceledError(id));
  }

  async #recheck(): Promise<void> {
    try {
      for (const id of await this.#records.canceled([...this.#running.keys()])) this.#heardCancel(id);
    } catch (error) {
      this.#logger.warn({ err: error }, 'could not re-read cancels after a reconnect');
    }
  }
}
