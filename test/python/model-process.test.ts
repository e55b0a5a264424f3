import test from 'ava';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { Writable } from 'node:stream';
import { createLogger } from '../../libs/kalium/log/logger.ts';
import { ModelProcess } from '../../libs/kalium/python/model-process.ts';
import { PythonError, type CallRequest, type CallResult } from '../../libs/kalium/python/protocol.ts';
import type { JobContext } from '../../libs/kalium/app/routes.ts';

const fixture = (name: string) => fileURLToPath(new URL(`../fixtures/python/${name}`, import.meta.url));

function capturingLogger() {
  const lines: Array<Record<string, unknown>> = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) if (line) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { logger: createLogger({ level: 'debug', destination }), lines };
}

const json = (value: unknown): [CallRequest, Buffer] => [
  { id: 'r1', method: 'POST', headers: {}, query: {}, json: true },
  Buffer.from(JSON.stringify(value)),
];
const parse = (result: CallResult) => JSON.parse(result.body.toString()) as Record<string, unknown>;

async function started(file: string, options: { minRestartDelayMs?: number } = {}) {
  const { logger, lines } = capturingLogger();
  const model = await ModelProcess.start({ python: 'python3', appFile: fixture(file), logger, callbacks: async () => undefined, ...options });
  return { model, lines };
}

function until(check: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const tick = () => (check() ? resolve() : Date.now() > deadline ? reject(new Error('condition not met in time')) : setTimeout(tick, 20));
    tick();
  });
}

test('the handshake reports the app’s name, routes and options before init runs', async (t) => {
  const { model } = await started('potassium_app.py');
  t.teardown(() => model.close());
  t.is(model.hello.app, 'potassium_test app');
  const routes = Object.fromEntries(model.hello.routes.map((route) => [route.path, route]));
  t.deepEqual(routes['/'], { path: '/', kind: 'handler', gpu: true, options: {} });
  t.deepEqual(routes['/cpu'], { path: '/cpu', kind: 'handler', gpu: false, options: {} });
  t.deepEqual(routes['/fail-job'], { path: '/fail-job', kind: 'background', gpu: true, options: { attempts: 2, backoff: { type: 'fixed', delayMs: 10 } } });
  t.is(model.notReadyReason, 'the Python model process has not finished init');
  await model.init();
  t.is(model.notReadyReason, undefined);
  t.deepEqual(parse(await model.call('/', ...json({ prompt: 'hi' }))), { outputs: 'HI' });
});

test('bodies of several MB of random bytes go through both ways unchanged', async (t) => {
  const { model } = await started('potassium_app.py');
  t.teardown(() => model.close());
  await model.init();
  const body = randomBytes(8 * 1024 * 1024 + 3);
  const result = await model.call('/echo', { id: 'r', method: 'POST', headers: {}, query: {}, json: false }, body);
  t.is(result.kind, 'bytes');
  t.true(result.body.equals(body));
  const empty = await model.call('/echo', { id: 'r', method: 'POST', headers: {}, query: {}, json: false }, Buffer.alloc(0));
  t.is(empty.body.length, 0);
});

test('concurrent gpu=False calls are multiplexed: each answer reaches its own caller, in the order they finish', async (t) => {
  const { model } = await started('potassium_app.py');
  t.teardown(() => model.close());
  await model.init();
  const finished: number[] = [];
  const delays = [400, 300, 200, 100, 0];
  const answers = await Promise.all(
    delays.map(async (ms) => {
      const answer = parse(await model.call('/cpu', ...json({ ms })));
      finished.push(ms);
      return answer;
    }),
  );
  t.deepEqual(answers.map((answer) => answer.ms), delays);
  t.true(answers.every((answer) => answer.context === null), 'gpu=False handlers get no context');
  // Run one after another, they would finish in the order they were sent.
  t.deepEqual(finished, [0, 100, 200, 300, 400]);
});

test('a Python exception rejects the call with its message; the traceback is only in the error’s stack', async (t) => {
  const { model } = await started('potassium_app.py');
  t.teardown(() => model.close());
  await model.init();
  const error = await t.throwsAsync(model.call('/fail', ...json({})), { instanceOf: PythonError });
  t.is(error.message, 'bad prompt');
  t.is(error.pythonType, 'ValueError');
  t.regex(error.stack ?? '', /Traceback \(most recent call last\)[\s\S]*potassium_app\.py[\s\S]*raise ValueError/);
  const set = await t.throwsAsync(model.call('/set', ...json({})), { instanceOf: PythonError });
  t.is(set.code, 'not_serializable');
  t.is(set.pythonType, 'set');
});

test('print and logging reach kalium’s log with their level', async (t) => {
  const { model, lines } = await started('potassium_app.py');
  t.teardown(() => model.close());
  await model.init();
  await until(() => lines.some((line) => line.msg === 'model loaded') && lines.some((line) => String(line.msg).startsWith('init ran in pid')));
  t.like(lines.find((line) => line.msg === 'model loaded'), { level: 40, python: 'logging', logger: 'potassium_app' });
  t.like(lines.find((line) => String(line.msg).startsWith('init ran in pid')), { level: 30, python: 'stdout' });
});

