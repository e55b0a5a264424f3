// How BullMQ's view of a job, its cancel marker and its stored result become SPEC's job body; job ids.
import test from 'ava';
import { toJobBody, type JobSnapshot } from '../../libs/kalium/queue/job-body.ts';
import { isIdempotencyKey, isJobId, jobIdForKey, newJobId } from '../../libs/kalium/queue/job-ids.ts';

const T0 = Date.parse('2030-01-01T00:00:00.000Z');
const TTL = 3600_000;
const job = { name: '/route', timestamp: T0, processedOn: T0 + 10, finishedOn: T0 + 20, progress: 40, attemptsStarted: 1, failedReason: undefined, workerLosses: 0, errorCode: undefined };
const snapshot = (over: Partial<JobSnapshot>): JobSnapshot => ({ id: 'id', job, state: 'active', canceled: undefined, result: { found: false, value: null }, ...over });

test('BullMQ states map to SPEC statuses', (t) => {
  for (const [state, status] of [['waiting', 'queued'], ['delayed', 'queued'], ['prioritized', 'queued'], ['active', 'running'], ['failed', 'failed']]) {
    t.is(toJobBody(snapshot({ state, job: { ...job, finishedOn: state === 'failed' ? T0 + 20 : undefined } }), TTL, T0 + 30)?.status, status as never, state);
  }
  const done = toJobBody(snapshot({ state: 'completed', result: { found: true, value: { a: 1 } } }), TTL, T0 + 30)!;
  t.deepEqual(done, {
    id: 'id', route: '/route', status: 'succeeded', progress: 100, result: { a: 1 }, error: null, error_code: null, attempts: 1, worker_losses: 0,
    created_at: '2030-01-01T00:00:00.000Z', started_at: '2030-01-01T00:00:00.010Z', finished_at: '2030-01-01T00:00:00.020Z',
  });
  t.is(toJobBody(snapshot({ state: 'unknown', job: undefined }), TTL), undefined);
});

test('a finished job older than RESULT_TTL, or completed without its result, has expired', (t) => {
  t.is(toJobBody(snapshot({ state: 'completed', result: { found: true, value: 1 } }), TTL, T0 + 20 + TTL), undefined);
  t.is(toJobBody(snapshot({ state: 'completed' }), TTL, T0 + 30), undefined);
  t.is(toJobBody(snapshot({ state: 'failed', job: { ...job, failedReason: 'x' } }), TTL, T0 + 20 + TTL), undefined);
});

test('a stored result means succeeded, even in the moment before BullMQ records the job completed', (t) => {
  const body = toJobBody(snapshot({ state: 'active', job: { ...job, finishedOn: undefined }, result: { found: true, value: 'r' } }), TTL, T0 + 30)!;
  t.like(body, { status: 'succeeded', result: 'r', progress: 100, finished_at: '2030-01-01T00:00:00.030Z' });
});

test('a cancel marker means canceled unless a result was stored, and answers for a removed job', (t) => {
  const canceled = { canceledAt: T0 + 50, route: '/route', createdAt: T0, startedAt: null, attempts: 0, progress: 0, bodyHash: '' };
  t.is(toJobBody(snapshot({ state: 'active', canceled }), TTL, T0 + 60)?.status, 'canceled');
  t.is(toJobBody(snapshot({ state: 'failed', canceled }), TTL, T0 + 60)?.status, 'canceled');
  t.is(toJobBody(snapshot({ state: 'completed', canceled, result: { found: true, value: 1 } }), TTL, T0 + 60)?.status, 'succeeded');
  t.is(toJobBody(snapshot({ state: 'completed', canceled }), TTL, T0 + 60)?.status, 'canceled');
  const removed = toJobBody(snapshot({ state: 'unknown', job: undefined, canceled }), TTL, T0 + 60)!;
  t.like(removed, { status: 'canceled', route: '/route', attempts: 0, started_at: null, finished_at: '2030-01-01T00:00:00.050Z' });
});

test('job ids: random v4 UUIDs, or v8 UUIDs derived from an idempotency key per app', (t) => {
  t.true(isJobId(newJobId()));
  t.is(jobIdForKey('app', 'k'), jobIdForKey('app', 'k'));
  t.not(jobIdForKey('app', 'k'), jobIdForKey('other', 'k'));
  t.true(isJobId(jobIdForKey('app', 'k')));
  for (const bad of ['', 'abc', '0B9F1C2E-4A5B-4C6D-8E7F-0123456789AB', '0b9f1c2e-4a5b-4c6d-8e7f-0123456789ab/x', `${newJobId()}:lock`]) t.false(isJobId(bad), bad);
  t.true(isIdempotencyKey('order-42'));
  t.false(isIdempotencyKey('has space'));
  t.false(isIdempotencyKey('x'.repeat(256)));
});
