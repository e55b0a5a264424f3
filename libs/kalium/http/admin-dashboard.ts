import type { Context, Middleware, Next } from 'koa';
import type { Config } from '../config/config.ts';
import { errors, KaliumError } from '../errors/kalium-error.ts';
import type { QueueRegistry } from '../runtime/queue-registry.ts';
import type { Runtime } from '../runtime/runtime.ts';
import type { ApiPart } from './server.ts';
import { basicPassword, bearerToken, tokensEqual } from './token-equal.ts';

/** Where the queue dashboard is served. */
export const ADMIN_PATH = '/admin/queues';

export function isAdminPath(path: string): boolean {
  return path === ADMIN_PATH || path.startsWith(`${ADMIN_PATH}/`);
}

/**
 * The queue dashboard (bull-board) at `/admin/queues`, showing every queue on `runtime.queues`.
 * With `ADMIN_TOKEN` set it wants that token, as a bearer token or as the password of basic auth
 * (so a browser can log in); without one it is refused in production (403 `admin_disabled`) and
 * open elsewhere. bull-board is loaded on the first dashboard request, not at start-up.
 */
export function adminDashboardPart(runtime: Runtime): ApiPart {
  let board: Promise<Middleware> | undefined;
  return {
    middleware: [
      async function adminDashboard(ctx: Context, next: Next) {
        if (!isAdminPath(ctx.path)) return next();
        ctx.state.routeLabel = ADMIN_PATH;
        checkAdminAccess(ctx, runtime.config);
        board ??= loadBoard(runtime.queues);
        board.catch(() => (board = undefined)); // a failed load is retried by the next request
        // Nothing of kalium's lies past the dashboard, so it gets a `next` that ends the chain: given
        // kalium's own, a path bull-board does not serve reached kalium's 404, whose throw bull-board's
        // error handler turned into a 500 (and an error-level log line).
        await (await board)(ctx, async () => {});
        if (ctx.body !== undefined && ctx.body !== null) return;
        const allowed = String(ctx.response.get('Allow'));
        if (ctx.status === 405 && allowed !== '') throw errors.methodNotAllowed(ctx.method, allowed.split(/,\s*/));
        throw errors.notFound(ctx.path);
      },
    ],
  };
}

/** @throws KaliumError 401 without the right token, 403 in production when no token is configured. */
function checkAdminAccess(ctx: Context, config: Pick<Config, 'adminToken' | 'nodeEnv'>): void {
  const token = config.adminToken;
  if (token === undefined) {
    if (config.nodeEnv !== 'production') return;
    throw new KaliumError(
      'admin_disabled',
      403,
      'The queue dashboard is off in production until ADMIN_TOKEN is set.',
    );
  }
  const authorization = ctx.get('authorization');
  const presented = bearerToken(authorization) ?? basicPassword(authorization);
  if (presented === undefined || !tokensEqual(presented, token)) {
    throw new KaliumError('unauthorized', 401, 'The queue dashboard needs ADMIN_TOKEN, as a bearer token or a basic-auth password.', {
      headers: { 'WWW-Authenticate': 'Basic realm="kalium admin", charset="UTF-8"' },
    });
  }
}

/** Builds bull-board's Koa middleware; the queue list is refreshed whenever the registry changes. */
async function loadBoard(queues: QueueRegistry): Promise<Middleware> {
  const [{ createBullBoard }, { BullMQAdapter }, { KoaAdapter }] = await Promise.all([
    import('@bull-board/api'),
    import('@bull-board/api/bullMQAdapter'),
    import('@bull-board/koa'),
  ]);
  const serverAdapter = new KoaAdapter();
  serverAdapter.setBasePath(ADMIN_PATH);
  const board = createBullBoard({ queues: [], serverAdapter });
  const plugin = serverAdapter.registerPlugin() as Middleware;
  let shown = -1;
  return (ctx, next) => {
    if (shown !== queues.version) {
      board.replaceQueues(queues.list().map((queue) => new BullMQAdapter(queue)));
      shown = queues.version;
    }
    return plugin(ctx, next);
  };
}
