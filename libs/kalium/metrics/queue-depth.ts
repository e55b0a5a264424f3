import type { Logger } from '../log/logger.ts';
import type { QueueRegistry } from '../runtime/queue-registry.ts';
import type { Metrics } from './metrics.ts';
import type { Queue } from 'bullmq';
import { BULLMQ_PRIORITY, PRIORITIES } from '../queue/job-policy.ts';

/**
 * The BullMQ states reported; `waiting + prioritized + delayed` is the backlog to autoscale on. The
 * app's job queue adds `canceled` (kalium's state: such jobs are in none of these).
 */
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
        const extra = queues.extraCounts(queue.name);
        const states: string[] = [...QUEUE_STATES];
        try {
          const [counts, more] = await withTimeout(Promise.all([queue.getJobCounts(...QUEUE_STATES), extra?.() ?? Promise.resolve<Record<string, number>>({})]), timeoutMs);
          for (const [state, count] of Object.entries(more)) {
            states.push(state);
            metrics.queueJobs.set({ queue: queue.name, state }, count);
          }
          for (const state of QUEUE_STATES) metrics.queueJobs.set({ queue: queue.name, state }, counts[state] ?? 0);
          await setDepthByPriority(queue, metrics, timeoutMs);
        } catch (error) {
          if (extra) states.push('canceled');
          for (const state of states) metrics.queueJobs.remove({ queue: queue.name, state });
          for (const priority of PRIORITIES) metrics.queueJobsByPriority.remove({ queue: queue.name, priority });
          logger.warn({ err: error, queue: queue.name }, 'could not read queue depth for /metrics');
        }
      }),
    );
  };
}

/** `kalium_queue_jobs_by_priority`: a queue's prioritized jobs per SPEC §14 level (see job-policy.ts). */
async function setDepthByPriority(queue: Queue, metrics: Metrics, timeoutMs: number): Promise<void> {
  const counts = await withTimeout(queue.getCountsPerPriority(PRIORITIES.map((level) => BULLMQ_PRIORITY[level])), timeoutMs);
  for (const level of PRIORITIES) metrics.queueJobsByPriority.set({ queue: queue.name, priority: level }, counts[BULLMQ_PRIORITY[level]] ?? 0);
}

function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}
