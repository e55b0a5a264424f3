import type { Redis } from 'ioredis';
import type { Logger } from '../log/logger.ts';
import type { JobRecords } from './job-records.ts';

/** The reason `job.signal` carries when the job was canceled. */
export class JobCanceledError extends Error {
  constructor(id: string) {
    super(`Job ${id} was canceled.`);
    this.name = 'AbortError';
  }
}

/**
 * The jobs this worker process runs now, each with the AbortController behind its `job.signal`.
 * A DELETE in any api process reaches them over pub/sub; after a reconnect (notices may have been
 * lost) the cancel markers of the running jobs are read again.
 */
export class RunningJobs {
  readonly #running = new Map<string, AbortController>();
  readonly #subscriber: Redis;
  readonly #records: JobRecords;
  readonly #logger: Logger;

  constructor(subscriber: Redis, channel: string, records: JobRecords, logger: Logger) {
    this.#subscriber = subscriber;
    this.#records = records;
    this.#logger = logger;
    subscriber.on('message', (_channel: string, id: string) => this.#cancel(id));
    let connectedBefore = false;
    subscriber.on('ready', () => {
      if (connectedBefore) void this.#recheck();
      connectedBefore = true;
    });
    subscriber.subscribe(channel).catch((error: unknown) => {
      logger.warn({ err: error }, 'could not subscribe to job cancels; will retry on reconnect');
    });
  }

  /** Registers a job as running (before its cancel marker is checked, so no cancel falls between). */
  start(id: string): AbortController {
    const controller = new AbortController();
    this.#running.set(id, controller);
    return controller;
  }

  end(id: string): void {
    this.#running.delete(id);
  }

  close(): void {
    this.#subscriber.disconnect();
  }

  #cancel(id: string): void {
    const controller = this.#running.get(id);
    if (!controller || controller.signal.aborted) return;
    this.#logger.info({ jobId: id }, 'job canceled while running');
    controller.abort(new JobCanceledError(id));
  }

  async #recheck(): Promise<void> {
    try {
      for (const id of await this.#records.canceled([...this.#running.keys()])) this.#cancel(id);
    } catch (error) {
      this.#logger.warn({ err: error }, 'could not re-read cancels after a reconnect');
    }
  }
}
