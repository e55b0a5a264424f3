import { randomUUID } from 'node:crypto';
import type { Context, Next } from 'koa';

const ACCEPTABLE = /^[\w.:@/+=-]{1,128}$/;

/** The caller's request id when it is sane (1-128 of letters, digits and `_.:@/+=-`), else a new UUID. */
export function chooseRequestId(given: string | undefined): string {
  return given && ACCEPTABLE.test(given) ? given : randomUUID();
}

/** Takes the caller's `X-Request-Id` (or potassium's `X-Banana-Request-Id`) when sane, else makes one. */
export async function requestId(ctx: Context, next: Next): Promise<void> {
  const id = chooseRequestId(ctx.get('x-request-id') || ctx.get('x-banana-request-id'));
  ctx.state.requestId = id;
  ctx.set('X-Request-Id', id);
  await next();
}
