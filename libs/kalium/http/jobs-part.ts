import type { Runtime } from '../runtime/runtime.ts';
import type { JobHooks } from '../queue/job-hooks.ts';
import { JobQueue } from '../queue/job-queue.ts';
import { JobWatcher } from '../queue/job-watcher.ts';
import { backgroundRoute } from './background-route.ts';
import { jobRoutes } from './job-routes.ts';
import type { ApiPart } from './server.ts';

/**
 * Background jobs in the api: `POST <background path>` queues, `/jobs/:id` reads, waits, streams and
 * cancels. Registers the queue counts shown by `/__status__`, and the queue for the dashboard and metrics.
 */
export function jobsApiPart(runtime: Runtime, hooks: readonly JobHooks[] = []): ApiPart {
  const jobs = new JobQueue(runtime, hooks);
  const watcher = new JobWatcher(runtime.connection('blocking'), runtime.keys.jobNotices);
  runtime.setQueueCounts(() => jobs.counts());
  runtime.queues.register(jobs.queue); // the dashboard shows it; /metrics reads its depth at each scrape
  runtime.onClose('job queue', () => jobs.close());
  runtime.onClose('job notices', () => watcher.close());
  return {
    routes: (router) => jobRoutes(router, jobs, watcher),
    appRoutes: runtime.app.routes.flatMap((route) =>
      route.kind === 'background' ? [{ method: 'POST', path: route.path, answer: backgroundRoute(route, jobs, runtime.config.bodyLimit) }] : [],
    ),
  };
}
