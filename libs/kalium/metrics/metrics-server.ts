import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Metrics } from './metrics.ts';

export interface MetricsServer {
  readonly server: Server;
  /** e.g. `http://127.0.0.1:9100` */
  readonly url: string;
  /** Whether the port asked for was taken and the OS picked a free one instead. */
  readonly fellBack: boolean;
  /** Stops listening and drops open connections. Idempotent. */
  close(): Promise<void>;
}

export interface MetricsServerOptions {
  host: string;
  port: number;
  /**
   * When `port` is in use, listen on a free port instead of failing: for the default port, so two
   * workers on one host never collide on it. @defaultValue false
   */
  fallBackToFreePort?: boolean;
}

/** The worker's metrics port when METRICS_PORT is not set. */
export const DEFAULT_METRICS_PORT = 9100;

/**
 * A small HTTP server for a process that serves no other HTTP (the worker): `GET /metrics` in
 * Prometheus text and `GET /healthz` (200 while the process lives); anything else is 404.
 */
export async function startMetricsServer(metrics: Metrics, options: MetricsServerOptions): Promise<MetricsServer> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD', 'Content-Type': 'application/json' }).end(errorBody('method_not_allowed', 'Only GET and HEAD are served here.'));
    } else if (path === '/healthz') {
      res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"status":"ok"}');
    } else if (path === '/metrics') {
      metrics.render().then(
        ({ contentType, body }) => res.writeHead(200, { 'Content-Type': contentType }).end(body),
        () => res.writeHead(500, { 'Content-Type': 'application/json' }).end(errorBody('internal_error', 'The metrics could not be collected.')),
      );
    } else {
      res.writeHead(404, { 'Content-Type': 'application/json' }).end(errorBody('not_found', 'This port serves only /metrics and /healthz.'));
    }
  });
  let fellBack = false;
  try {
    await listen(server, options.port, options.host);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error;
    if (!options.fallBackToFreePort) {
      const message = `The metrics port ${options.port} on ${options.host} is in use (another worker on this host?); give each worker its own METRICS_PORT`;
      throw new Error(message, { cause: error });
    }
    await listen(server, 0, options.host);
    fellBack = true;
  }
  const { port } = server.address() as AddressInfo;
  const host = options.host === '0.0.0.0' || options.host === '::' ? '127.0.0.1' : options.host;
  let closing: Promise<void> | undefined;
  return {
    server,
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    fellBack,
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/** SPEC's error shape; there are no request ids on this port. */
function errorBody(code: string, message: string): string {
  return JSON.stringify({ error: { code, message, request_id: '' } });
}
