import type { Logger } from '../log/logger.ts';
import type { QueueRegistry } from '../runtime/queue-registry.ts';
import type { Metrics } from './metrics.ts';

/** The BullMQ states reported; `waiting + prioritized + delayed` is the backlog to autoscale on. */
export const QUEUE_STATES = ['waiting', 'prioritized', 'active', 'delayed', 'paused', 'completed', 'failed'] as const;

/**
 * A scrape-time collector setting `kalium_queue_jobs{queue,state}` from BullMQ's job counts, for
 * every registered queue. A queue whose counts cannot be read within `timeoutMs` (Redis down) has
 * its series removed rather than left stale, so dashboards show a gap, not a frozen backlog.
 */
export function queueDepthCollector(
  queues: QueueRegistry,
  metrics: Metrics,
  logger: Logger,
  timeoutMs = 1000,
): () => Promise<void> {
  return async () => {
    await Promise.all(
      queues.list().map(async (queue) => {
        try {
          const counts = await withTimeout(queue.getJobCounts(...QUEUE_STATES), timeoutMs);
          for (const state of QUEUE_STATES) metrics.queueJobs.set({ queue: queue.name, state }, counts[state] ?? 0);
        } catch (error) {
          for (const state of QUEUE_STATES) metrics.queueJobs.remove({ queue: queue.name, state });
          logger.warn({ err: error, queue: queue.name }, 'could not read queue depth for /metrics');
        }
      }),
    );
  };
}

function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}
