import { setTimeout as sleep } from 'node:timers/promises';
import type { GpuStats } from '../gpu/gpu-stats.ts';
import type { GpuLease, LeaseHold } from '../gpu/lease.ts';
import type { Logger } from '../log/logger.ts';
import type { Metrics } from '../metrics/metrics.ts';

/** What the worker's hold on the lease needs: the device's lease, and where its use is counted. */
export interface GpuParts {
  lease: GpuLease;
  gpuStats: GpuStats;
  metrics: Metrics;
}

/** How long to wait before asking again for the lease while Redis does not answer. */
const RETRY_MS = 500;

/** The lease as the worker holds it, and what stops keeping it (renewal, metrics) once freed. */
interface Held {
  hold: LeaseHold;
  stop: () => void;
}

/** The GPU lease as one gpu job (or batch) holds it. */
export interface WorkerLease {
  /** Done with the GPU for this job: kept for the next one while the loop has one in hand (see idle()). */
  release(): void;
}

/**
 * The worker's hold on the device's GPU lease (SPEC §6): taken for gpu jobs, waiting as long as it
 * takes (a sync request holding it makes the job wait, never fail) and through Redis outages; kept
 * alive from the lock keeper's thread while held.
 *
 * Between two gpu jobs the lease is kept while the loop has its next job in hand (BullMQ hands it over
 * with the previous one's completion): a queue of gpu jobs takes and releases it once. It is freed as
 * soon as the loop has no job in hand, or its next job needs no GPU, so a sync request after the last
 * job finds the device free. (A 5 ms timer from each job's end, the former rule, lapsed between batches
 * on a loaded machine: the lease was taken again for each batch, 45–51 ms a batch of 36 ms; and it
 * answered 423 to a sync request sent right after a job had succeeded.)
 */
export class WorkerGpu {
  readonly #parts: GpuParts;
  readonly #logger: Logger;
  /** The lease kept from the last job, for the next. */
  #kept: Held | undefined;
  /** The loop has no job in hand (see idle()); a take ends it. */
  #idle = false;
  /** Takes waiting for the lease in Redis (a handler past its timeout may still hold it). */
  #acquiring = 0;
  #closed = false;

  constructor(parts: GpuParts, logger: Logger) {
    this.#parts = parts;
    this.#logger = logger;
  }

  /**
   * Takes the lease (or the one kept from the last job); undefined when `stop`'s signal aborts first.
   * The signal is read only when the lease has to be waited for.
   */
  async take(stop: { readonly signal: AbortSignal }): Promise<WorkerLease | undefined> {
    const kept = this.#kept;
    this.#kept = undefined;
    this.#idle = false;
    const held = kept ?? (await this.#acquire(stop.signal));
    if (!held) return undefined;
    const ended = this.#parts.gpuStats.start();
    let released = false;
    return {
      release: () => {
        if (released) return;
        released = true;
        ended();
        this.#keep(held);
      },
    };
  }

  /** Whether the lease is kept now: a gpu job then starts without waiting for it. */
  get holding(): boolean {
    return this.#kept !== undefined;
  }

  /** The loop has no job in hand (or its next job needs no GPU): a kept lease is freed. */
  idle(): void {
    this.#idle = true;
    this.#free();
  }

  /** Frees a kept lease; no lease is kept from here on. Idempotent. */
  close(): void {
    this.#closed = true;
    this.#free();
  }

  async #acquire(signal: AbortSignal): Promise<Held | undefined> {
    const parts = this.#parts;
    const waited = parts.metrics.leaseWait.startTimer({ role: 'worker' });
    let hold: LeaseHold | undefined;
    this.#acquiring++;
    try {
      while (!hold && !signal.aborted) {
        try {
          hold = await parts.lease.acquire(Infinity, signal);
        } catch (error) {
          this.#logger.warn({ err: error }, 'could not take the GPU lease (Redis down?); trying again');
          await sleep(RETRY_MS, undefined, { signal }).catch(() => undefined);
        }
      }
    } finally {
      this.#acquiring--;
    }
    if (!hold) return undefined;
    waited();
    // The hold keeps itself alive from the keeper's thread (see LeaseHold).
    return { hold, stop: parts.metrics.leaseHold.startTimer({ role: 'worker' }) };
  }

  /**
   * Keeps a lease a job is done with, for the next job; frees it at once when the loop is idle or
   * closing, or when a take already waits for it in Redis (the job's handler ran past its timeout).
   */
  #keep(held: Held): void {
    this.#free();
    this.#kept = held;
    if (this.#idle || this.#closed || this.#acquiring > 0) this.#free();
  }

  #free(): void {
    const kept = this.#kept;
    this.#kept = undefined;
    if (!kept) return;
    kept.stop();
    void kept.hold.release();
  }
}