test('a model process that dies fails its calls in flight, starts again and runs init again', async (t) => {
  const { model, lines } = await started('potassium_app.py');
  t.teardown(() => model.close());
  await model.init();
  const first = parse(await model.call('/inits', ...json({})));
  const inFlight = model.call('/slow', ...json({ ms: 2000 }));
  const crash = model.call('/crash', ...json({}));
  await t.throwsAsync(inFlight, { message: /model process ended \(exit code 3\)/ });
  await t.throwsAsync(crash, { message: /model process ended/ });
  t.truthy(model.notReadyReason);
  // A call made while it is down waits for it to be back, then runs there.
  const after = parse(await model.call('/inits', ...json({})));
  t.not(after.pid, first.pid);
  t.is(after.inits, 1, 'init ran once in the new process');
  t.is(model.notReadyReason, undefined);
  t.true(lines.some((line) => line.msg === 'the Python model process is back'));
});

test('a job’s abort reaches job.aborted, and job.progress reaches the job', async (t) => {
  const { model } = await started('potassium_app.py');
  t.teardown(() => model.close());
  await model.init();
  const controller = new AbortController();
  const progress: number[] = [];
  const job = (id: string): JobContext => ({ id, attempt: 2, signal: controller.signal, progress: async (n: number) => void progress.push(n) });
  const reported = parse(await model.call('/progress', ...json({}), job('job-1')));
  t.deepEqual(reported, { attempt: 2, id: 'job-1' });
  t.deepEqual(progress, [50]);
  const aborting = model.call('/abortable', ...json({}), job('job-2'));
  setTimeout(() => controller.abort(), 100);
  t.deepEqual(parse(await aborting), { aborted: true });
});

test('a background generator’s chunks arrive as a stream whose return value is the generator’s', async (t) => {
  const { logger } = capturingLogger();
  const model = await ModelProcess.start({ python: 'python3', appFile: fixture('streaming_app.py'), logger, callbacks: async () => undefined });
  t.teardown(() => model.close());
  await model.init();
  const job: JobContext = { id: 'j', attempt: 3, signal: new AbortController().signal, progress: async () => {} };
  const result = await model.call('/summary', ...json({}), job);
  t.is(result.kind, 'stream');
  const chunks: unknown[] = [];
  const iterator = result.stream![Symbol.asyncIterator]();
  for (let step = await iterator.next(); ; step = await iterator.next()) {
    if (step.done) {
      t.deepEqual(parse(step.value as CallResult), { joined: 'ab', attempt: 3 });
      break;
    }
    chunks.push(step.value);
  }
  t.deepEqual(chunks, ['a', 'b']);
});

test('bytes off the protocol on its output stop the model process, which starts again: no call hangs', async (t) => {
  const { model, lines } = await started('garbage.py');
  t.teardown(() => model.close());
  await model.init();
  const before = parse(await model.call('/pid', ...json({})));
  await t.throwsAsync(model.call('/garbage', ...json({})), { message: /model process ended \(signal SIGKILL\)/ });
  t.true(lines.some((line) => line.msg === 'protocol error from the Python model process; stopping it'));
  const after = parse(await model.call('/pid', ...json({})));
  t.not(after.pid, before.pid);
  t.is(after.inits, 1);
});

test('init raising rejects with the Python traceback; an import error rejects the start', async (t) => {
  const { model } = await started('init_fails.py');
  const error = await t.throwsAsync(model.init(), { instanceOf: PythonError });
  t.is(error.code, 'init_failed');
  t.is(error.message, 'no weights at /models/bert.bin');
  t.regex(error.stack ?? '', /Traceback[\s\S]*FileNotFoundError: no weights/);
  const load = await t.throwsAsync(started('import_fails.py'), { instanceOf: PythonError });
  t.is(load.code, 'load_failed');
  t.regex(load.stack ?? '', /ModuleNotFoundError: No module named 'a_module_that_does_not_exist'/);
});

test('a Store call while the app module is imported fails the start with a clear message instead of hanging', async (t) => {
  const error = await t.throwsAsync(started('store_at_import.py'), { instanceOf: PythonError });
  t.is(error.code, 'load_failed');
  t.regex(error.message, /Store and send_webhook work from init and handlers, not while the app module is imported/);
});

test('a missing interpreter is a start-up error naming KALIUM_PYTHON', async (t) => {
  const { logger } = capturingLogger();
  await t.throwsAsync(
    ModelProcess.start({ python: '/nonexistent/python3', appFile: fixture('potassium_app.py'), logger, callbacks: async () => undefined }),
    { message: /KALIUM_PYTHON/ },
  );
});
