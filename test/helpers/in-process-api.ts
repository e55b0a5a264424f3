import type { Kalium } from '../../libs/kalium/app/kalium.ts';
import { loadConfig } from '../../libs/kalium/config/config.ts';
import { startApiServer, type ApiServer } from '../../libs/kalium/http/api-server.ts';
import { createLogger } from '../../libs/kalium/log/logger.ts';
import { Runtime } from '../../libs/kalium/runtime/runtime.ts';

/** An api in the test's own process, on a free port, for behaviour that does not cross processes. */
export async function startInProcessApi(app: Kalium, env: Record<string, string>): Promise<ApiServer & { runtime: Runtime }> {
  const config = loadConfig({ HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'silent', ...env });
  const runtime = new Runtime(app, config, createLogger({ level: config.logLevel }), { processMetrics: false });
  const api = await startApiServer(runtime);
  await runtime.initialize();
  return Object.assign(api, { runtime });
}
