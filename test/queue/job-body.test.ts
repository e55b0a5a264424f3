// How BullMQ's view of a job, its cancel marker and its stored result become SPEC's job body; job ids.
import test from 'ava';
import { runSnapshot, toJobBody, type JobFields, type JobSnapshot } from '../../libs/kalium/queue/job-body.ts';
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

// The worker's events and webhooks are built from what it knows of a run; GET from what Redis holds.
// Both go through toJobBody, so the same facts give the same body.
test('a worker event’s body is the body GET /jobs/:id answers for the same facts', (t) => {
  const fields: JobFields = { ...job, finishedOn: undefined, workerLosses: 2 };
  const get = (over: Partial<JobSnapshot>) => toJobBody(snapshot(over), Infinity, T0 + 30);
  const event = (end: Parameters<typeof runSnapshot>[2], f: JobFields = fields) => toJobBody(runSnapshot('id', f, end), Infinity, T0 + 30);
  t.deepEqual(event({ status: 'running' }), get({ state: 'active', job: fields }));
  t.like(event({ status: 'running' }), { status: 'running', worker_losses: 2, finished_at: null });
  const done = { ...fields, finishedOn: T0 + 20 };
  t.deepEqual(event({ status: 'succeeded', result: { a: 1 } }, done), get({ state: 'completed', job: done, result: { found: true, value: { a: 1 } } }));
  const failed = event({ status: 'failed', error: 'boom' }, done);
  t.deepEqual(failed, get({ state: 'failed', job: { ...done, failedReason: 'boom' } }));
  t.like(failed, { status: 'failed', error: 'boom', error_code: 'handler_error', result: null });
  const lost = event({ status: 'failed', error: 'lost', code: 'worker_lost' }, done);
  t.deepEqual(lost, get({ state: 'failed', job: { ...done, failedReason: 'lost', errorCode: 'worker_lost' } }));
  t.is(lost?.error_code, 'worker_lost');
  const record = { canceledAt: T0 + 25, route: '/route', createdAt: T0, startedAt: T0 + 10, attempts: 1, progress: 40, workerLosses: 2, bodyHash: '' };
  t.deepEqual(event({ status: 'canceled', record }, done), get({ state: 'unknown', job: undefined, canceled: record }));
  t.like(event({ status: 'canceled', record }, done), { status: 'canceled', finished_at: '2030-01-01T00:00:00.025Z', worker_losses: 2, error_code: null });
});

test('progress is clamped to 0-100 and attempts are runs started, in every body alike', (t) => {
  t.is(toJobBody(runSnapshot('id', { ...job, progress: 250 }, { status: 'running' }), Infinity)?.progress, 100);
  t.is(toJobBody(runSnapshot('id', { ...job, progress: -3 }, { status: 'running' }), Infinity)?.progress, 0);
  t.is(toJobBody(snapshot({ state: 'active', job: { ...job, progress: 'x' } }), Infinity)?.progress, 0);
  t.is(toJobBody(runSnapshot('id', { ...job, attemptsStarted: 3 }, { status: 'running' }), Infinity)?.attempts, 3);
});

test('a job canceled while queued, then taken by a worker that failed it unrun, never looks started after it ended', (t) => {
  const record = { canceledAt: T0 + 5, route: '/route', createdAt: T0, startedAt: null, attempts: 0, progress: 0, bodyHash: '' };
  const taken = { ...job, processedOn: T0 + 9, finishedOn: T0 + 9 };
  const body = toJobBody(snapshot({ state: 'failed', job: taken, canceled: record }), TTL, T0 + 10)!;
  t.like(body, { status: 'canceled', started_at: null, finished_at: '2030-01-01T00:00:00.005Z' });
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
