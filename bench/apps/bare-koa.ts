// The baseline of the http bench: bare Koa + @koa/router + @koa/bodyparser answering the same JSON as
// kalium's routes. `/result` does what the example app's /result does: one Redis GET, JSON in and out.
import Koa from 'koa';
import Router from '@koa/router';
import { bodyParser } from '@koa/bodyparser';
import { Redis } from 'ioredis';

const port = Number(process.env.PORT);
const redis = new Redis(process.env.REDIS_URL!);
const storeKey = process.env.STORE_KEY_PREFIX!;

const router = new Router();
router.post('/echo', (ctx) => {
  const body = ctx.request.body as { n?: unknown } | undefined;
  ctx.body = { ok: true, n: body?.n ?? null };
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
