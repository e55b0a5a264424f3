import { LazyAbortController } from '../app/lazy-abort.ts';
import type { RedisClient } from '../redis/connection.ts';
import type { Logger } from '../log/logger.ts';
import type { JobRecords } from './job-records.ts';

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
 * the cancels heard lately (a cancel may arrive between a job's take and its start). A DELETE in any api
 * process reaches the worker over pub/sub; at each (re)subscription (cancels may have been missed
 * meanwhile) the cancel markers of the running jobs are read again. A cancel committed before a job
 * was taken needs none of this: it comes with the job (see checkBeforeRun).
 */
export class RunningJobs {
  readonly #running = new Map<string, LazyAbortController>();
  readonly #heard = new Map<string, number>();
  readonly #subscriber: RedisClient;
  readonly #records: JobRecords;
  readonly #logger: Logger;

  constructor(subscriber: RedisClient, channel: string, records: JobRecords, logger: Logger) {
    this.#subscriber = subscriber;
    this.#records = records;
    this.#logger = logger;
    subscriber.on('message', (_channel: string, id: string) => this.#heardCancel(id));
    const subscribe = () => {
      subscriber.subscribe(channel).then(
        () => void this.#recheck(),
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
    if (this.#running.size === 0) return;
    try {
      for (const id of await this.#records.canceled([...this.#running.keys()])) this.#heardCancel(id);
    } catch (error) {
      this.#logger.warn({ err: error }, 'could not re-read cancels after a reconnect');
    }
  }
}
