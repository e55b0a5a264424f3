// SPEC §5/§6: a holder whose event loop is blocked (synchronous model code) keeps the GPU lease, in the
// api as in the worker: the lease is kept alive from the process's lock keeper thread, not its loop.
import test from 'ava';
import { setTimeout as sleep } from 'node:timers/promises';
import { post, PREFIX, startStack } from '../helpers/job-stack.ts';

test('a sync gpu handler that blocks the api’s event loop past the lease TTL keeps the lease', async (t) => {
  const stack = await startStack({ workers: 0, env: { KALIUM_LEASE_TTL_MS: '1000' } });
  t.teardown(() => stack.close());
  const client = stack.redis.client();
  const answer = post(stack.api.url, '/blocking-sync', { ms: 3500 });
  let token: string | null = null;
  for (let i = 0; i < 200 && token === null; i++) {
    token = await client.get(`${PREFIX}:gpu:default`);
    if (token === null) await sleep(10);
  }
  t.truthy(token, 'the handler took the lease');
  await sleep(2500); // well past the 1 s TTL, while the api's event loop is still blocked
  t.is(await client.get(`${PREFIX}:gpu:default`), token, 'still held by the same holder');
  t.is((await answer).status, 200);
  t.is(await client.get(`${PREFIX}:gpu:default`), null, 'released once the handler returned');
});
