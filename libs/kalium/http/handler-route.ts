import type { Context } from 'koa';
import { LazyAbortController, type Aborter } from '../app/lazy-abort.ts';
import { Request, type RequestSource } from '../app/request.ts';
import { Response } from '../app/response.ts';
import type { HandlerRoute } from '../app/routes.ts';
import { errors, KaliumError } from '../errors/kalium-error.ts';
import type { LeaseHold } from '../gpu/lease.ts';
import type { Runtime } from '../runtime/runtime.ts';
import { schemaIssues, validateInput } from '../schema/validate-input.ts';
import { answerCached } from './cached-answer.ts';
import { readBody } from './read-body.ts';
import { isStreamBody, writeResponse } from './write-response.ts';

const TIMED_OUT = Symbol('timed out');

/** The Koa middleware answering one handler route. */
export function handlerRoute(route: HandlerRoute, runtime: Runtime) {
  const checkOutput = runtime.config.nodeEnv === 'development';
  return async function answerHandler(ctx: Context): Promise<void> {
    ctx.res.setHeader('X-Endpoint-Type', 'handler'); // Node's own setter: Koa's ctx.set costs more per request
    if (!runtime.initialized) throw errors.initializing();
    const parsed = await readBody(ctx, runtime.config.bodyLimit);
    // Checked before the lease, the cache and the handler: a caller's mistake costs the GPU nothing.
    const json = route.input ? await validateInput(route.input, parsed.json) : parsed.json;
    const controller = new LazyAbortController();
    const request = new Request({
      id: String(ctx.state.requestId),
      path: ctx.path,
      method: ctx.method,
      source: new KoaRequestSource(ctx), // headers and query built when the handler first reads them
      json,
      body: parsed.body,
      signal: controller,
    });
    if (route.cache) {
      // A cached route looks up first: a hit is answered without the handler, so without the GPU lease.
      const invoke = (req: Request, ctl: Aborter) => invokeHandler(route, req, runtime, ctl);
      return answerCached(ctx, route, route.cache, runtime, request, controller, invoke);
    }
    const { response, done } = await invokeHandler(route, request, runtime, controller);
    if (checkOutput && route.output) await checkAnswer(route, response, done);
    writeResponse(ctx, response, done);
  };
}

/**
 * In development, a 2xx JSON answer that does not match the route's `output` schema is a 500 naming
 * the mismatch: the schema documents the route in /openapi.json, so a handler drifting from it is a bug.
 */
async function checkAnswer(route: HandlerRoute, response: Response, done: (() => void) | undefined): Promise<void> {
  if (response.status > 299 || response.json === undefined) return;
  const issues = await schemaIssues(route.output!, response.json);
  if (!issues) return;
  done?.();
  const listed = issues.map((issue) => `${issue.path || '(root)'}: ${issue.message}`).join('; ');
  throw new KaliumError('invalid_output', 500, `The handler of ${route.path} answered outside its output schema: ${listed}.`, { expose: false });
}

/**
 * Runs the handler under the GPU lease when the route is a gpu one. The lease is released when the
 * handler's work is really over: when it settles, or when its streamed body closes. A handler past its
 * `timeoutMs` gets 504 and an aborted `request.signal`, but keeps the lease until it actually stops,
 * so no second model call overlaps it on the device.
 */
export async function invokeHandler(
  route: HandlerRoute,
  request: Request,
  runtime: Runtime,
  controller: Aborter,
): Promise<{ response: Response; done?: () => void }> {
  if (!route.gpu && route.timeoutMs === undefined) {
    // Nothing to hold or time: the common gpu=false route skips the lease's bookkeeping altogether.
    try {
      return { response: Response.from(await route.fn(undefined, request)) };
    } catch (error) {
      throw asHandlerError(error);
    }
  }
  const hold = route.gpu ? await takeLease(route, runtime) : undefined;
  const ended = route.gpu ? runtime.gpuStats.start() : undefined;
  const holdTimer = route.gpu ? runtime.metrics.leaseHold.startTimer({ role: 'api' }) : undefined;
  const done = once(async () => {
    ended?.();
    holdTimer?.();
    await hold?.release();
  });

  let work: Promise<Response>;
  try {
    work = Promise.resolve(route.fn(route.gpu ? runtime.context : undefined, request)).then(Response.from);
  } catch (error) {
    await done();
    throw asHandlerError(error);
  }

  let outcome: Response | typeof TIMED_OUT;
  try {
    outcome = route.timeoutMs === undefined ? await work : await raceTimeout(work, route.timeoutMs);
  } catch (error) {
    await done();
    throw asHandlerError(error);
  }
  if (outcome === TIMED_OUT) {
    controller.abort(errors.timeout(route.timeoutMs!));
    work.then(done, done);
    throw errors.timeout(route.timeoutMs!);
  }
  if (isStreamBody(outcome.body)) return { response: outcome, done: () => void done() };
  // Released before answering, so a caller's next request never finds its own finished call's lease.
  await done();
  return { response: outcome };
}

async function takeLease(route: HandlerRoute, runtime: Runtime): Promise<LeaseHold> {
  let hold: LeaseHold | undefined;
  const waitTimer = runtime.metrics.leaseWait.startTimer({ role: 'api' });
  try {
    hold = route.maxWaitMs > 0 ? await runtime.lease.acquire(route.maxWaitMs) : await runtime.lease.tryAcquire();
  } catch (error) {
    throw errors.backendUnavailable(error);
  }
  if (!hold) {
    runtime.metrics.gpuBusy.inc({ route: route.path });
    throw errors.gpuBusy(1);
  }
  waitTimer();
  return hold;
}

function raceTimeout<T>(work: Promise<T>, ms: number): Promise<T | typeof TIMED_OUT> {
  let timer: NodeJS.Timeout;
  const timeout = new Promise<typeof TIMED_OUT>((resolve) => {
    timer = setTimeout(() => resolve(TIMED_OUT), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

function asHandlerError(error: unknown): KaliumError {
  return error instanceof KaliumError ? error : errors.handlerError(error);
}

function once(fn: () => Promise<void>): () => Promise<void> {
  let result: Promise<void> | undefined;
  return () => (result ??= fn());
}

/** A request's headers and query, read from Koa's context when a handler first asks for them. */
class KoaRequestSource implements RequestSource {
  readonly #ctx: Context;
  constructor(ctx: Context) {
    this.#ctx = ctx;
  }
  headers(): Record<string, string> {
    return flattenHeaders(this.#ctx.headers);
  }
  query(): Record<string, string | string[]> {
    return this.#ctx.query as Record<string, string | string[]>;
  }
}

/** Node gives repeated headers as arrays; handlers get one string per name, comma-joined. */
export function flattenHeaders(headers: Record<string, string | string[] | undefined>): Record<string, string> {
  const flat: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) flat[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return flat;
}
