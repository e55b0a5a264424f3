import type { Runtime } from '../runtime/runtime.ts';
import type { JobHooks } from '../queue/job-hooks.ts';
import { JobQueue } from '../queue/job-queue.ts';
import { JobWatcher } from '../queue/job-watcher.ts';
import { backgroundRoute } from './background-route.ts';
import { jobRoutes } from './job-routes.ts';
import type { ApiPart } from './server.ts';

/**
 * Background jobs in the api: `POST <background path>` queues, `/jobs/:id` reads, waits, streams and
 * cancels. Registers the queue counts shown by `/__status__`.
 */
export function jobsApiPart(runtime: Runtime, hooks: readonly JobHooks[] = []): ApiPart {
  const jobs = new JobQueue(runtime, hooks);
  const watcher = new JobWatcher(runtime.connection('blocking'), runtime.keys.jobNotices, runtime.logger);
  runtime.setQueueCounts(async () => {
    const counts = await jobs.counts();
    for (const [state, count] of Object.entries(counts)) runtime.metrics.queueJobs.set({ queue: runtime.keys.jobQueue, state }, count);
    return counts;
  });
  runtime.onClose('job queue', () => jobs.close());
  runtime.onClose('job notices', () => watcher.close());
  return {
    router: jobRoutes(jobs, watcher),
    background(router) {
      for (const route of runtime.app.routes) {
        if (route.kind === 'background') router.post(route.path, backgroundRoute(route, jobs, runtime.config.bodyLimit));
      }
    },
  };
}
