import test from 'ava';
import { Queue } from 'bullmq';
import app from '../fixtures/apps/counter-app.ts';
import { startInProcessApi } from '../helpers/in-process-api.ts';
import { redisForFile } from '../helpers/redis-for-file.ts';

const TOKEN = 'admin-t0ken';
const redis = redisForFile();

async function api(t: { teardown(fn: () => Promise<void>): void }, env: Record<string, string>) {
  const server = await startInProcessApi(app, { REDIS_URL: redis.url, ...env });
  const queues: Queue[] = [];
  t.teardown(async () => {
    await server.close();
    await Promise.all(queues.map((queue) => queue.close()));
  });
  const addQueue = (name: string) => {
    const queue = new Queue(name, { connection: { host: '127.0.0.1', port: redis.port }, prefix: server.runtime.keys.prefix });
    queues.push(queue);
    server.runtime.queues.register(queue);
    return queue;
  };
  return { url: server.url, addQueue };
}

const basic = (user: string, password: string) => ({ authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` });
const queueNames = async (response: Response) =>
  ((await response.json()) as { queues: Array<{ name: string }> }).queues.map((queue) => queue.name).sort();

test('with ADMIN_TOKEN set, the dashboard wants it as a bearer token or a basic-auth password', async (t) => {
  const { url } = await api(t, { ADMIN_TOKEN: TOKEN, NODE_ENV: 'production' });

  for (const headers of [{}, { authorization: 'Bearer nope' }, basic('admin', 'nope'), basic(TOKEN, '')]) {
    const refused = await fetch(`${url}/admin/queues`, { headers });
    t.is(refused.status, 401, JSON.stringify(headers));
    t.regex(refused.headers.get('www-authenticate') ?? '', /^Basic realm="kalium admin"/, 'a browser is asked to log in');
    t.is(((await refused.json()) as { error: { code: string } }).error.code, 'unauthorized');
  }
  t.is((await fetch(`${url}/admin/queues/api/queues`)).status, 401, 'the API under the dashboard is guarded too');

  const page = await fetch(`${url}/admin/queues`, { headers: { authorization: `Bearer ${TOKEN}` } });
  t.is(page.status, 200);
  t.regex(await page.text(), /Bull Dashboard/);
  const listed = await fetch(`${url}/admin/queues/api/queues`, { headers: basic('anyone', TOKEN) });
  t.is(listed.status, 200);
  t.deepEqual(await queueNames(listed), ['jobs', 'webhooks'], "the app's job queue and the webhook queue");
});

test('in production without ADMIN_TOKEN the dashboard is refused outright', async (t) => {
  const { url } = await api(t, { NODE_ENV: 'production' });
  for (const path of ['/admin/queues', '/admin/queues/api/queues', '/admin/queues/static/js/main.js']) {
    const response = await fetch(url + path, { headers: { authorization: 'Bearer anything' } });
    t.is(response.status, 403, path);
    const body = (await response.json()) as { error: { code: string; message: string } };
    t.is(body.error.code, 'admin_disabled');
    t.regex(body.error.message, /ADMIN_TOKEN/);
  }
});

test('outside production without ADMIN_TOKEN it is open, and shows queues registered after it first loaded', async (t) => {
  const { url, addQueue } = await api(t, { NODE_ENV: 'development' });
  const first = await fetch(`${url}/admin/queues/api/queues`);
  t.is(first.status, 200);
  t.deepEqual(await queueNames(first), ['jobs', 'webhooks']);
  const queue = addQueue('extra');
  await queue.add('thing', { n: 1 });
  const second = await fetch(`${url}/admin/queues/api/queues`);
  const body = (await second.json()) as { queues: Array<{ name: string; counts: Record<string, number> }> };
  t.deepEqual(body.queues.map((q) => q.name).sort(), ['extra', 'jobs', 'webhooks']);
  t.is(body.queues.find((q) => q.name === 'extra')?.counts.waiting, 1);
});

test('ADMIN_TOKEN, not API_KEY, opens the dashboard when both are set', async (t) => {
  const { url } = await api(t, { NODE_ENV: 'production', API_KEY: 'user-key', ADMIN_TOKEN: TOKEN });
  t.is((await fetch(`${url}/admin/queues`, { headers: { authorization: 'Bearer user-key' } })).status, 401);
  t.is((await fetch(`${url}/admin/queues`, { headers: { authorization: `Bearer ${TOKEN}` } })).status, 200);
  t.is((await fetch(`${url}/count`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` } })).status, 401, 'the admin token is not an API key');
});

test('with only API_KEY set outside production, the API key guards the dashboard', async (t) => {
  const { url } = await api(t, { NODE_ENV: 'development', API_KEY: 'user-key' });
  t.is((await fetch(`${url}/admin/queues`)).status, 401);
  t.is((await fetch(`${url}/admin/queues`, { headers: { authorization: 'Bearer user-key' } })).status, 200);
});
