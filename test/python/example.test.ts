// The example Python app (apps/example-python): a naive Bayes sentiment model trained at init.
import test from 'ava';
import { resolve } from 'node:path';
import { startKalium, type KaliumProcess } from '../helpers/kalium-process.ts';
import { startRedis, type RedisServer } from '../helpers/redis-server.ts';

const APP = resolve('apps/example-python/app.py');
let redis: RedisServer;
let api: KaliumProcess;
let worker: KaliumProcess;

test.before(async () => {
  redis = await startRedis();
  [api, worker] = await Promise.all([startKalium('api', APP, { REDIS_URL: redis.url }), startKalium('worker', APP, { REDIS_URL: redis.url })]);
});
test.after.always(async () => {
  await Promise.all([api?.kill(), worker?.kill()]);
  await redis?.stop();
});

const post = async (path: string, body: unknown) =>
  (await fetch(`${api.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })).json() as Promise<Record<string, unknown>>;

test.serial('the model tells reviews it never saw apart', async (t) => {
  t.like(await post('/', { text: 'a truly great film, i loved the acting' }), { label: 'positive' });
  t.like(await post('/', { text: 'boring and far too long, a waste of money' }), { label: 'negative' });
  const { score } = await post('/', { text: 'delightful' });
  t.true(typeof score === 'number' && score > 0.5 && score <= 1);
});

test.serial('a background batch reports progress, keeps its results in the Store and returns them', async (t) => {
  const { id } = await post('/background', { texts: ['wonderful service', 'rude and slow'] });
  const job = (await (await fetch(`${api.url}/jobs/${String(id)}?wait=20`)).json()) as Record<string, unknown>;
  t.like(job, { status: 'succeeded', progress: 100, result: [{ label: 'positive' }, { label: 'negative' }] });
  t.like(await post('/stored', { id }), { results: [{ label: 'positive' }, { label: 'negative' }] });
  t.truthy(worker.logs.find((line) => /sentiment model trained on 80 reviews/.test(String(line.msg))));
});
