// The job path's reference (SPEC §16): what a user would write by hand instead of kalium. A Koa route
// that `queue.add`s the request and answers 202 with the job id; its worker is bare-bullmq-worker.ts (a
// concurrency-1 BullMQ worker whose return value is the result). Run as a process of its own, as
// kalium's api is.
import Koa from 'koa';
import Router from '@koa/router';
import { bodyParser } from '@koa/bodyparser';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';

const port = Number(process.env.PORT);
const connection = new Redis(process.env.REDIS_URL!, { maxRetriesPerRequest: null });
const queue = new Queue('jobs', { connection, prefix: process.env.QUEUE_PREFIX! });
const keep = { age: 3600, count: 100_000 };

const router = new Router();
router.post('/noop', async (ctx) => {
  const job = await queue.add('noop', { body: ctx.request.body ?? null }, { removeOnComplete: keep, removeOnFail: keep });
  ctx.status = 202;
  ctx.body = { id: job.id, status: 'queued' };
});

const koa = new Koa();
koa.use(bodyParser());
koa.use(router.routes()).use(router.allowedMethods());
koa.listen(port, '127.0.0.1');
process.on('SIGTERM', () => process.exit(0));
