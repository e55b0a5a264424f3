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

/**
 * How long an idle worker keeps the GPU lease after its last gpu job, for a job arriving just after. A
 * worker with its next job in hand (BullMQ hands it over with the previous one's completion) keeps the
 * lease without a timer: a queue of gpu jobs takes and releases it once, however long the steps between
 * two jobs take on a loaded machine. (A 5 ms timer from each job's end, the former rule, lapsed between
 * batches under load: the lease was taken again for each batch, measured 45–51 ms a batch of 36 ms.)
 */
export const LEASE_LINGER_MS = 5;

/** The lease as the worker holds it, and what stops keeping it (renewal, metrics) once freed. */
interface Held {
  hold: LeaseHold;
  stop: () => void;
}

/** The GPU lease as one gpu job (or batch) holds it. */
export interface WorkerLease {
  /** Done with the GPU for this job: kept for the next one, until the worker is idle (see idle()). */
  release(): void;
}

/**
 * The worker's hold on the device's GPU lease (SPEC §6): taken for gpu jobs, waiting as long as it
 * takes (a sync request holding it makes the job wait, never fail) and through Redis outages; kept
 * alive from the lock keeper's thread while held; kept from one job to the next while jobs follow.
 */
export class WorkerGpu {
  readonly #parts: GpuParts;
  readonly #logger: Logger;
  #lingering: Held | undefined;
  /** Frees a lingering lease LEASE_LINGER_MS after the worker went idle (re-armed with `refresh()` while idle). */
  #lingerTimer: NodeJS.Timeout | undefined;
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
   * Takes the lease (or keeps the one still held from the last job); undefined when `stop`'s signal
   * aborts first. The signal is read only when the lease has to be waited for.
   */
  async take(stop: { readonly signal: AbortSignal }): Promise<WorkerLease | undefined> {
    const kept = this.#lingering;
    this.#lingering = undefined;
    this.#idle = false;
    if (this.#lingerTimer) {
      clearTimeout(this.#lingerTimer); // a cleared timer cannot be refresh()ed: made again when idle
      this.#lingerTimer = undefined;
    }
    const held = kept ?? (await this.#acquire(stop.signal));
    if (!held) return undefined;
    const ended = this.#parts.gpuStats.start();
    let released = false;
    return {
      release: () => {
        if (released) return;
        released = true;
        ended();
        this.#linger(held);
      },
    };
  }

  /** Whether the lease is held now (kept from the last job): a gpu job then starts without waiting. */
  get holding(): boolean {
    return this.#lingering !== undefined;
  }

  /** Frees a lease kept for a next job. Idempotent. */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#lingerTimer);
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
   * The worker has no next job in hand (or its next job needs no GPU): a lease kept from the last job
   * is freed LEASE_LINGER_MS from now unless a gpu job takes it first.
   */
  idle(): void {
    if (this.#idle) return;
    this.#idle = true;
    if (this.#lingering) this.#armLinger();
  }

  /**
   * Keeps a lease a job is done with, for the next job: freed at once when closing, or when a take
   * already waits for it in Redis (its handler ran past its timeout); freed LEASE_LINGER_MS later when
   * the worker is idle.
   */
  #linger(held: Held): void {
    this.#free();
    this.#lingering = held;
    if (this.#closed || this.#acquiring > 0) this.#free();
    else if (this.#idle) this.#armLinger();
  }

  #armLinger(): void {
    if (this.#lingerTimer) this.#lingerTimer.refresh();
    else this.#lingerTimer = setTimeout(() => this.#free(), LEASE_LINGER_MS);
  }

  #free(): void {
    const lingering = this.#lingering;
    this.#lingering = undefined;
    if (!lingering) return;
    lingering.stop();
    void lingering.hold.release();
  }
}
