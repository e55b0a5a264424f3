import { isUtf8 } from 'node:buffer';
import { Kalium } from '../app/kalium.ts';
import type { Request } from '../app/request.ts';
import { Response } from '../app/response.ts';
import type { BackgroundOptions, HandlerOptions, JobContext } from '../app/routes.ts';
import type { Logger } from '../log/logger.ts';
import { addReadinessCheck } from '../process/readiness-checks.ts';
import { ModelProcess } from './model-process.ts';
import { PythonError, type CallRequest, type CallResult, type PythonRoute } from './protocol.ts';
import { pythonCallbacks } from './python-callbacks.ts';

export interface PythonAppOptions {
  /** The interpreter to run: KALIUM_PYTHON, else `python3` from PATH. */
  python: string;
  logger: Logger;
}

/**
 * A Python (potassium) app as an ordinary kalium app: the model process is started and reports its
 * routes; each becomes `app.handler` or `app.background` with the same path and options, whose
 * function is a call over the pipe. Everything around the call — Koa, the queue, the GPU lease,
 * the cache, webhooks, metrics — is kalium's as for a TypeScript app.
 */
export async function loadPythonApp(file: string, options: PythonAppOptions): Promise<Kalium> {
  let app: Kalium | undefined;
  const model = await ModelProcess.start({
    python: options.python,
    appFile: file,
    logger: options.logger,
    callbacks: pythonCallbacks(() => app),
  });
  const { hello } = model;
  options.logger.info({ app: hello.app, python: hello.python, pid: hello.pid, routes: hello.routes.length }, 'Python model process started');
  const built: Kalium = new Kalium(kaliumAppName(hello.app)).init(async () => {
    await model.init();
    return undefined;
  });
  for (const route of hello.routes) addRoute(built, route, model, options.logger);
  addReadinessCheck(built, () => model.notReadyReason);
  app = built;
  return built;
}

function addRoute(app: Kalium, route: PythonRoute, model: ModelProcess, logger: Logger): void {
  const options = { ...route.options, gpu: route.gpu };
  if (route.kind === 'handler') {
    app.handler(route.path, options as HandlerOptions, async (_context: unknown, request: Request) =>
      asResponse(await call(model, route, request, undefined, logger)),
    );
  } else {
    app.background(route.path, options as BackgroundOptions & { batch?: undefined }, async (_context: unknown, request: Request, job: JobContext) =>
      asResult(await call(model, route, request, job, logger)),
    );
  }
}

async function call(model: ModelProcess, route: PythonRoute, request: Request, job: JobContext | undefined, logger: Logger): Promise<CallResult> {
  const meta: CallRequest = { id: request.id, method: request.method, headers: request.headers, query: request.query, json: request.json !== undefined };
  try {
    return await model.call(route.path, meta, request.body, job);
  } catch (error) {
    if (error instanceof PythonError && error.code === 'not_serializable') {
      logger.error({ route: route.path, returned: error.pythonType }, `the Python handler of ${route.path} returned a ${error.pythonType ?? 'value'}, which is not JSON-serialisable`);
    }
    throw error;
  }
}

function asResponse(result: CallResult): Response {
  if (result.kind === 'stream') throw new TypeError('a handler route cannot stream: make it an @app.background route');
  if (result.kind === 'none') return new Response({ status: result.status, headers: result.headers });
  const headers = result.kind === 'json' && !hasContentType(result.headers) ? { 'content-type': 'application/json; charset=utf-8', ...result.headers } : result.headers;
  return new Response({ status: result.status, headers, body: result.body });
}

/**
 * A background function's return value as the job's result (bytes as text, or base64 when not UTF-8).
 * A generator's chunks are handed to kalium's streaming (SPEC §14) as an async iterable whose return
 * value is the generator's.
 */
function asResult(result: CallResult): unknown {
  if (result.kind === 'stream') return streamed(result.stream as AsyncIterable<unknown, CallResult | undefined>);
  if (result.kind === 'none') return undefined;
  if (result.kind === 'json') return JSON.parse(result.body.toString('utf8'));
  return isUtf8(result.body) ? result.body.toString('utf8') : result.body.toString('base64');
}

// yield* hands return() (a cancel, the output cap) on to the chunk stream, which closes the generator in Python.
async function* streamed(chunks: AsyncIterable<unknown, CallResult | undefined>): AsyncGenerator<unknown, unknown> {
  const returned = yield* chunks;
  return returned === undefined ? undefined : asResult(returned);
}

function hasContentType(headers: Record<string, string>): boolean {
  return Object.keys(headers).some((name) => name.toLowerCase() === 'content-type');
}

/** potassium names are free text; kalium's namespace Redis keys, so other characters become `-`. */
export function kaliumAppName(name: string): string {
  const cleaned = name.replace(/[^\w.-]/g, '-').replace(/^[^A-Za-z0-9]+/, '').slice(0, 64);
  return cleaned || 'python-app';
}
