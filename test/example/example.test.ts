// The example app (apps/example/app.ts) served by a real `kalium api` child process on a real Redis,
// answering with the real wink-nlp model. The gpu route contends for one lease, so the tests run serially.
import test from 'ava';
import { Request } from '../../libs/kalium/app/request.ts';
import type { BackgroundRoute, JobContext } from '../../libs/kalium/app/routes.ts';
import { loadAppFile } from '../../libs/kalium/process/load-app.ts';
import { appKeys } from '../../libs/kalium/redis/keys.ts';
import { startKalium, type KaliumProcess } from '../helpers/kalium-process.ts';
import { startRedis, type RedisServer } from '../helpers/redis-server.ts';

const APP = 'apps/example/app.ts';
const keys = appKeys('example');
let redis: RedisServer;
let api: KaliumProcess;

test.before(async () => {
  redis = await startRedis();
  api = await startKalium('api', APP, { REDIS_URL: redis.url });
});

test.after.always(async () => {
  await api?.kill();
  await redis?.stop();
});

async function post(path: string, body: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(`${api.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: response.status, headers: response.headers, json: (await response.json()) as any };
}

test.serial('a positive sentence is labelled positive, with a positive score from the model', async (t) => {
  const { status, json } = await post('/', { text: 'I love this phone, the camera is brilliant!' });
  t.is(status, 200);
  t.is(json.label, 'positive');
  t.true(json.sentiment > 0 && json.sentiment <= 1);
  t.deepEqual(json.entities, []);
});

test.serial('a negative sentence is labelled negative, with a negative score', async (t) => {
  const { status, json } = await post('/', { text: 'This was a terrible, awful experience and I hate it.' });
  t.is(status, 200);
  t.is(json.label, 'negative');
  t.true(json.sentiment < 0 && json.sentiment >= -1);
});

test.serial('a plain statement is neutral and its entities are found', async (t) => {
  const { status, json } = await post('/', { text: 'The meeting is on Tuesday in Paris.' });
  t.is(status, 200);
  t.is(json.label, 'neutral');
  t.is(json.sentiment, 0);
  t.deepEqual(json.entities, [{ value: 'Tuesday', type: 'DATE' }]);
});

const badInputs: Array<[string, unknown, string]> = [
  ['no text', {}, 'invalid_input'],
  ['a number', { text: 42 }, 'invalid_input'],
  ['blank text', { text: '   ' }, 'invalid_input'],
  ['text over 10 000 characters', { text: 'good '.repeat(2001) }, 'invalid_input'],
  ['a JSON array', [1, 2], 'invalid_input'],
  ['a body that is not JSON', '{"text": ', 'invalid_json'],
];
for (const [what, body, code] of badInputs) {
  // invalid_input comes from the route's input schema (SPEC §13: 422, with issues); invalid_json from the parser.
  const expected = code === 'invalid_input' ? 422 : 400;
  test.serial(`POST / with ${what} is a ${expected} ${code} in SPEC's error shape`, async (t) => {
    const { status, headers, json } = await post('/', body, { 'x-request-id': `bad-${code}` });
    t.is(status, expected);
    t.deepEqual(Object.keys(json), ['error']);
    t.is(json.error.code, code);
    if (code === 'invalid_input') t.true(Array.isArray(json.error.issues) && json.error.issues.length > 0);
    t.is(typeof json.error.message, 'string');
    t.true(json.error.message.length > 0);
    t.is(json.error.request_id, 'bad-' + code);
    t.is(headers.get('x-request-id'), 'bad-' + code);
    t.is(json.error.stack, undefined);
  });
}

test.serial('the api still answers after bad input', async (t) => {
  await post('/', { text: 42 });
  const { status, json } = await post('/', { text: 'What a wonderful day.' });
  t.is(status, 200);
  t.is(json.label, 'positive');
});

test.serial('POST /result for an unknown job id is a 404 not_ready', async (t) => {
  const { status, json } = await post('/result', { id: 'no-such-job' });
  t.is(status, 404);
  t.is(json.error.code, 'not_ready');
  t.regex(json.error.message, /no-such-job/);
});

test.serial('POST /result returns what is stored under the job id in the app Store', async (t) => {
  const stored = { results: [{ sentiment: 0.5, label: 'positive', entities: [] }] };
  await redis.client().set(keys.store('job-42'), JSON.stringify(stored), 'EX', 60);
  const { status, json } = await post('/result', { id: 'job-42' });
  t.is(status, 200);
  t.deepEqual(json, stored);
});

