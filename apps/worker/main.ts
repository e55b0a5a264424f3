import { startMetricsServer } from '../../libs/kalium/metrics/metrics-server.ts';
import { bootRuntime, initializeOrExit } from '../../libs/kalium/process/boot.ts';
import { exitOnSignals, exitOnStartupError } from '../../libs/kalium/process/shutdown.ts';
import { jobWebhookHooks } from '../../libs/kalium/webhook/job-webhook-hooks.ts';
import { startWebhookWorker } from '../../libs/kalium/webhook/webhook-worker.ts';
import { startJobWorker, type JobWorker } from '../../libs/kalium/worker/job-worker.ts';

/**
 * `kalium worker <app>`: load config → load the app → metrics port → run init → drain the queue;
 * SIGTERM finishes the running job, however long it takes; what follows it (recording its end,
 * closing connections) gets SHUTDOWN_TIMEOUT_MS, so an unreachable Redis cannot hold the exit forever.
 */
export async function main(appFile: string, options: { pretty?: boolean } = {}): Promise<void> {
  const runtime = await bootRuntime(appFile, 'worker', options);
  // Up before init, so /healthz answers while a model loads. Registered first, so closed last:
  // scrapes still answer while the running job finishes.
  const metrics = await startMetricsServer(runtime.metrics, { host: runtime.config.host, port: runtime.config.metricsPort }).catch(
    exitOnStartupError,
  );
  runtime.onClose('metrics server', () => metrics.close());
  runtime.logger.info({ url: metrics.url }, 'worker metrics listening');
  let jobWorker: JobWorker | undefined;
  exitOnSignals(runtime.logger, () => runtime.close(), {
    forceExitAfterMs: async () => {
      await jobWorker?.jobsEnded();
      return runtime.config.shutdownTimeoutMs;
    },
  });
  // Deliveries need no model: they start before init, so a slow load does not hold webhooks back.
  startWebhookWorker(runtime);
  await initializeOrExit(runtime, () => runtime.close());
  jobWorker = await startJobWorker(runtime, [jobWebhookHooks(runtime)]);
  runtime.logger.info({ app: runtime.app.name }, 'worker ready');
}
