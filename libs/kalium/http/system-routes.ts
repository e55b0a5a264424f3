import type Router from '@koa/router';
import { KaliumError } from '../errors/kalium-error.ts';
import type { Runtime } from '../runtime/runtime.ts';

/** Health, readiness, potassium's status and warm-up routes: open to load balancers, never auth-gated. */
export function systemRoutes(router: Router, runtime: Runtime): void {
  router.get('/healthz', (ctx) => {
    ctx.body = { status: 'ok' };
  });

  router.get('/readyz', async (ctx) => {
    if (!runtime.initialized) throw notReady('init has not finished');
    if (!(await runtime.redisAnswers())) throw notReady('Redis does not answer');
    ctx.body = { ready: true };
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
  return new KaliumError('not_ready', 503, `Not ready: ${reason}.`, { headers: { 'Retry-After': '1' } });
}
