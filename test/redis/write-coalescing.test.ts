// The write coalescer (libs/kalium/redis/write-coalescing.ts) on a real connection: what is sent in a
// turn leaves in one write at the turn's end.
import test from 'ava';
import type { Socket } from 'node:net';
import { writeCoalescer } from '../../libs/kalium/redis/write-coalescing.ts';
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
