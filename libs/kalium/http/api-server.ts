import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Runtime } from '../runtime/runtime.ts';
import { apiParts } from './api-parts.ts';
import { createApi, type ApiPart } from './server.ts';

export interface ApiServer {
  readonly server: Server;
  /** e.g. `http://127.0.0.1:8000` */
  readonly url: string;
  /** Stops accepting, lets in-flight requests finish (up to SHUTDOWN_TIMEOUT_MS), then closes the runtime. Idempotent. */
  close(): Promise<void>;
}

/** Listens on the configured host and port (0: a free one) and serves the app. */
export async function startApiServer(runtime: Runtime, parts: ApiPart[] = apiParts(runtime)): Promise<ApiServer> {
  const koa = createApi(runtime, parts);
  const server = createServer(koa.callback());
  server.keepAliveTimeout = 65_000; // longer than common load balancers' idle timeout
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(runtime.config.port, runtime.config.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const host = runtime.config.host === '0.0.0.0' || runtime.config.host === '::' ? '127.0.0.1' : runtime.config.host;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  runtime.logger.info({ url, port, app: runtime.app.name }, 'api listening');

  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      const drained = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<void>((resolve) => {
        timer = setTimeout(() => {
          runtime.logger.warn('shutdown deadline passed; closing open connections');
          server.closeAllConnections();
          resolve();
        }, runtime.config.shutdownTimeoutMs);
      });
      await Promise.race([drained, deadline]);
      clearTimeout(timer);
      await runtime.close();
    })();
    return closing;
  };
  return { server, url, close };
}
