import Koa from 'koa';
import Router from '@koa/router';
import type { Context, Middleware, Next } from 'koa';
import { errors } from '../errors/kalium-error.ts';
import type { Runtime } from '../runtime/runtime.ts';
import { edgeMiddleware } from './error-handler.ts';
import { handlerRoute } from './handler-route.ts';
import { systemRoutes } from './system-routes.ts';

/** What a part of kalium (jobs, metrics, admin, …) adds to the api. */
export interface ApiPart {
  /** Middleware run for every request, after request ids and error mapping (logging, metrics, auth). */
  middleware?: Middleware[];
  /** Registers the part's routes on the api's one router (after the system routes, before the app's). */
  routes?: (router: Router) => void;
  /** App routes the part answers (static paths, no parameters): answered from a Map, not matched by the router. */
  appRoutes?: AppRouteAnswer[];
}

/** One method of one of the app's routes and its middleware. */
export interface AppRouteAnswer {
  method: string;
  path: string;
  answer: Middleware;
}

/**
 * Builds the api's Koa app. Middleware order: the edge (request id, Host rules, error mapping) → parts' middleware →
 * unmatched-route mapping (404/405 as JSON) → the app's routes by path → one router holding the system,
 * parts' and app's routes.
 * One router, not one per part: each router is a middleware that matches every request's path against
 * its routes, and the http bench felt every extra one.
 */
export function createApi(runtime: Runtime, parts: ApiPart[] = []): Koa {
  const koa = new Koa();
  koa.on('error', (error: NodeJS.ErrnoException) => {
    // Errors after the headers went out (a stream failing mid-way) reach here, not the error handler.
    // A client that left mid-answer is the client's doing, not a fault of kalium's.
    if (CLIENT_GONE.has(error.code ?? '')) runtime.logger.info({ code: error.code }, 'client went away mid-response');
    else runtime.logger.error({ err: error }, 'response failed after it started');
  });
  koa.use(edgeMiddleware(runtime.logger, runtime.config.nodeEnv === 'development'));
  for (const part of parts) for (const middleware of part.middleware ?? []) koa.use(middleware);
  koa.use(unmatched);

  const router = new Router();
  systemRoutes(router, runtime);
  for (const part of parts) part.routes?.(router);
  const appRoutes = parts.flatMap((part) => part.appRoutes ?? []);
  for (const route of runtime.app.routes) {
    if (route.kind === 'handler') {
      const answer = handlerRoute(route, runtime);
      for (const method of route.methods) appRoutes.push({ method, path: route.path, answer });
    }
  }
  const direct = new Map<string, Middleware>();
  for (const { method, path, answer } of appRoutes) {
    router.register(path, [method], answer); // for the router's 405s and HEAD
    direct.set(`${method} ${path}`, answer);
  }
  koa.use(directRoutes(direct));
  koa.use(router.routes());
  koa.use(router.allowedMethods());
  return koa;
}

/**
 * An app's paths are static (no parameters), so a request for one of its handler or background routes
 * is answered from a Map without the router, which tries each of its routes' regular expressions on
 * every request. Anything else (HEAD, a wrong method, kalium's own routes) goes on to the router, which
 * also holds these routes for its 405s. The route label is the path, as the router would have set it.
 */
function directRoutes(routes: ReadonlyMap<string, Middleware>): Middleware {
  return function direct(ctx, next) {
    const answer = routes.get(`${ctx.method} ${ctx.path}`);
    if (answer === undefined) return next();
    (ctx as { _matchedRoute?: string })._matchedRoute = ctx.path;
    return answer(ctx, next);
  };
}

const CLIENT_GONE = new Set(['ERR_STREAM_PREMATURE_CLOSE', 'ECONNRESET', 'EPIPE']);

/**
 * Turns what no route answered into SPEC's errors: 404 `not_found`, 405 with `Allow`. The router
 * answers a method it does not know at all (TRACE, PROPFIND, …) with 501; on a path some route
 * takes that is a 405 like any other method it does not take (SPEC §17), elsewhere a 404.
 */
async function unmatched(ctx: Context, next: Next): Promise<void> {
  await next();
  if (ctx.body !== undefined && ctx.body !== null) return;
  if (ctx.status === 405 || ctx.status === 501) {
    const allowed = String(ctx.response.get('Allow'));
    if (allowed !== '') throw errors.methodNotAllowed(ctx.method, allowed.split(/,\s*/));
    throw errors.notFound(ctx.path);
  }
  if (ctx.status === 404) throw errors.notFound(ctx.path);
}
