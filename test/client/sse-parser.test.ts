import test from 'ava';
import { SseParser, type ServerSentEvent } from '../../libs/client/index.ts';

const STREAM =
  ': a comment, ignored\r\n' +
  'event: progress\r\n' +
  'id: 1\r\n' +
  'data: {"progress":50}\r\n' +
  '\r\n' +
  'data: line one\n' +
  'data:line two\n' +
  '\n' +
  'event: nothing\n' +
  '\n' +
  'event: succeeded\r' +
  'data: {"status":"succeeded"}\r' +
  '\r' +
  'event: cut\ndata: never finished';

const EXPECTED: ServerSentEvent[] = [
  { event: 'progress', data: '{"progress":50}', id: '1' },
  { event: 'message', data: 'line one\nline two', id: '1' },
  { event: 'succeeded', data: '{"status":"succeeded"}', id: '1' },
];

test('parses events, comments, multi-line data and every line ending', (t) => {
  const parser = new SseParser();
  t.deepEqual([...parser.push(STREAM), ...parser.end()], EXPECTED);
});

test('gives the same events however the stream is cut into chunks', (t) => {
  for (const size of [1, 2, 3, 7, 16]) {
    const parser = new SseParser();
    const events: ServerSentEvent[] = [];
    for (let i = 0; i < STREAM.length; i += size) events.push(...parser.push(STREAM.slice(i, i + size)));
    events.push(...parser.end());
    t.deepEqual(events, EXPECTED, `chunks of ${size}`);
  }
});
