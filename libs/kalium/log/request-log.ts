import type { OutcomeReporter } from '../http/request-outcome.ts';
import type { Logger } from './logger.ts';

/**
 * One JSON line per request: its id, route pattern, path (never the query string, which may carry
 * tokens), method, status and duration. Never the body nor any header: what a caller sends is theirs.
 */
export function requestLog(logger: Logger): OutcomeReporter {
  return (ctx, { route, method, status, durationMs }) => {
    // Checked per request (the level can change at run time) but before building the line.
    if (!logger.isLevelEnabled('info')) return;
    logger.info(
      { requestId: ctx.state.requestId, route, path: ctx.path, method, status, durationMs: Math.round(durationMs * 100) / 100 },
      'request',
    );
  };
}
