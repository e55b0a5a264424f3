// SPEC §17: an api that is shutting down answers what it holds. A long-poll gets the job as it is, an
// event stream a last `event: shutdown`, at once — not a cut socket at SHUTDOWN_TIMEOUT_MS.
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import { startKalium } from '../helpers/kalium-process.ts';
import { redisForFile } from '../helpers/redis-for-file.ts';

const APP = fileURLToPath(new URL('../fixtures/apps/edge-app.ts', import.meta.url));
const redis = redisForFile();
const SHUTDOWN_TIMEOUT_MS = 30_000;

test('SIGTERM: a long-poll gets the queued job’s state and an event stream gets event: shutdown, at once, with no error log', async (t) => {
  const api = await startKalium('api', APP, { REDIS_URL: redis.url, SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS) });
  t.teardown(() => api.kill('SIGKILL').then(() => undefined));

  // No worker runs: the job stays queued, so both requests would hold for their whole time.
  const submitted = (await (await fetch(`${api.url}/long`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } })).json()) as { id: string };
  const longPoll = fetch(`${api.url}/jobs/${submitted.id}?wait=30`).then(async (res) => ({ status: res.status, body: (await res.json()) as { status: string; id: string } }));
  const events = await fetch(`${api.url}/jobs/${submitted.id}/events`);
  t.is(events.status, 200);
  const reader = events.body!.getReader();
  let text = '';
  const decoder = new TextDecoder();
  while (!text.includes('event: progress')) text += decoder.decode((await reader.read()).value);

  const signalled = Date.now();
  api.child.kill('SIGTERM');
  const polled = await longPoll;
  const polledMs = Date.now() - signalled;
  t.is(polled.status, 200);
  t.is(polled.body.id, submitted.id);
  t.is(polled.body.status, 'queued');

  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    text += decoder.decode(value);
  }
  const streamMs = Date.now() - signalled;
  const last = text.trim().split('\n\n').at(-1) ?? '';
  t.regex(last, /^event: shutdown\ndata: /);
  t.is(JSON.parse(last.split('data: ')[1]!).id, submitted.id);

  t.is(await api.exited, 0);
  const exitedMs = Date.now() - signalled;
  if (!api.child.stdout!.closed) await once(api.child.stdout!, 'close');
  // Generous bounds, far below the 30 s hard limit each would otherwise have waited for.
  t.true(polledMs < SHUTDOWN_TIMEOUT_MS / 6, `long-poll answered ${polledMs} ms after SIGTERM`);
  t.true(streamMs < SHUTDOWN_TIMEOUT_MS / 6, `stream ended ${streamMs} ms after SIGTERM`);
  t.true(exitedMs < SHUTDOWN_TIMEOUT_MS / 3, `exited ${exitedMs} ms after SIGTERM`);
  t.deepEqual(api.logs.filter((line) => Number(line.level) >= 50), [], 'no error-level log line');
  t.falsy(api.logs.find((line) => line.msg === 'shutdown deadline passed; closing open connections'));
});
