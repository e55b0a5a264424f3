// The write coalescer (libs/kalium/redis/write-coalescing.ts) on a real connection: what is sent in a
// turn leaves in one write at the turn's end, and work queued with afterNextWrite runs once it has left.
import test from 'ava';
import type { Socket } from 'node:net';
import { afterNextWrite, writeCoalescer } from '../../libs/kalium/redis/write-coalescing.ts';
import { redisForFile } from '../helpers/redis-for-file.ts';

const redis = redisForFile();

/** A connected client and its socket. */
async function connected() {
  const client = redis.client();
  await client.ping();
  return { client, socket: client.stream as Socket };
}

test('commands sent after coalesce() wait in the socket until the turn ends, then leave together', async (t) => {
  const { client, socket } = await connected();
  const coalesce = writeCoalescer(client);
  t.is(writeCoalescer(client), coalesce, 'one coalescer per connection');
  coalesce();
  const replies = Promise.all([client.set('k', 'v'), client.get('k'), client.incr('n')]);
  coalesce(); // a second call in the same turn changes nothing
  t.is(socket.writableCorked, 1);
  t.true(socket.writableLength > 0, 'the three commands are held');
  await new Promise((resolve) => setImmediate(resolve));
  t.is(socket.writableCorked, 0);
  t.deepEqual(await replies, ['OK', 'v', 1]);
});

test('afterNextWrite runs its work right after the pending write has left, in order', async (t) => {
  const { client, socket } = await connected();
  const seen: string[] = [];
  writeCoalescer(client)();
  const reply = client.set('a', '1');
  afterNextWrite(client, () => seen.push(`first, corked ${socket.writableCorked}`));
  afterNextWrite(client, () => seen.push('second'));
  t.deepEqual(seen, [], 'nothing runs while the write is held');
  await new Promise((resolve) => setImmediate(resolve));
  t.deepEqual(seen, ['first, corked 0', 'second']);
  t.is(await reply, 'OK');
});

test('with nothing pending, afterNextWrite runs at the next setImmediate', async (t) => {
  const { client } = await connected();
  let ran = false;
  afterNextWrite(client, () => (ran = true));
  t.false(ran);
  await new Promise((resolve) => setImmediate(resolve));
  t.true(ran);
});
