import type { Slot } from './cluster.ts';
import type { Tally } from './tally.ts';

/** How a request ended: an answer, a connection the api's death cut, or no answer within its bound. */
export type Outcome =
  | { kind: 'answer'; status: number; body: any; requestId: string | null }
  | { kind: 'dropped' }
  | { kind: 'hung' };

/**
 * One request to one api, bounded. A connection error or a timeout while the api died or restarted
 * under it is `dropped` (the client retries); a timeout of a live api is `hung`.
 */
export async function call(
  tally: Tally,
  slot: Slot,
  method: string,
  path: string,
  options: { body?: string; headers?: Record<string, string>; boundMs: number },
): Promise<Outcome> {
  const generation = slot.generation;
  const wasUp = slot.up;
  try {
    const res = await fetch(slot.url + path, { method, body: options.body, headers: options.headers, signal: AbortSignal.timeout(options.boundMs) });
    const text = await res.text();
    let body: any;
    try {
      body = JSON.parse(text);
    } catch {
      body = text;
    }
    tally.answer(`${method} ${path.split('?')[0]}`, res.status, body?.error?.code);
    return { kind: 'answer', status: res.status, body, requestId: res.headers.get('x-request-id') };
  } catch (error) {
    const timedOut = (error as Error).name === 'TimeoutError';
    const died = !wasUp || !slot.up || slot.generation !== generation;
    if (timedOut && !died) {
      tally.hung.push(`${method} ${path} on api ${slot.index}: no answer within ${options.boundMs} ms`);
      return { kind: 'hung' };
    }
    if (!timedOut && !died) {
      // A connection error from an api that stayed up: kalium cut it. Counted as no answer.
      tally.hung.push(`${method} ${path} on api ${slot.index}: connection error without a kill (${(error as Error).cause ?? error})`);
      return { kind: 'hung' };
    }
    tally.droppedByKill++;
    return { kind: 'dropped' };
  }
}

/** A random api that is up, waiting for one when none is. */
export async function pickApi(apis: Slot[], random: () => number): Promise<Slot> {
  for (;;) {
    const up = apis.filter((slot) => slot.up);
    if (up.length > 0) return up[Math.floor(random() * up.length)]!;
    await new Promise((r) => setTimeout(r, 50));
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * A careful client: submits one job with its Idempotency-Key, retrying connection errors, 503s and
 * hangs with the same key and body (backoff with jitter), then long-polls it to its end. Resolves
 * with the job id, or undefined when the submission was refused with a 4xx (a suite bug).
 */
export async function submitAndAwait(
  tally: Tally,
  apis: Slot[],
  random: () => number,
  job: { key: string; body: object; headers?: Record<string, string> },
  deadline: number,
  onAccepted?: (id: string) => void,
): Promise<string | undefined> {
  const body = JSON.stringify(job.body);
  const headers = { 'content-type': 'application/json', 'idempotency-key': job.key, ...job.headers };
  let id: string | undefined;
  for (let attempt = 0; id === undefined; attempt++) {
    if (Date.now() > deadline) {
      tally.lost.push(`${job.key}: never accepted before the deadline`);
      return undefined;
    }
    if (attempt > 0) {
      tally.retries++;
      await sleep(Math.min(2000, 50 * 2 ** Math.min(attempt, 6)) * (0.5 + random()));
    }
    const outcome = await call(tally, await pickApi(apis, random), 'POST', '/work', { body, headers, boundMs: 10_000 });
    if (outcome.kind !== 'answer') continue;
    if (outcome.status === 202 || outcome.status === 200) {
      id = String(outcome.body.id);
      const before = tally.keys.get(job.key);
      if (before !== undefined && before !== id) tally.duplicated.push(`${job.key}: a retry with the same key made job ${id}, not ${before}`);
      tally.keys.set(job.key, before ?? id);
      if (!tally.accepted.has(id)) tally.accepted.set(id, { key: job.key });
      onAccepted?.(id);
    } else if (outcome.status < 500) {
      tally.lost.push(`${job.key}: submission refused ${outcome.status} ${JSON.stringify(outcome.body).slice(0, 200)}`);
      return undefined;
    }
  }
  for (let attempt = 0; ; attempt++) {
    if (Date.now() > deadline) {
      tally.lost.push(`${job.key} (${id}): not ended by the deadline (last seen ${tally.accepted.get(id)?.status ?? 'never read'})`);
      return id;
    }
    if (attempt > 0) {
      tally.retries++;
      await sleep(100 + 200 * random());
    }
    const outcome = await call(tally, await pickApi(apis, random), 'GET', `/jobs/${id}?wait=10`, { boundMs: 25_000 });
    if (outcome.kind !== 'answer') continue;
    if (outcome.status === 404) {
      tally.lost.push(`${job.key} (${id}): 404 job_not_found for an accepted job`);
      return id;
    }
    if (outcome.status !== 200) continue;
    const seen = tally.accepted.get(id)!;
    seen.status = outcome.body.status;
    if (outcome.body.status === 'succeeded') {
      seen.result = JSON.stringify(outcome.body.result);
      return id;
    }
    if (outcome.body.status === 'failed' || outcome.body.status === 'canceled') {
      tally.lost.push(`${job.key} (${id}): ended ${outcome.body.status}: ${JSON.stringify(outcome.body.error)}`);
      return id;
    }
  }
}
