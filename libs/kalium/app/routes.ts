import type { Request } from './request.ts';
import type { Response } from './response.ts';

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

export interface HandlerOptions {
  /** Runs under the device's GPU lease; `context` is undefined when false. @defaultValue true */
  gpu?: boolean;
  /** Answer 504 `timeout` past this many ms. @defaultValue no limit */
  timeoutMs?: number;
  /** Wait up to this long for the GPU instead of answering 423 at once. @defaultValue 0 */
  maxWaitMs?: number;
  cache?: RouteCacheOptions;
  /** HTTP methods the route answers. @defaultValue ['POST'] */
  methods?: string[];
}

export interface BackgroundOptions {
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

// Handlers are user code: their context type is the app's, their return anything JSON-able.
export type HandlerFn<C> = (context: C, request: Request) => unknown | Promise<unknown> | Response;
export type BackgroundFn<C> = (context: C, request: Request, job: JobContext) => unknown | Promise<unknown>;
export type BatchFn<C> = (context: C, requests: Request[], jobs: JobContext[]) => unknown[] | Promise<unknown[]>;

interface RouteBase {
  path: string;
  gpu: boolean;
  timeoutMs: number | undefined;
}

export interface HandlerRoute extends RouteBase {
  kind: 'handler';
  maxWaitMs: number;
  methods: string[];
  cache: RouteCacheOptions | undefined;
  fn: HandlerFn<unknown>;
}

export interface BackgroundRoute extends RouteBase {
  kind: 'background';
  attempts: number;
  backoff: { type: 'fixed' | 'exponential'; delayMs: number };
  batch: { maxSize: number; maxWaitMs: number } | undefined;
  fn: BackgroundFn<unknown> | BatchFn<unknown>;
}

export type Route = HandlerRoute | BackgroundRoute;
