import test from 'ava';
import { ChunkStream } from '../../libs/kalium/python/chunk-stream.ts';

test('chunks pushed before or after a read come out in order, then the return value', async (t) => {
  const stream = new ChunkStream<string>(() => {});
  stream.push(1);
  const iterator = stream[Symbol.asyncIterator]();
  t.deepEqual(await iterator.next(), { value: 1, done: false });
  const pending = iterator.next();
  stream.push(2);
  t.deepEqual(await pending, { value: 2, done: false });
  stream.push(3);
  stream.finish('end');
  t.deepEqual(await iterator.next(), { value: 3, done: false }, 'a chunk buffered before the end is still read');
  t.deepEqual(await iterator.next(), { value: 'end', done: true });
});

test('a failure rejects the waiting read; return() asks once for the generator to close', async (t) => {
  let closes = 0;
  const stream = new ChunkStream<string>(() => closes++);
  const iterator = stream[Symbol.asyncIterator]();
  const pending = iterator.next();
  stream.fail(new Error('model process ended'));
  await t.throwsAsync(pending, { message: 'model process ended' });
  const other = new ChunkStream<string>(() => closes++);
  const it = other[Symbol.asyncIterator]();
  await it.return!();
  await it.return!();
  t.is(closes, 1);
  other.push('late');
  t.deepEqual(await it.next(), { value: undefined, done: true }, 'nothing is read after return()');
});
