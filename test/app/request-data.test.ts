// A request as a background job carries it through Redis (Request.toData / Request.fromData).
import test from 'ava';
import { Request, type RequestData } from '../../libs/kalium/app/request.ts';

const base = { id: 'r1', path: '/p', method: 'POST', headers: { 'content-type': 'application/json' }, query: {} };

test('a UTF-8 body is kept once, as text, and comes back byte for byte with its JSON', (t) => {
  const raw = '{ "a": [1, 2.50], "b": "é" }';
  const data = new Request({ ...base, body: Buffer.from(raw), json: JSON.parse(raw) }).toData();
  t.deepEqual(data, { ...base, text: raw, isJson: true });
  const back = Request.fromData(JSON.parse(JSON.stringify(data)) as RequestData);
  t.is(back.body.toString('utf8'), raw);
  t.deepEqual(back.json, { a: [1, 2.5], b: 'é' });
});

test('a text body that was not JSON has no json; an empty body stays empty', (t) => {
  const text = Request.fromData(new Request({ ...base, body: Buffer.from('[not json'), json: undefined }).toData());
  t.is(text.body.toString(), '[not json');
  t.is(text.json, undefined);
  const empty = Request.fromData(new Request({ ...base, body: Buffer.alloc(0), json: undefined }).toData());
  t.is(empty.body.length, 0);
  t.is(empty.json, undefined);
});

test('a body that is not UTF-8 goes as base64 and comes back byte for byte', (t) => {
  const bytes = Buffer.from([0xff, 0x00, 0xc3, 0x28, 0x80]);
  const data = new Request({ ...base, body: bytes, json: undefined }).toData();
  t.is(data.text, undefined);
  t.is(data.body, bytes.toString('base64'));
  t.true(Request.fromData(data).body.equals(bytes));
});

test('jobs queued by an older api (base64 body and parsed JSON) still read', (t) => {
  const old: RequestData = { ...base, body: Buffer.from('{"n":1}').toString('base64'), json: { n: 1 } };
  const request = Request.fromData(old);
  t.is(request.body.toString(), '{"n":1}');
  t.deepEqual(request.json, { n: 1 });
});
