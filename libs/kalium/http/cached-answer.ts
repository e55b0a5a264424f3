import type { Aborter } from '../app/lazy-abort.ts';
import type { Context } from 'koa';
import { Request } from '../app/request.ts';
import type { Response } from '../app/response.ts';
import type { HandlerRoute, RouteCacheOptions } from '../app/routes.ts';
import { DEFAULT_LOCK_TIMEOUT_MS } from '../cache/cache.ts';
import type { ComputeMode, Computed } from '../cache/cache-engine.ts';
import { requestDigest } from '../cache/request-digest.ts';
import { errors } from '../errors/kalium-error.ts';
import { routeCacheEntry } from '../redis/keys.ts';
import type { Runtime } from '../runtime/runtime.ts';
import { decodeCachedResponse, encodeCachedResponse, type CachedResponse } from './cached-response.ts';
import { ifNoneMatch, requestsNoCache } from './conditional.ts';
import { isStreamBody, writeResponse } from './write-response.ts';

/** What `invokeHandler` gives. */
export interface Answer {
  response: Response;
  /** Ends a streamed answer's hold on the GPU (see invokeHandler). */
  done?: () => void;
}

/** Runs the route's handler for a request (under the GPU lease when the route is a gpu one). */
export type Invoke = (request: Request, controller: Aborter) => Promise<Answer>;

/**
 * Answers a handler route that has `cache` (SPEC §7). A hit is served from Redis without touching the
 * GPU lease; a miss runs the handler under the entry's single-flight lock and stores a 2xx JSON or bytes
 * answer. Stored answers carry a quoted ETag, `Cache-Control: max-age=<seconds left>` and
 * `X-Cache: HIT|MISS`, and a matching `If-None-Match` gets 304. The request's own `Cache-Control:
 * no-cache` makes this request compute afresh (and store what it gets); it changes nothing for others.
 */
export async function answerCached(
  ctx: Context,
  route: HandlerRoute,
  cache: RouteCacheOptions,
  runtime: Runtime,
  request: Request,
  controller: Aborter,
  invoke: Invoke,
): Promise<void> {
  let digest: string;
  try {
    digest = requestDigest(request, cache.key);
  } catch (error) {
    throw errors.handlerError(error);
  }
  const ttlMs = cache.ttl * 1000;
  const compute = (mode: ComputeMode) =>
    mode === 'request' ? computeAnswer(invoke, request, controller) : computeInBackground(invoke, request);
  // HEAD (which @koa/router answers for GET routes) shares GET's entry: Koa drops the body.
  const method = request.method === 'HEAD' ? 'GET' : request.method;
  const fetched = await runtime.routeCache.fetch<Answer>(routeCacheEntry(route.path, method, digest), compute, {
    ttlMs,
    lockTimeoutMs: cache.lockTimeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS,
    refreshAheadMs: cache.refreshAheadMs,
    skipRead: requestsNoCache(ctx.get('cache-control')),
    onEvent: (event) => runtime.metrics.cache.inc({ route: route.path, event }),
  });

  if (fetched.source !== 'computed') {
    ctx.set('X-Cache', 'HIT');
    writeCached(ctx, decodeCachedResponse(fetched.entry.value), fetched.entry.ttlMs);
  } else if (fetched.value !== undefined) {
    ctx.set('X-Cache', 'MISS');
    writeCached(ctx, decodeCachedResponse(fetched.value), ttlMs);
  } else {
    ctx.set('X-Cache', 'MISS');
    writeResponse(ctx, fetched.result.response, fetched.result.done);
  }
}

async function computeAnswer(invoke: Invoke, request: Request, controller: Aborter): Promise<Computed<Answer>> {
  const answer = await invoke(request, controller);
  return { result: answer, value: encodeCachedResponse(answer.response) };
}

/**
 * A refresh-ahead: the same request, run again for no one in particular, with an abort signal of its
 * own. A streamed answer, which cannot be stored and has no one to read it, is closed at once so that
 * it frees the GPU.
 */
async function computeInBackground(invoke: Invoke, original: Request): Promise<Computed<Answer>> {
  const controller = new AbortController();
  const { id, path, method, headers, query, json, body } = original;
  const request = new Request({ id, path, method, headers, query, json, body, signal: controller.signal });
  const computed = await computeAnswer(invoke, request, controller);
  const { response, done } = computed.result;
  if (isStreamBody(response.body)) {
    void response.body[Symbol.asyncIterator]().return?.();
    done?.();
  }
  return computed;
}

function writeCached(ctx: Context, stored: CachedResponse, ttlMs: number): void {
  for (const [name, value] of Object.entries(stored.headers)) ctx.set(name, value);
  ctx.set('ETag', stored.etag);
  ctx.set('Cache-Control', `max-age=${Math.floor(ttlMs / 1000)}`);
  if (ifNoneMatch(ctx.get('if-none-match'), stored.etag)) {
    ctx.status = 304;
    return;
  }
  ctx.status = stored.status;
  ctx.body = stored.body;
}
