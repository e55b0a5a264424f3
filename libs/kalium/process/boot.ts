import { loadConfig } from '../config/config.ts';
import { createLogger } from '../log/logger.ts';
import { Runtime } from '../runtime/runtime.ts';
import { loadAppFile } from './load-app.ts';
import { exitOnStartupError } from './shutdown.ts';

/** Config → logger → the app file → a Runtime; a mistake in any stops the process with a message naming it. */
export async function bootRuntime(appFile: string, role: 'api' | 'worker', options: { pretty?: boolean } = {}): Promise<Runtime> {
  try {
    const config = loadConfig();
    const logger = createLogger({ level: config.logLevel, pretty: options.pretty, name: role });
    return new Runtime(await loadAppFile(appFile, { python: config.python, logger }), config, logger, { role });
  } catch (error) {
    exitOnStartupError(error);
  }
}

/** Runs the app's `init`; when it fails, logs why, closes what the process opened (`close`) and exits 1. */
export async function initializeOrExit(runtime: Runtime, close: () => Promise<void>): Promise<void> {
  await runtime.initialize().catch(async (error: unknown) => {
    runtime.logger.fatal({ err: error }, 'init failed');
    await close();
    process.exit(1);
  });
}
