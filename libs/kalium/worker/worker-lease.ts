import { setTimeout as sleep } from 'node:timers/promises';
import type { LeaseHold } from '../gpu/lease.ts';
import type { RunDeps } from './job-run.ts';

/** How long to wait before asking again for the lease while Redis does not answer. */
const RETRY_MS = 500;

/** A held GPU lease; `release()` also stops its renewal from the lock keeper's thread. */
export interface WorkerLease {
  release(): void;
}

/**
 * Takes the device's GPU lease for the worker, waiting as long as it takes (a sync request holding it
 * makes the job wait, never fail) and through Redis outages; undefined when `signal` aborts first
 * (every job of the run was canceled).
 */
export async function takeWorkerLease(deps: RunDeps, signal: AbortSignal): Promise<WorkerLease | undefined> {
  const { runtime } = deps;
  const waited = runtime.metrics.leaseWait.startTimer({ role: 'worker' });
  let hold: LeaseHold | undefined;
  while (!hold && !signal.aborted) {
    try {
      hold = await runtime.lease.acquire(Infinity, signal);
    } catch (error) {
      deps.logger.warn({ err: error }, 'could not take the GPU lease (Redis down?); trying again');
      await sleep(RETRY_MS, undefined, { signal }).catch(() => undefined);
    }
  }
  if (!hold) return undefined;
  waited();
  const held = hold;
  const stopKeeping = deps.keeper.keepLease({ key: runtime.keys.lease(runtime.config.device), token: held.token, ttlMs: runtime.config.leaseTtlMs });
  const stopHolding = runtime.metrics.leaseHold.startTimer({ role: 'worker' });
  const ended = runtime.gpuStats.start();
  let released = false;
  return {
    release() {
      if (released) return;
      released = true;
      stopKeeping();
      stopHolding();
      ended();
      void held.release();
    },
  };
}
