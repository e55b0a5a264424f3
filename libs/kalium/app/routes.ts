import type { StandardSchemaV1 } from '../schema/standard-schema.ts';
import type { Request } from './request.ts';
import type { Response } from './response.ts';
import type { RoutePolicy } from '../queue/job-policy.ts';

/** The methods a handler route may answer (in either case). */
export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** Options of the response cache on a handler route (SPEC §7). */
export interface RouteCacheOptions {
  /** Seconds an answer stays cached. */
  ttl: number;
  /** How long a caller waits for another replica computing the same key before computing itself. @defaultValue 10000 */
  lockTimeoutMs?: number;
  /** Builds the cache key from the request; by default a hash of the body. */
  key?: (request: Request) => string;
  /** A hit with less than this left triggers one background recompute across the fleet. */
  refreshAheadMs?: number;
}

/** What both kinds of route take: where they run, and the schemas of what comes in and goes out. */
export interface RouteSchemas {
  /**
   * Any Standard Schema (zod 4, valibot, arktype, …) the JSON body must match: checked before the
   * handler runs (and before a background job is queued), else 422 `invalid_input`; `request.json` is
   * the schema's output. @defaultValue no check; `request.json` is the parsed body
   */
  input?: StandardSchemaV1;
  /** Documents what the route returns (in /openapi.json); with NODE_ENV=development a handler's answer is checked against it. */
  output?: StandardSchemaV1;
  /** A line for the route in /openapi.json and /docs. */
  summary?: string;
}

export interface HandlerOptions extends RouteSchemas {
  /** Runs under the device's GPU lease; `context` is undefined when false. @defaultValue true */
  gpu?: boolean;
  /** Answer 504 `timeout` past this many ms. @defaultValue no limit */
  timeoutMs?: number;
  /** Wait up to this long for the GPU instead of answering 423 at once. @defaultValue 0 */
  maxWaitMs?: number;
  cache?: RouteCacheOptions;
  /** HTTP methods the route answers. @defaultValue ['POST'] */
  methods?: readonly (HttpMethod | Lowercase<HttpMethod>)[];
}

export interface BackgroundOptions extends RouteSchemas {
  /** @defaultValue true */
  gpu?: boolean;
  /** Abort `job.signal` and fail the job past this many ms. @defaultValue no limit */
  timeoutMs?: number;
  /** How many times a failing job runs in all. @defaultValue 1 */
  attempts?: number;
  /** Delay between attempts. @defaultValue { type: 'exponential', delayMs: 1000 } */
  backoff?: { type: 'fixed' | 'exponential'; delayMs: number };
  /** Dynamic batching: the handler gets an array of requests and returns an array of results. */
  batch?: { maxSize: number; maxWaitMs: number };
  /** A job still queued this long after it was accepted ends `canceled` (`deadline_exceeded`) unrun. @defaultValue no limit */
  maxQueueMs?: number;
  /** The default of `Cancel-After`: a job not finished this long after it was accepted is canceled. @defaultValue no limit */
  deadlineMs?: number;
  /** A streaming (async generator) handler's cap on kept output, in bytes of chunk JSON; past it the job fails. @defaultValue 1 MiB */
  maxOutputBytes?: number;
}

/** What a background handler gets besides the request. */
export interface JobContext {
  readonly id: string;
  /** 1 on the first run, 2 on the first retry, … */
  readonly attempt: number;
  /** Aborts when the job is canceled or times out. */
  readonly signal: AbortSignal;
  /** Reports progress, 0–100, to pollers, event streams and webhooks. */
  progress(percent: number): Promise<void>;
}

/** What a handler may answer with: a value (200 JSON), kalium's Response, or a WHATWG Response. */
export type HandlerResult<R = unknown> = R | Response | globalThis.Response;

// Handlers are user code: their context type is the app's, `J` what `request.json` holds.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type HandlerFn<C, J = any, R = unknown> = (context: C, request: Request<J>) => HandlerResult<R> | Promise<HandlerResult<R>>;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type BackgroundFn<C, J = any, R = unknown> = (context: C, request: Request<J>, job: JobContext) => R | Promise<R>;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type BatchFn<C, J = any, R = unknown> = (context: C, requests: Request<J>[], jobs: JobContext[]) => R[] | Promise<R[]>;

interface RouteBase {
  path: string;
  gpu: boolean;
  timeoutMs: number | undefined;
  input: StandardSchemaV1 | undefined;
  output: StandardSchemaV1 | undefined;
  summary: string | undefined;
}

export interface HandlerRoute extends RouteBase {
  kind: 'handler';
  maxWaitMs: number;
  methods: HttpMethod[];
  cache: RouteCacheOptions | undefined;
  fn: HandlerFn<unknown>;
}

export interface BackgroundRoute extends RouteBase {
  kind: 'background';
  attempts: number;
  backoff: { type: 'fixed' | 'exponential'; delayMs: number };
  batch: { maxSize: number; maxWaitMs: number } | undefined;
  /** Deadlines and the output cap (SPEC §14); absent: none, and the default cap. */
  policy?: RoutePolicy;
  fn: BackgroundFn<unknown> | BatchFn<unknown>;
}

export type Route = HandlerRoute | BackgroundRoute;
