import { createServer, ServerResponse, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Runtime } from '../runtime/runtime.ts';
import { apiParts } from './api-parts.ts';
import { answerParserRejections } from './parser-rejections.ts';
import { createApi, type ApiPart } from './server.ts';
import { setShutdownSignal } from './shutdown-signal.ts';

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
  const shuttingDown = new AbortController();
  setShutdownSignal(koa, shuttingDown.signal);
  const handle = koa.callback();
  const drain = new Drain();
  const { headersTimeoutMs, requestTimeoutMs, keepAliveTimeoutMs } = runtime.config;
  const server = createServer(
    {
      headersTimeout: headersTimeoutMs,
      requestTimeout: requestTimeoutMs,
      keepAliveTimeout: keepAliveTimeoutMs,
      // Node checks for stalled requests on this interval (30 s by default, so a 10 s limit could
      // take 40): a quarter of the shortest limit keeps the 408 within 25% of it.
      connectionsCheckingInterval: Math.max(25, Math.min(1000, Math.floor(headersTimeoutMs / 4))),
      // Node answers a missing Host with a bare 400 of its own; kalium's host check answers it in its shape.
      requireHostHeader: false,
      ServerResponse: drain.Response,
    },
    (req, res) => {
      drain.track(res);
      void handle(req, res);
    },
  );
  drain.server = server;
  answerParserRejections(server, {
    logger: runtime.logger,
    allowedMethods: methodsTaken(runtime),
    count: (route, method, status) => runtime.metrics.httpRequests.labels({ route, method, status: String(status) }).inc(),
  });
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
      const started = Date.now();
      const inFlight = drain.inFlight;
      const drained = drain.start();
      shuttingDown.abort(); // long-polls and event streams answer now, so draining need not wait for them
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), runtime.config.shutdownTimeoutMs);
      });
      const finished = await Promise.race([drained.then(() => true), deadline]);
      clearTimeout(timer);
      if (finished) {
        runtime.logger.info({ inFlight, ms: Date.now() - started }, 'in-flight requests finished');
      } else {
        runtime.logger.warn({ left: drain.inFlight, timeoutMs: runtime.config.shutdownTimeoutMs }, 'shutdown deadline passed; closing open connections');
        server.closeAllConnections();
      }
      await runtime.close();
    })();
    return closing;
  };
  return { server, url, close };
}

/** Every method some route of this api takes, for the `Allow` of a CONNECT (which names no path). */
function methodsTaken(runtime: Runtime): string[] {
  const methods = new Set(['GET', 'HEAD', 'POST', 'DELETE', 'OPTIONS']);
  for (const route of runtime.app.routes) if (route.kind === 'handler') for (const method of route.methods) methods.add(method);
  return [...methods];
}

/**
 * Graceful draining of a Node HTTP server. `server.close()` stops accepting but leaves keep-alive
 * connections open until the client drops them, which can outlast any deadline. So once draining,
 * every response whose headers go out from then on (in flight or new on an open connection) says
 * `Connection: close`, and each connection is closed as soon as it goes idle.
 *
 * Responses are counted, not kept in a Set: a Set that every request added itself to and removed
 * itself from tripled the time the api spent in young-generation GC (measured with --trace-gc under
 * the submit bench, bench/support/submit-profile.ts: 5.9–8.7 µs of scavenges per submit with the
 * Set, 1.9 without). The header is set when the headers are written instead (Drain.Response), which
 * needs no list of the responses in flight.
 */
class Drain {
  server: Server | undefined;
  #inFlight = 0;
  #draining = false;
  /** The server's response class: says `Connection: close` in any headers written once draining. */
  readonly Response: typeof ServerResponse<IncomingMessage>;

  constructor() {
    const drain = this;
    this.Response = class DrainingResponse extends ServerResponse<IncomingMessage> {
      // Node writes implicit headers (res.end, res.write, flushHeaders) through writeHead too.
      override writeHead(...args: unknown[]): this {
        if (drain.#draining && !this.headersSent) this.setHeader('Connection', 'close');
        return (super.writeHead as (...all: unknown[]) => this)(...args);
      }
    };
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  track(res: ServerResponse<IncomingMessage>): void {
    this.#inFlight += 1;
    res.on('close', this.#closed); // a response closes once: `once` would wrap the listener anew per request
  }

  // One listener for every response, not a closure made per request.
  readonly #closed = () => {
    this.#inFlight -= 1;
    // The socket goes idle just after its response closes; close it then rather than keep it alive.
    if (this.#draining) setImmediate(() => this.server?.closeIdleConnections());
  };

  /** Stops accepting; resolves once every connection has closed. */
  start(): Promise<void> {
    this.#draining = true;
    const closed = new Promise<void>((resolve) => this.server?.close(() => resolve()) ?? resolve());
    this.server?.closeIdleConnections();
    return closed;
  }
}
