// The parsing of SPEC §14's headers and route options, and the choice not to stream from batch routes.
import test from 'ava';
import { Kalium } from 'kalium';
import { jobPolicy, parseCancelAfter } from '../../libs/kalium/queue/job-policy.ts';
import { KaliumError } from '../../libs/kalium/errors/kalium-error.ts';
import { openApiDocument } from '../../libs/kalium/http/openapi-document.ts';

test('Cancel-After takes a positive whole number of ms, s, m or h, up to a day', (t) => {
  t.is(parseCancelAfter('30s'), 30_000);
  t.is(parseCancelAfter('5m'), 300_000);
  t.is(parseCancelAfter('1h'), 3_600_000);
  t.is(parseCancelAfter('250ms'), 250);
  for (const bad of ['', '30', '1.5s', '0s', '-1s', '25h', '1d', 's', '30 s x']) {
    const error = t.throws(() => parseCancelAfter(bad), { instanceOf: KaliumError });
    t.is(error?.status, 400);
    t.is(error?.code, 'invalid_header');
    t.deepEqual(error?.details, { header: 'Cancel-After' });
  }
});

test("a job's deadline is Cancel-After from its acceptance, else the route's deadlineMs; maxQueueMs bounds its wait", (t) => {
  const route = { maxQueueMs: 1000, deadlineMs: 5000, maxOutputBytes: 10 };
  t.deepEqual(jobPolicy({}, route, 100), { priority: 'normal', deadlineAt: 5100, deadlineMs: 5000, startBy: 1100, maxQueueMs: 1000 });
  t.deepEqual(jobPolicy({ 'cancel-after': '2s', 'x-priority': 'Low' }, route, 100), {
    priority: 'low',
    deadlineAt: 2100,
    deadlineMs: 2000,
    startBy: 1100,
    maxQueueMs: 1000,
  });
  t.deepEqual(jobPolicy({}, undefined, 100), { priority: 'normal' });
  const twice = t.throws(() => jobPolicy({ 'x-priority': ['high', 'low'] }, undefined), { instanceOf: KaliumError });
  t.deepEqual(twice?.details, { header: 'X-Priority' });
});

test('generators do not combine with batch: a batch route with an async generator handler is refused at registration', (t) => {
  const app = new Kalium('policyfixture');
  t.throws(
    () =>
      app.background('/batched', { gpu: false, batch: { maxSize: 4, maxWaitMs: 10 } }, async function* () {
        yield 1;
      } as never),
    { message: /batch handler cannot be an async generator/ },
  );
  t.notThrows(() =>
    app.background('/alone', { gpu: false }, async function* () {
      yield 1;
    }),
  );
});

test('route options maxQueueMs, deadlineMs and maxOutputBytes must be positive integers', (t) => {
  const app = new Kalium('policyfixture2');
  for (const option of ['maxQueueMs', 'deadlineMs', 'maxOutputBytes']) {
    t.throws(() => app.background(`/bad-${option}`, { gpu: false, [option]: 0 }, async () => null), { message: new RegExp(option) });
  }
  t.throws(() => app.background('/too-long', { gpu: false, deadlineMs: 24 * 3600 * 1000 + 1 }, async () => null), { message: /deadlineMs must be at most a day/ });
});

test("the OpenAPI document names Cancel-After and X-Priority on background routes, with the route's defaults", (t) => {
  const app = new Kalium('policyfixture3');
  app.background('/bounded', { gpu: false, maxQueueMs: 400, deadlineMs: 600 }, async () => null);
  const document = openApiDocument(app.routes, { title: 'policyfixture3', bearer: false });
  const parameters = (document as { paths: Record<string, { post: { parameters: unknown } }> }).paths['/bounded']!.post.parameters as Array<{ name: string; schema: Record<string, unknown>; description: string }>;
  const cancelAfter = parameters.find((p) => p.name === 'Cancel-After');
  t.truthy(cancelAfter);
  t.regex(cancelAfter!.description, /deadline_exceeded/);
  t.regex(cancelAfter!.description, /600 ms/);
  t.regex(cancelAfter!.description, /400 ms/);
  t.deepEqual(parameters.find((p) => p.name === 'X-Priority')?.schema.enum, ['high', 'normal', 'low']);
});
