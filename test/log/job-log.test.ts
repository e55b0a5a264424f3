import test from 'ava';
import { startStack, type JobStack } from '../helpers/job-stack.ts';

let stack: JobStack;

test.before(async () => {
  stack = await startStack();
});
test.after.always(async () => {
  await stack?.close();
});

const submit = async (path: string, body: unknown) => {
  const response = await fetch(stack.api.url + path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: 'Bearer job-log-secret-token-4d2e' },
    body: JSON.stringify(body),
  });
  if (response.status !== 202) throw new Error(`submit answered ${response.status}`);
  return ((await response.json()) as { id: string }).id;
};

test.serial('the worker logs one line per finished job: id, route, status, attempts, durations, and never its input or result', async (t) => {
  const worker = stack.workers[0]!;
  const ok = await submit('/echo', { secret: 'job-input-marker-7c1f' });
  const line = await worker.waitForLog((l) => l.msg === 'job finished' && l.jobId === ok, 30_000);
  t.like(line, { route: '/echo', status: 'succeeded', attempts: 1, level: 30 });
  t.is(typeof line.durationMs, 'number');
  t.true((line.durationMs as number) >= 0);
  t.is(typeof line.queuedMs, 'number');

  const failing = await submit('/fails', { secret: 'job-input-marker-7c1f' });
  const failed = await worker.waitForLog((l) => l.msg === 'job finished' && l.jobId === failing, 30_000);
  t.like(failed, { route: '/fails', status: 'failed', attempts: 2, level: 40 });
  t.regex(String(failed.error), /model exploded on attempt 2/);
  t.is(worker.logs.filter((l) => l.msg === 'job finished' && l.jobId === failing).length, 1, 'one line for the job, not one per attempt');

  const output = JSON.stringify([...worker.logs, ...stack.api.logs]) + worker.stderr() + stack.api.stderr();
  t.false(output.includes('job-input-marker-7c1f'), 'no job input in any log');
  t.false(output.includes('job-log-secret-token-4d2e'), 'no Authorization header in any log');
  t.false(JSON.stringify(worker.logs.filter((l) => l.msg === 'job finished')).includes('"echo"'), 'no job result in the job line');
});
