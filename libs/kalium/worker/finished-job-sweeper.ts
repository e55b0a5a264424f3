import { Queue } from 'bullmq';
import { EVENTS_MAX_LEN, type JobData } from '../queue/job-data.ts';
import type { Runtime } from '../runtime/runtime.ts';

/** Jobs removed per sweep and state; a sweep that removes this many goes again at once. */
const SWEEP_BATCH = 1000;

/**
 * Removes finished jobs older than RESULT_TTL. BullMQ's own `removeOnComplete: { age }` only trims when a
 * later job finishes, so after the last job of a busy spell its records would stay; this sweeps them on
 * a timer (every RESULT_TTL, at most every minute), so finished jobs expire whether traffic goes on or not.
 */
export class FinishedJobSweeper {
  readonly #queue: Queue<JobData>;
  readonly #runtime: Runtime;
  readonly #timer: NodeJS.Timeout;
  #sweeping: Promise<void> | undefined;

  constructor(runtime: Runtime) {
    this.#runtime = runtime;
    // The same events bound as the api's queue, should this Queue ever write the queue's meta.
    this.#queue = new Queue<JobData>(runtime.keys.jobQueue, {
      connection: runtime.connection('blocking'),
      prefix: runtime.keys.prefix,
      streams: { events: { maxLen: EVENTS_MAX_LEN } },
    });
    const everyMs = Math.min(runtime.config.resultTtl * 1000, 60_000);
    this.#timer = setInterval(() => void this.sweep(), everyMs);
    this.#timer.unref();
  }

  /** One sweep of completed and failed jobs past their TTL. Never throws; a failed sweep waits for the next. */
  sweep(): Promise<void> {
    this.#sweeping ??= this.#sweep().finally(() => (this.#sweeping = undefined));
    return this.#sweeping;
  }

  async #sweep(): Promise<void> {
    const graceMs = this.#runtime.config.resultTtl * 1000;
    try {
      for (const state of ['completed', 'failed'] as const) {
        while ((await this.#queue.clean(graceMs, SWEEP_BATCH, state)).length === SWEEP_BATCH);
      }
      // Each removal adds an event without trimming the stream; trim it back to its bound.
      await this.#queue.trimEvents(EVENTS_MAX_LEN);
    } catch (error) {
      this.#runtime.logger.debug({ err: error }, 'sweep of finished jobs failed; the next one will retry');
    }
  }

  async close(): Promise<void> {
    clearInterval(this.#timer);
    await this.#sweeping;
    await this.#queue.close();
  }
}
