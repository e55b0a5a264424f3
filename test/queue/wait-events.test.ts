// SPEC §4: GET /jobs/:id?wait=N holds the answer until the job ends (without polling Redis), and
// GET /jobs/:id/events streams progress then the end as Server-Sent Events.
import test from 'ava';
import { setTimeout as sleep } from 'node:timers/promises';
import { getJob, PREFIX, readEvents, startStack, submit, waitForStatus, type JobStack } from '../helpers/job-stack.ts';

let stack: JobStack;

test.before(async () => {
  stack = await startStack();
});
test.after.always(async () => {
  await stack?.close();
});

test.serial('?wait=N answers as soon as the job ends, not after N seconds', async (t) => {
  const id = await submit(stack.api.url, '/gpu', { ms: 1000 });
  const started = Date.now();
  const { status, body } = await getJob(stack.api.url, id, '?wait=30');
  const took = Date.now() - started;
  t.is(status, 200);
  t.is(body.status, 'succeeded');
  t.true(took >= 1000 && took < 10_000, `answered after ${took} ms`);
});

test.serial('?wait=N answers with the current state after N seconds when the job has not ended', async (t) => {
  const id = await submit(stack.api.url, '/gpu', { ms: 2500 });
  await waitForStatus(stack.api.url, id, ['running']);
  const started = Date.now();
  const { body } = await getJob(stack.api.url, id, '?wait=1');
  const took = Date.now() - started;
  t.is(body.status, 'running');
  t.true(took >= 950 && took < 3000, `held ${took} ms`);
  await waitForStatus(stack.api.url, id, ['succeeded']);
});

test.serial('a long-poll does not poll Redis while it waits', async (t) => {
  await stack.workers[0]!.kill('SIGTERM'); // nothing runs the job: the long-poll waits its whole time
  t.teardown(async () => void (await stack.startWorker()));
  const id = await submit(stack.api.url, '/echo', {});
  const client = stack.redis.client();
  const commands = async () => Number(/total_commands_processed:(\d+)/.exec(await client.info('stats'))![1]);
  const during = async (wait: number) => {
    const before = await commands();
    const { body } = await getJob(stack.api.url, id, `?wait=${wait}`);
    t.is(body.status, 'queued');
    return (await commands()) - before;
  };
  const short = await during(0.5);
  const long = await during(4);
  // A long-poll reads the job when it starts, once subscribed, and at its end: as many commands for
  // 4 s as for 0.5 s (a poll every few ms would add hundreds).
  t.true(long - short <= 2, `${short} Redis commands for a 0.5 s long-poll, ${long} for a 4 s one`);
});

test.serial('a job’s notices reach only the api processes waiting on it, and only while they wait', async (t) => {
  const client = stack.redis.client();
  const listeners = async (id: string) => ((await client.call('PUBSUB', 'NUMSUB', `${PREFIX}:job-notices:${id}`)) as [string, number])[1];
  // Nobody waits: the worker announces the result to no one (no api process is woken for it).
  const unwatched = await submit(stack.api.url, '/echo', {});
  await waitForStatus(stack.api.url, unwatched, ['succeeded']);
  t.is(await listeners(unwatched), 0);
  // A long-poll listens on its job's channel while it waits, and stops when it answers.
  const id = await submit(stack.api.url, '/gpu', { ms: 1500 });
  const polled = getJob(stack.api.url, id, '?wait=30');
  t.is(await reads(() => listeners(id), 1), 1);
  t.is((await polled).body.status, 'succeeded');
  t.is(await reads(() => listeners(id), 0), 0);
});

/** Reads every 20 ms until `read` gives `want` or a second has passed; the last value read. */
async function reads<T>(read: () => Promise<T>, want: T): Promise<T> {
  let value = await read();
  for (let i = 0; i < 50 && value !== want; i++) {
    await sleep(20);
    value = await read();
  }
  return value;
}

test.serial('events: progress as it changes, then the end with the job’s body, then the stream ends', async (t) => {
  const id = await submit(stack.api.url, '/gpu', { ms: 600 });
  const { status, events } = await readEvents(stack.api.url, id);
  t.is(status, 200);
  const names = events.map((e) => e.event);
  t.is(names.at(-1), 'succeeded');
  t.true(names.slice(0, -1).every((name) => name === 'progress'), names.join(','));
  t.true(names.length >= 2);
  const progress = events.slice(0, -1).map((e) => e.data.progress as number);
  t.deepEqual([...progress].sort((a, b) => a - b), progress, 'progress only goes up');
  t.true(progress.includes(60), `progress events ${progress.join(',')}`);
  t.like(events.at(-1)!.data, { id, status: 'succeeded', progress: 100 });
  t.is(typeof events.at(-1)!.data.result.pid, 'number');
});

test.serial('events of a job that has ended: just its end; of an unknown job: 404', async (t) => {
  const id = await submit(stack.api.url, '/echo', { n: 1 });
  await waitForStatus(stack.api.url, id, ['succeeded']);
  const { events } = await readEvents(stack.api.url, id);
  t.deepEqual(events.map((e) => e.event), ['succeeded']);
  t.deepEqual(events[0]!.data.result.echo, { n: 1 });
  const failedId = await submit(stack.api.url, '/fails');
  await waitForStatus(stack.api.url, failedId, ['failed']);
  t.deepEqual((await readEvents(stack.api.url, failedId)).events.map((e) => e.event), ['failed']);

  const unknown = await fetch(`${stack.api.url}/jobs/0b9f1c2e-4a5b-4c6d-8e7f-0123456789ab/events`);
  t.is(unknown.status, 404);
  t.is(((await unknown.json()) as any).error.code, 'job_not_found');
  t.is((await fetch(`${stack.api.url}/jobs/nope/events`)).status, 400);
});

test.serial('the event stream is really streamed: the first progress arrives before the job ends', async (t) => {
  const id = await submit(stack.api.url, '/gpu', { ms: 1500 });
  await waitForStatus(stack.api.url, id, ['running']);
  const res = await fetch(`${stack.api.url}/jobs/${id}/events`);
  t.regex(res.headers.get('content-type') ?? '', /^text\/event-stream/);
  const reader = res.body!.getReader();
  const first = new TextDecoder().decode((await reader.read()).value);
  t.true(first.startsWith('event: progress'), first);
  t.not((await getJob(stack.api.url, id)).body.status, 'succeeded');
  await reader.cancel();
  await sleep(100);
  await waitForStatus(stack.api.url, id, ['succeeded']);
});
