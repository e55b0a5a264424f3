import { isStandardSchema, validateInput } from '../schema/validate-input.ts';
import type { StandardSchemaV1 } from '../schema/standard-schema.ts';
import type { Request } from './request.ts';
import type { BackgroundFn, BackgroundOptions, BackgroundRoute, BatchFn, HandlerOptions, HandlerRoute, HttpMethod, RouteSchemas } from './routes.ts';
import { routePolicy } from '../queue/job-policy.ts';

/** Paths kalium serves itself; an app route may not shadow them. */
const RESERVED = [
  /^\/jobs(\/|$)/,
  /^\/_k(\/|$)/,
  /^\/__status__$/,
  /^\/healthz$/,
  /^\/readyz$/,
  /^\/metrics$/,
  /^\/admin(\/|$)/,
  /^\/openapi\.json$/,
  /^\/docs(\/|$)/,
];
const METHODS = new Set<string>(['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] satisfies HttpMethod[]);

function fail(path: string, message: string): never {
  throw new TypeError(`Route ${path}: ${message}`);
}

function optionalInt(path: string, name: string, value: unknown, min: number): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    fail(path, `${name} must be an integer >= ${min}, got ${JSON.stringify(value)}`);
  }
  return value;
}

function checkCommon(path: string, options: { gpu?: unknown } & RouteSchemas, fn: unknown): void {
  if (typeof path !== 'string' || !/^\/[\w\-./]*$/.test(path)) {
    fail(String(path), 'the path must start with / and hold only letters, digits, _ - . and /');
  }
  if (RESERVED.some((pattern) => pattern.test(path))) fail(path, 'the path is reserved by kalium');
  if (options.gpu !== undefined && typeof options.gpu !== 'boolean') fail(path, 'gpu must be true or false');
  if (typeof fn !== 'function') fail(path, 'the handler must be a function');
  for (const side of ['input', 'output'] as const) {
    if (options[side] !== undefined && !isStandardSchema(options[side])) {
      fail(path, `${side} must be a Standard Schema (a zod 4, valibot or arktype schema, …)`);
    }
  }
  if (options.summary !== undefined && typeof options.summary !== 'string') fail(path, 'summary must be a string');
}

function schemas(options: RouteSchemas): Pick<HandlerRoute, 'input' | 'output' | 'summary'> {
  return { input: options.input, output: options.output, summary: options.summary };
}

export function handlerRoute(path: string, options: HandlerOptions, fn: HandlerRoute['fn']): HandlerRoute {
  checkCommon(path, options, fn);
  const methods = (options.methods ?? ['POST']).map((m) => String(m).toUpperCase() as HttpMethod);
  if (methods.length === 0 || methods.some((m) => !METHODS.has(m))) {
    fail(path, `methods must be a non-empty list of ${[...METHODS].join(', ')}`);
  }
  const cache = options.cache;
  if (cache !== undefined) {
    optionalInt(path, 'cache.ttl', cache.ttl, 1) ?? fail(path, 'cache.ttl (seconds) is required');
    optionalInt(path, 'cache.lockTimeoutMs', cache.lockTimeoutMs, 0);
    optionalInt(path, 'cache.refreshAheadMs', cache.refreshAheadMs, 0);
    if (cache.key !== undefined && typeof cache.key !== 'function') fail(path, 'cache.key must be a function');
  }
  return {
    kind: 'handler',
    path,
    gpu: options.gpu ?? true,
    timeoutMs: optionalInt(path, 'timeoutMs', options.timeoutMs, 1),
    maxWaitMs: optionalInt(path, 'maxWaitMs', options.maxWaitMs, 0) ?? 0,
    methods,
    cache,
    ...schemas(options),
    fn,
  };
}

export function backgroundRoute(path: string, options: BackgroundOptions, fn: BackgroundRoute['fn']): BackgroundRoute {
  checkCommon(path, options, fn);
  const backoff = options.backoff ?? { type: 'exponential', delayMs: 1000 };
  if (backoff.type !== 'fixed' && backoff.type !== 'exponential') fail(path, "backoff.type must be 'fixed' or 'exponential'");
  optionalInt(path, 'backoff.delayMs', backoff.delayMs, 0);
  let batch: BackgroundRoute['batch'];
  if (options.batch !== undefined) {
    batch = {
      maxSize: optionalInt(path, 'batch.maxSize', options.batch.maxSize, 1) ?? fail(path, 'batch.maxSize is required'),
      maxWaitMs: optionalInt(path, 'batch.maxWaitMs', options.batch.maxWaitMs, 0) ?? 0,
    };
  }
  return {
    kind: 'background',
    path,
    gpu: options.gpu ?? true,
    timeoutMs: optionalInt(path, 'timeoutMs', options.timeoutMs, 1),
    attempts: optionalInt(path, 'attempts', options.attempts, 1) ?? 1,
    backoff,
    batch,
    policy: routePolicy(path, options, fn),
    ...schemas(options),
    fn: options.input ? withValidatedInput(options.input, batch !== undefined, fn) : fn,
  };
}

/**
 * The api checked the body before queueing the job; the worker runs the schema again so that the
 * handler's `request.json` is the schema's output (defaults, transforms) there too, as its type says.
 */
function withValidatedInput(schema: StandardSchemaV1, batched: boolean, fn: BackgroundRoute['fn']): BackgroundRoute['fn'] {
  const validated = async (request: Request) => request.withJson(await validateInput(schema, request.json));
  if (batched) {
    const batchFn = fn as BatchFn<unknown>;
    const batchValidated: BatchFn<unknown> = async (context, requests, jobs) => batchFn(context, await Promise.all(requests.map(validated)), jobs);
    return batchValidated;
  }
  const single = fn as BackgroundFn<unknown>;
  const singleValidated: BackgroundFn<unknown> = async (context, request, job) => single(context, await validated(request), job);
  return singleValidated;
}
