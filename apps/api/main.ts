import { startApiServer } from '../../libs/kalium/http/api-server.ts';
import { bootRuntime, initializeOrExit } from '../../libs/kalium/process/boot.ts';
import { exitOnSignals, exitOnStartupError } from '../../libs/kalium/process/shutdown.ts';

/** `kalium api <app>`: load config → load the app → listen → run init; SIGTERM closes everything. */
export async function main(appFile: string, options: { pretty?: boolean } = {}): Promise<void> {
  const runtime = await bootRuntime(appFile, 'api', options);
  const api = await startApiServer(runtime).catch(exitOnStartupError);
  // Past the drain deadline, closing queues and Redis gets a few seconds more before a forced exit.
  exitOnSignals(runtime.logger, () => api.close(), { forceExitAfterMs: runtime.config.shutdownTimeoutMs + 5000 });
  await initializeOrExit(runtime, () => api.close());
}
