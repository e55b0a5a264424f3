import type { Middleware } from 'koa';
import { observeRequest } from '../http/request-outcome.ts';
import type { ApiPart } from '../http/server.ts';
import type { Logger } from './logger.ts';

/**
 * One JSON line per request: its id, route pattern, path (never the query string, which may carry
 * tokens), method, status and duration. Never the body nor any header: what a caller sends is theirs.
 */
export function requestLogPart(logger: Logger): ApiPart {
  return { middleware: [requestLog(logger)] };
}

function requestLog(logger: Logger): Middleware {
  return function logRequest(ctx, next) {
    return observeRequest(ctx, next, ({ route, method, status, durationMs }) => {
      logger.info(
        { requestId: ctx.state.requestId, route, path: ctx.path, method, status, durationMs: Math.round(durationMs * 100) / 100 },
        'request',
      );
    });
  };
}
