import type Router from '@koa/router';
import { KaliumError } from '../errors/kalium-error.ts';
import type { ErrorBody } from './error-handler.ts';
import type { Runtime } from '../runtime/runtime.ts';
import { appNotReadyReason } from '../process/readiness-checks.ts';

/** Health, readiness, potassium's status and warm-up routes: open to load balancers, never auth-gated. */
export function systemRoutes(router: Router, runtime: Runtime): void {
  router.get('/healthz', (ctx) => {
    ctx.body = { status: 'ok' };
  });

  const readiness = readinessLog(runtime);
  router.get('/readyz', async (ctx) => {
    const reason = !runtime.initialized
      ? 'init has not finished'
      : (appNotReadyReason(runtime.app) ?? (!(await runtime.redisAnswers()) ? 'Redis does not answer' : undefined));
    readiness(reason);
    if (reason === undefined) {
      ctx.body = { ready: true };
      return;
    }
    // Answered here, not thrown: the error handler would log every probe of an expected state.
    const error = notReady(reason);
    ctx.status = error.status;
    for (const [name, value] of Object.entries(error.headers)) ctx.set(name, value);
    const body: ErrorBody = { error: { code: error.code, message: error.message, request_id: String(ctx.state.requestId ?? '') } };
    ctx.body = body;
  });

  const status = async (ctx: { body: unknown }) => {
    let gpuAvailable = false;
    try {
      gpuAvailable = !(await runtime.lease.isHeld());
    } catch {
      // Redis down: the device cannot be leased, so it is not available.
    }
    ctx.body = {
      gpu_available: gpuAvailable,
      ...runtime.gpuStats.snapshot(),
      queue: await runtime.queueCounts(),
    };
  };
  router.get('/__status__', status);
  router.get('/_k/status', status);

  router.post('/_k/warmup', async (ctx) => {
    await runtime.whenInitialized();
    ctx.body = { warm: true };
  });
}

function notReady(reason: string): KaliumError {
  return new KaliumError('not_ready', 503, `Not ready: ${reason}.`, { expose: true, headers: { 'Retry-After': '1' } });
}

/**
 * Logs readiness when it changes, not at every probe: a load balancer probes every few seconds, and
 * an outage should read as one `not ready` line with its reason, then one `ready`.
 */
function readinessLog(runtime: Runtime): (reason: string | undefined) => void {
  let last: string | undefined | null = null; // null: not probed yet
  return (reason) => {
    if (reason === last) return;
    last = reason;
    if (reason !== undefined) runtime.logger.warn({ reason }, 'not ready');
    else runtime.logger.info('ready');
  };
}
