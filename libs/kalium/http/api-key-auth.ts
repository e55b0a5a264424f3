import type { Middleware } from 'koa';
import type { Config } from '../config/config.ts';
import { errors } from '../errors/kalium-error.ts';
import { isAdminPath } from './admin-dashboard.ts';
import type { ApiPart } from './server.ts';
import { bearerToken, tokensEqual } from './token-equal.ts';

/**
 * Paths answered without the API key: load balancers and Prometheus probe them and carry no key.
 * `/metrics` reveals route names and volumes, not data; keep it off the public network (see the
 * operations docs). `/_k/warmup` is not here: it is a client's call, not a probe.
 */
export const OPEN_PATHS: ReadonlySet<string> = new Set(['/healthz', '/readyz', '/__status__', '/_k/status', '/metrics']);

/**
 * With `API_KEY` set, every other route (the app's, `/jobs/…`, unknown paths alike) needs
 * `Authorization: Bearer <API_KEY>`, else 401 `unauthorized`. The queue dashboard answers to
 * `ADMIN_TOKEN` instead when that is set; without it, the API key guards the dashboard too.
 */
export function apiKeyPart(config: Pick<Config, 'apiKey' | 'adminToken'>): ApiPart {
  const key = config.apiKey;
  if (key === undefined) return {};
  return { middleware: [requireApiKey(key, config.adminToken !== undefined)] };
}

function requireApiKey(key: string, adminHasItsOwnToken: boolean): Middleware {
  return async function checkApiKey(ctx, next) {
    if (OPEN_PATHS.has(ctx.path) || (adminHasItsOwnToken && isAdminPath(ctx.path))) return next();
    const token = bearerToken(ctx.get('authorization'));
    if (token === undefined || !tokensEqual(token, key)) throw errors.unauthorized();
    await next();
  };
}
