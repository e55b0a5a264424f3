import test from 'ava';
import { randomBytes } from 'node:crypto';
import { encodeFrame, FrameDecoder, MAX_HEADER_BYTES, ProtocolError } from '../../libs/kalium/python/frames.ts';

const bytes = (header: Record<string, unknown>, body?: Buffer) => Buffer.concat(encodeFrame({ t: 'x', ...header }, body));

test('frames come out whole however the stream is cut: byte by byte, or many in one chunk', (t) => {
  const stream = Buffer.concat([bytes({ id: 1 }, Buffer.from('abc')), bytes({ id: 2 }), bytes({ id: 3 }, Buffer.from([0, 255]))]);
  const byByte = new FrameDecoder();
  const frames = [...stream].flatMap((byte) => byByte.push(Buffer.from([byte])));
  t.deepEqual(frames.map((frame) => [frame.header.id, frame.body.toString('hex')]), [[1, '616263'], [2, ''], [3, '00ff']]);
  t.is(byByte.buffered, 0);
  t.deepEqual(new FrameDecoder().push(stream).map((frame) => frame.header.id), [1, 2, 3]);
});

test('a 20 MB binary body split into pipe-sized chunks arrives unchanged', (t) => {
  const body = randomBytes(20 * 1024 * 1024);
  const stream = bytes({ id: 9 }, body);
  const decoder = new FrameDecoder();
  const frames = [];
  for (let at = 0; at < stream.length; at += 65_536) frames.push(...decoder.push(stream.subarray(at, at + 65_536)));
  t.is(frames.length, 1);
  t.true(frames[0]!.body.equals(body));
});

test('a bad length, a header that is not JSON or has no type are protocol errors', (t) => {
  const prefix = (header: number, body: number) => {
    const out = Buffer.alloc(8);
    out.writeUInt32BE(header, 0);
    out.writeUInt32BE(body, 4);
    return out;
  };
  t.throws(() => new FrameDecoder().push(prefix(0, 0)), { instanceOf: ProtocolError });
  t.throws(() => new FrameDecoder().push(prefix(MAX_HEADER_BYTES + 1, 0)), { instanceOf: ProtocolError });
  t.throws(() => new FrameDecoder().push(Buffer.concat([prefix(4, 0), Buffer.from('nope')])), { instanceOf: ProtocolError, message: /not JSON/ });
  t.throws(() => new FrameDecoder().push(Buffer.concat([prefix(2, 0), Buffer.from('{}')])), { instanceOf: ProtocolError, message: /no message type/ });
  t.throws(() => new FrameDecoder().push(Buffer.from('\xff\xff\xff\xffnot a frame', 'latin1')), { instanceOf: ProtocolError });
});
