import test from 'ava';
import app from '../fixtures/apps/counter-app.ts';
import { tokensEqual, bearerToken, basicPassword } from '../../libs/kalium/http/token-equal.ts';
import { startInProcessApi } from '../helpers/in-process-api.ts';
import { startRedis, type RedisServer } from '../helpers/redis-server.ts';

const KEY = 'k3y-0f-the-api_with.symbols~';
let redis: RedisServer;
let url: string;
let close: () => Promise<void>;

test.before(async () => {
  redis = await startRedis();
  const api = await startInProcessApi(app, { REDIS_URL: redis.url, API_KEY: KEY });
  url = api.url;
  close = () => api.close();
});

test.after.always(async () => {
  await close?.();
  await redis?.stop();
});

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const calls = async () => ((await (await fetch(`${url}/calls`, { headers: bearer(KEY) })).json()) as { calls: number }).calls;

test.serial('with API_KEY set, a user route without the bearer token is 401 unauthorized and its handler never runs', async (t) => {
  const before = await calls();
  const attempts: Array<Record<string, string>> = [{}, bearer('wrong'), bearer(`${KEY}x`), bearer(KEY.slice(0, -1)), { authorization: KEY }, { authorization: `Basic ${Buffer.from(`u:${KEY}`).toString('base64')}` }, { 'x-api-key': KEY }];
  for (const headers of attempts) {
    const response = await fetch(`${url}/count`, { method: 'POST', headers });
    t.is(response.status, 401, JSON.stringify(headers));
    t.is(response.headers.get('www-authenticate'), 'Bearer');
    t.truthy(response.headers.get('x-request-id'));
    const body = (await response.json()) as { error: { code: string; message: string; request_id: string } };
    t.is(body.error.code, 'unauthorized');
    t.is(body.error.request_id, response.headers.get('x-request-id') ?? '');
    t.false(JSON.stringify(body).includes(KEY));
  }
  t.is(await calls(), before, 'no refused request reached the handler');
});

test.serial('the right bearer token opens every user route; the scheme is case-insensitive', async (t) => {
  const before = await calls();
  t.is((await fetch(`${url}/count`, { method: 'POST', headers: bearer(KEY) })).status, 200);
  t.is((await fetch(`${url}/count`, { method: 'POST', headers: { authorization: `bearer ${KEY}` } })).status, 200);
  t.is(await calls(), before + 2);
});

test.serial('health, readiness, status and metrics stay open for load balancers and scrapers', async (t) => {
  for (const path of ['/healthz', '/readyz', '/__status__', '/_k/status', '/metrics']) {
    t.is((await fetch(url + path)).status, 200, path);
  }
});

test.serial('warm-up and unknown paths need the key too, so a caller without it learns nothing about routes', async (t) => {
  t.is((await fetch(`${url}/_k/warmup`, { method: 'POST' })).status, 401);
  t.is((await fetch(`${url}/_k/warmup`, { method: 'POST', headers: bearer(KEY) })).status, 200);
  t.is((await fetch(`${url}/no/such/route`)).status, 401);
  t.is((await fetch(`${url}/no/such/route`, { headers: bearer(KEY) })).status, 404);
  t.is((await fetch(`${url}/HEALTHZ`)).status, 401, 'only the exact open paths are open');
});

test('without API_KEY every route is open', async (t) => {
  const open = await startInProcessApi(app, { REDIS_URL: redis.url });
  t.teardown(() => open.close());
  t.is((await fetch(`${open.url}/count`, { method: 'POST' })).status, 200);
});

test('tokens compare equal only when identical, whatever their lengths', (t) => {
  t.true(tokensEqual('abc', 'abc'));
  t.false(tokensEqual('abc', 'abd'));
  t.false(tokensEqual('abc', 'abcd'));
  t.false(tokensEqual('', 'abc'));
  t.true(tokensEqual('', ''));
  t.is(bearerToken('Bearer xyz'), 'xyz');
  t.is(bearerToken('Bearer'), undefined);
  t.is(bearerToken('Token xyz'), undefined);
  t.is(basicPassword(`Basic ${Buffer.from('user:pa:ss').toString('base64')}`), 'pa:ss');
  t.is(basicPassword(`Basic ${Buffer.from('nocolon').toString('base64')}`), undefined);
});

test('with API_KEY set, background submits and every /jobs route need the key; a refused submit queues nothing', async (t) => {
  const { default: jobsApp } = await import('../fixtures/apps/jobs-app.ts');
  const api = await startInProcessApi(jobsApp, { REDIS_URL: redis.url, API_KEY: KEY });
  t.teardown(() => api.close());
  const queued = async () => {
    const status = (await (await fetch(`${api.url}/__status__`)).json()) as { queue: Record<string, number> };
    return Object.values(status.queue).reduce((sum, n) => sum + n, 0);
  };
  const submit = (headers: Record<string, string>) =>
    fetch(`${api.url}/echo`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: '{"x":1}' });

  const before = await queued();
  t.is((await submit({})).status, 401);
  t.is((await submit(bearer('wrong'))).status, 401);
  t.is(await queued(), before, 'nothing was queued');

  const accepted = await submit(bearer(KEY));
  t.is(accepted.status, 202);
  const { id } = (await accepted.json()) as { id: string };
  for (const [path, method] of [[`/jobs/${id}`, 'GET'], [`/jobs/${id}/events`, 'GET'], [`/jobs/${id}`, 'DELETE'], ['/jobs/not-a-job', 'GET']] as const) {
    const refused = await fetch(api.url + path, { method });
    t.is(refused.status, 401, `${method} ${path}`);
    await refused.body?.cancel();
  }
  const read = await fetch(`${api.url}/jobs/${id}`, { headers: bearer(KEY) });
  t.is(read.status, 200);
  t.is(((await read.json()) as { id: string }).id, id);
});
