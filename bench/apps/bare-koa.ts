// The baseline of the http bench: bare Koa + @koa/router + @koa/bodyparser answering the same JSON as
// kalium's routes. `/result` does what the example app's /result does: one Redis GET, JSON in and out.
import Koa from 'koa';
import Router from '@koa/router';
import { bodyParser } from '@koa/bodyparser';
import { Redis } from 'ioredis';
import { z } from 'zod';

const port = Number(process.env.PORT);
const redis = new Redis(process.env.REDIS_URL!);
const storeKey = process.env.STORE_KEY_PREFIX!;

const router = new Router();
router.post('/echo', (ctx) => {
  const body = ctx.request.body as { n?: unknown } | undefined;
  ctx.body = { ok: true, n: body?.n ?? null };
});
// What kalium's /echo-checked does by hand: the same zod schema, 422 with the issues when it fails.
const checked = z.object({ n: z.number() });
router.post('/echo-checked', (ctx) => {
  const parsed = checked.safeParse(ctx.request.body);
  if (!parsed.success) {
    ctx.status = 422;
    ctx.body = { error: { code: 'invalid_input', issues: parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })) } };
    return;
  }
  ctx.body = { ok: true, n: parsed.data.n };
});
router.post('/result', async (ctx) => {
  const { id } = ctx.request.body as { id: string };
  const raw = await redis.get(storeKey + id);
  if (raw === null) {
    ctx.status = 404;
    ctx.body = { error: { code: 'not_ready', message: `No result for job ${id} yet.` } };
  } else {
    ctx.body = JSON.parse(raw);
  }
});

const koa = new Koa();
koa.use(bodyParser());
koa.use(router.routes()).use(router.allowedMethods());
koa.listen(port, '127.0.0.1');
process.on('SIGTERM', () => process.exit(0));
