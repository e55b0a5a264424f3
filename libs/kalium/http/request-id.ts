import { randomUUID } from 'node:crypto';
import type { Context } from 'koa';

const ACCEPTABLE = /^[\w.:@/+=-]{1,128}$/;

/** The caller's request id when it is sane (1-128 of letters, digits and `_.:@/+=-`), else a new UUID. */
export function chooseRequestId(given: string | undefined): string {
  return given && ACCEPTABLE.test(given) ? given : randomUUID();
}

/**
 * Takes the caller's `X-Request-Id` (or potassium's `X-Banana-Request-Id`) when sane, else makes one,
 * and sets it on the answer. Read from and written to Node's objects directly: Koa's `ctx.get` and
 * `ctx.set` cost more than the rest of this, on every request.
 */
export function takeRequestId(ctx: Context): string {
  const headers = ctx.req.headers;
  const given = headers['x-request-id'] || headers['x-banana-request-id'];
  const id = chooseRequestId(typeof given === 'string' ? given : undefined);
  ctx.state.requestId = id;
  ctx.res.setHeader('X-Request-Id', id);
  return id;
}
