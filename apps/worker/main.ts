import { CLI } from '../cli/cli-path.ts';
import { loadConfig, type Config } from '../../libs/kalium/config/config.ts';
import { createLogger } from '../../libs/kalium/log/logger.ts';
import { WorkerPool } from '../../libs/kalium/process/worker-pool.ts';
import { DEFAULT_METRICS_PORT, startMetricsServer } from '../../libs/kalium/metrics/metrics-server.ts';
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
export async function main(appFile: string, options: { pretty?: boolean; devices?: string | undefined } = {}): Promise<void> {
  let config: Config;
  try {
    config = loadConfig(options.devices === undefined ? process.env : { ...process.env, KALIUM_DEVICES: options.devices });
  } catch (error) {
    exitOnStartupError(error);
  }
  if (config.devices) return superviseDevices(appFile, config, config.devices, options);
  const runtime = await bootRuntime(appFile, 'worker', options);
  // Up before init, so /healthz answers while a model loads. Registered first, so closed last:
  // scrapes still answer while the running job finishes.
  const { host, metricsPort } = runtime.config;
  const metrics = await startMetricsServer(runtime.metrics, {
    host,
    port: metricsPort ?? DEFAULT_METRICS_PORT,
    fallBackToFreePort: metricsPort === undefined,
  }).catch(exitOnStartupError);
  runtime.onClose('metrics server', () => metrics.close());
  if (metrics.fellBack) {
    runtime.logger.warn({ url: metrics.url }, `port ${DEFAULT_METRICS_PORT} is taken (another worker here?): worker metrics on a free port; set METRICS_PORT to choose`);
  }
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

/** `kalium worker <app> --devices 0,1` (or KALIUM_DEVICES): one supervised worker process per GPU. */
function superviseDevices(appFile: string, config: Config, devices: string[], options: { pretty?: boolean }): void {
  const logger = createLogger({ level: config.logLevel, pretty: options.pretty, name: 'workers' });
  const pool = new WorkerPool({
    cli: CLI,
    appFile,
    devices,
    env: process.env,
    leaseBase: config.device === 'default' ? undefined : config.device,
    metricsPort: config.metricsPort ?? DEFAULT_METRICS_PORT,
    logger,
  });
  logger.info({ devices }, 'one worker per device started');
  exitOnSignals(logger, () => pool.close());
}
