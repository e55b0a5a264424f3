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
 * How long the worker keeps the GPU lease after a gpu job, for the next one. Jobs run back to back
 * (BullMQ hands over the next job with the previous one's completion, within a round trip), so a queue
 * of gpu jobs takes and releases the lease once, not once a job; an idle worker frees the device
 * this long after its last job.
 */
export const LEASE_LINGER_MS = 5;

/** The lease as the worker holds it, and what stops keeping it (renewal, metrics) once freed. */
interface Held {
  hold: LeaseHold;
  stop: () => void;
}

/** The GPU lease as one gpu job (or batch) holds it. */
export interface WorkerLease {
  /** Done with the GPU for this job: kept for the next job if one starts within the linger time. */
  release(): void;
}

/**
 * The worker's hold on the device's GPU lease (SPEC §6): taken for gpu jobs, waiting as long as it
 * takes (a sync request holding it makes the job wait, never fail) and through Redis outages; kept
 * alive from the lock keeper's thread while held; kept briefly between back-to-back jobs.
 */
export class WorkerGpu {
  readonly #parts: GpuParts;
  readonly #logger: Logger;
  #lingering: Held | undefined;
  /**
   * Frees a lingering lease LEASE_LINGER_MS after its last job. One timer, re-armed (`refresh()`) at each
   * job's end; taking the lease for the next job leaves it running and clears `#lingering` instead,
   * so a busy worker allocates no timer per job.
   */
  #lingerTimer: NodeJS.Timeout | undefined;
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
    while (!hold && !signal.aborted) {
      try {
        hold = await parts.lease.acquire(Infinity, signal);
      } catch (error) {
        this.#logger.warn({ err: error }, 'could not take the GPU lease (Redis down?); trying again');
        await sleep(RETRY_MS, undefined, { signal }).catch(() => undefined);
      }
    }
    if (!hold) return undefined;
    waited();
    // The hold keeps itself alive from the keeper's thread (see LeaseHold).
    return { hold, stop: parts.metrics.leaseHold.startTimer({ role: 'worker' }) };
  }

  #linger(held: Held): void {
    this.#free();
    this.#lingering = held;
    if (this.#closed) return this.#free();
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
