import { loadConfig } from '../../libs/kalium/config/config.ts';
import { createLogger } from '../../libs/kalium/log/logger.ts';
import { startMetricsServer } from '../../libs/kalium/metrics/metrics-server.ts';
import { loadAppFile } from '../../libs/kalium/process/load-app.ts';
import { exitOnSignals, exitOnStartupError } from '../../libs/kalium/process/shutdown.ts';
import { Runtime } from '../../libs/kalium/runtime/runtime.ts';
import { jobWebhookHooks } from '../../libs/kalium/webhook/job-webhook-hooks.ts';
import { startWebhookWorker } from '../../libs/kalium/webhook/webhook-worker.ts';
import { startJobWorker } from '../../libs/kalium/worker/job-worker.ts';

/**
 * `kalium worker <app>`: load config → load the app → metrics port → run init → drain the queue;
 * SIGTERM finishes the running job.
 */
export async function main(appFile: string, options: { pretty?: boolean } = {}): Promise<void> {
  let runtime: Runtime;
  try {
    const config = loadConfig();
    const logger = createLogger({ level: config.logLevel, pretty: options.pretty, name: 'worker' });
    runtime = new Runtime(await loadAppFile(appFile), config, logger);
  } catch (error) {
    exitOnStartupError(error);
  }
  // Up before init, so /healthz answers while a model loads. Registered first, so closed last:
  // scrapes still answer while the running job finishes.
  const metrics = await startMetricsServer(runtime.metrics, { host: runtime.config.host, port: runtime.config.metricsPort }).catch(
    exitOnStartupError,
  );
  runtime.onClose('metrics server', () => metrics.close());
  runtime.logger.info({ url: metrics.url }, 'worker metrics listening');
  exitOnSignals(runtime.logger, () => runtime.close());
  // Deliveries need no model: they start before init, so a slow load does not hold webhooks back.
  startWebhookWorker(runtime);
  await runtime.initialize().catch(async (error: unknown) => {
    runtime.logger.fatal({ err: error }, 'init failed');
    await runtime.close();
    process.exit(1);
  });
  await startJobWorker(runtime, [jobWebhookHooks(runtime)]);
  runtime.logger.info({ app: runtime.app.name }, 'worker ready');
}
