import { loadConfig } from '../../libs/kalium/config/config.ts';
import { startApiServer } from '../../libs/kalium/http/api-server.ts';
import { createLogger } from '../../libs/kalium/log/logger.ts';
import { loadAppFile } from '../../libs/kalium/process/load-app.ts';
import { exitOnSignals, exitOnStartupError } from '../../libs/kalium/process/shutdown.ts';
import { Runtime } from '../../libs/kalium/runtime/runtime.ts';

/** `kalium api <app>`: load config → load the app → listen → run init; SIGTERM closes everything. */
export async function main(appFile: string, options: { pretty?: boolean } = {}): Promise<void> {
  let runtime: Runtime;
  try {
    const config = loadConfig();
    const logger = createLogger({ level: config.logLevel, pretty: options.pretty, name: 'api' });
    runtime = new Runtime(await loadAppFile(appFile), config, logger);
  } catch (error) {
    exitOnStartupError(error);
  }
  const api = await startApiServer(runtime).catch(exitOnStartupError);
  // Past the drain deadline, closing queues and Redis gets a few seconds more before a forced exit.
  exitOnSignals(runtime.logger, () => api.close(), { forceExitAfterMs: runtime.config.shutdownTimeoutMs + 5000 });
  await runtime.initialize().catch(async (error: unknown) => {
    runtime.logger.fatal({ err: error }, 'init failed');
    await api.close();
    process.exit(1);
  });
}
