import type { Context, Next } from 'koa';
import { KaliumError } from '../errors/kalium-error.ts';
import type { Logger } from '../log/logger.ts';
import { checkHostHeader } from './host-header.ts';
import { takeRequestId } from './request-id.ts';

/** The body of every error kalium answers with. */
export interface ErrorBody {
  error: { code: string; message: string; request_id: string; stack?: string; [detail: string]: unknown };
}

/**
 * The api's outermost middleware: the request id first (every answer carries it, errors included),
 * the Host rules, then the rest of the chain, with anything thrown below mapped to SPEC's JSON error
 * shape. One middleware, not three: each layer of Koa's chain is a promise and a closure per request.
 */
export function edgeMiddleware(logger: Logger, development: boolean) {
  return async function edge(ctx: Context, next: Next): Promise<void> {
    takeRequestId(ctx);
    try {
      checkHostHeader(ctx);
      await next();
    } catch (thrown) {
      answerError(ctx, thrown, logger, development);
    }
  };
}

/**
 * Answers a thrown error in SPEC's JSON shape. Messages of errors not meant for the client (unexposed,
 * or not a KaliumError) are replaced and logged; stacks are shown only on a 5xx in development.
 */
export function answerError(ctx: Context, thrown: unknown, logger: Logger, development: boolean): void {
  const error = toKaliumError(thrown);
  if (!error.expose) {
    logger.error({ err: error.cause ?? thrown, requestId: ctx.state.requestId, path: ctx.path }, error.message);
  } else if (error.status >= 500) {
    // Expected conditions (initializing, backend_unavailable, queue_full): a line, not a stack.
    logger.warn({ code: error.code, requestId: ctx.state.requestId, path: ctx.path }, error.message);
  }
  ctx.status = error.status;
  for (const [name, value] of Object.entries(error.headers)) ctx.set(name, value);
  const body: ErrorBody = {
    error: {
      ...(error.expose ? error.details : undefined),
      code: error.code,
      message: error.expose ? error.message : messageFor(error),
      request_id: String(ctx.state.requestId ?? ''),
    },
  };
  // A 4xx is the caller's mistake and the message says it all; a stack there only shows kalium's insides.
  if (development && error.status >= 500) body.error.stack = String((error.cause as Error | undefined)?.stack ?? error.stack);
  ctx.body = body;
}

function messageFor(error: KaliumError): string {
  return error.code === 'handler_error' ? 'The handler failed.' : 'Internal error.';
}

/** Errors from Koa, http-errors and friends carry `status` and `expose`; keep their status, give them a code. */
export function toKaliumError(thrown: unknown): KaliumError {
  if (thrown instanceof KaliumError) return thrown;
  const candidate = thrown as { status?: unknown; expose?: unknown; message?: unknown } | undefined;
  const status = typeof candidate?.status === 'number' && candidate.status >= 400 && candidate.status < 600 ? candidate.status : 500;
  if (status < 500 && candidate?.expose === true) {
    return new KaliumError('bad_request', status, String(candidate.message), { cause: thrown });
  }
  return new KaliumError('internal_error', status, 'Internal error.', { cause: thrown, expose: false });
}
