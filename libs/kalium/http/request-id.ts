import { randomUUID } from 'node:crypto';
import type { Context, Next } from 'koa';

const ACCEPTABLE = /^[\w.:@/+=-]{1,128}$/;

/** Takes the caller's `X-Request-Id` (or potassium's `X-Banana-Request-Id`) when sane, else makes one. */
export async function requestId(ctx: Context, next: Next): Promise<void> {
  const given = ctx.get('x-request-id') || ctx.get('x-banana-request-id');
  const id = given && ACCEPTABLE.test(given) ? given : randomUUID();
  ctx.state.requestId = id;
  ctx.set('X-Request-Id', id);
  await next();
}