test.serial('POST /result without a string id is a 422 invalid_input', async (t) => {
  for (const body of [{}, { id: 7 }, { id: '' }, { id: 'x'.repeat(257) }]) {
    const { status, json } = await post('/result', body);
    t.is(status, 422, JSON.stringify(body).slice(0, 40));
    t.is(json.error.code, 'invalid_input');
  }
});

test.serial('POST /background with a bad batch is a 422 listing each issue, and queues nothing', async (t) => {
  const queued = async () => {
    const status = (await (await fetch(`${api.url}/__status__`)).json()) as { queue: Record<string, number> };
    return Object.values(status.queue).reduce((sum, n) => sum + n, 0);
  };
  const before = await queued();
  const empty = await post('/background', { texts: [] });
  t.is(empty.status, 422);
  t.is(empty.json.error.code, 'invalid_input');
  t.is(empty.json.error.issues[0].path, 'texts');
  const mixed = await post('/background', { texts: ['fine', '  ', 3] });
  t.is(mixed.status, 422);
  t.deepEqual(
    mixed.json.error.issues.map((issue: { path: string }) => issue.path),
    ['texts.1', 'texts.2'],
  );
  t.is(await queued(), before, 'no job was queued for an invalid body');
  // The same count sees a valid submit, so the check above could fail.
  t.is((await post('/background', { texts: ['A fine day.'] })).status, 202);
  t.is(await queued(), before + 1);
});

test.serial('the gpu route answers 423 while the lease is held, and the gpu=false route still answers', async (t) => {
  const client = redis.client();
  await client.set(keys.store('job-held'), JSON.stringify({ results: [] }), 'EX', 60);
  // Long enough to outlast a slow machine; deleted in `finally`.
  t.is(await client.set(keys.lease('default'), 'someone-else', 'PX', 30_000, 'NX'), 'OK');
  try {
    const busy = await post('/', { text: 'I love it.' });
    t.is(busy.status, 423);
    t.is(busy.json.error.code, 'gpu_busy');
    t.regex(busy.headers.get('retry-after') ?? '', /^\d+$/);

    t.is((await post('/result', { id: 'job-held' })).status, 200);
    t.is((await post('/result', { id: 'job-missing' })).status, 404);
    t.is(await client.get(keys.lease('default')), 'someone-else', 'the api must not touch a lease it does not hold');
  } finally {
    await client.del(keys.lease('default'));
  }
  const free = await post('/', { text: 'I love it.' });
  t.is(free.status, 200);
  t.is(free.json.label, 'positive');
});

// The background route's queue side is mounted by the jobs part; here its handler runs as the worker
// would run it: with the app's real context, a real Request and a JobContext.
async function backgroundHandler() {
  const app = await loadAppFile(APP);
  const route = app.route('/background') as BackgroundRoute;
  const run = route.fn as (context: unknown, request: Request, job: JobContext) => Promise<any>;
  const context = await app.load();
  return (json: unknown, job: JobContext) => run(context, jobRequest(json), job);
}

function jobRequest(json: unknown): Request {
  const body = Buffer.from(JSON.stringify(json));
  return new Request({ id: 'job-1', path: '/background', method: 'POST', headers: {}, query: {}, json, body });
}

/** A JobContext that records progress; `afterProgress` runs after each report (e.g. to cancel). */
function jobContext(afterProgress: (controller: AbortController) => void = () => {}) {
  const controller = new AbortController();
  const progress: number[] = [];
  const job: JobContext = {
    id: 'job-1',
    attempt: 1,
    signal: controller.signal,
    progress: async (percent) => {
      progress.push(percent);
      afterProgress(controller);
    },
  };
  return { job, progress };
}

test.serial('the background handler analyses every text and reports progress up to 100', async (t) => {
  const run = await backgroundHandler();
  const { job, progress } = jobContext();
  const out = await run({ texts: ['I love it.', 'I hate it.', 'It is on Monday.'] }, job);
  t.deepEqual(out.results.map((r: { label: string }) => r.label), ['positive', 'negative', 'neutral']);
  t.deepEqual(progress, [33, 67, 100]);
});

test.serial('the background handler stops between texts once its signal aborts', async (t) => {
  const run = await backgroundHandler();
  const { job, progress } = jobContext((controller) => controller.abort(new Error('canceled')));
  await t.throwsAsync(run({ texts: ['one fine day', 'two', 'three'] }, job), { message: 'canceled' });
  t.deepEqual(progress, [33]);
});

test.serial('the background handler rejects a bad batch with invalid_input', async (t) => {
  const run = await backgroundHandler();
  for (const texts of [undefined, [], ['ok', 3], Array(101).fill('x')]) {
    const error = await t.throwsAsync(run({ texts }, jobContext().job));
    t.is((error as { code?: string }).code, 'invalid_input');
  }
});
