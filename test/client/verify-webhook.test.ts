import test from 'ava';
import { Webhook } from 'standardwebhooks';
import { verifyWebhook } from '../../libs/client/index.ts';
import { newSecret } from '../helpers/webhook-runtime.ts';

const secret = newSecret();
const body = JSON.stringify({ id: 'job-1', event: 'succeeded', result: { label: 'POSITIVE' } });

function signed(at = new Date(), id = 'msg_1', payload = body, key = secret): Record<string, string> {
  return {
    'webhook-id': id,
    'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
    'webhook-signature': new Webhook(key).sign(id, at, payload),
  };
}

test('an authentic, fresh delivery verifies, however its headers and body are given', (t) => {
  const headers = signed();
  t.true(verifyWebhook(secret, headers, body));
  t.true(verifyWebhook(secret, new Headers(headers), body));
  t.true(verifyWebhook(secret, { ...headers, 'Webhook-Id': headers['webhook-id'] }, body));
  t.true(verifyWebhook(secret, headers, Buffer.from(body)));
  t.true(verifyWebhook(secret, headers, new TextEncoder().encode(body)));
  t.true(verifyWebhook(secret, signed(new Date(Date.now() - 4 * 60_000)), body), 'four minutes old is within the tolerance');
});

test('a changed body, id or timestamp, another secret, or missing headers do not verify', (t) => {
  const headers = signed();
  t.false(verifyWebhook(secret, headers, body.replace('POSITIVE', 'NEGATIVE')));
  t.false(verifyWebhook(secret, headers, `${body} `));
  t.false(verifyWebhook(secret, { ...headers, 'webhook-id': 'msg_2' }, body));
  t.false(verifyWebhook(secret, { ...headers, 'webhook-timestamp': String(Number(headers['webhook-timestamp']) + 1) }, body));
  t.false(verifyWebhook(newSecret(), headers, body));
  for (const name of ['webhook-id', 'webhook-timestamp', 'webhook-signature'] as const) {
    const { [name]: _dropped, ...rest } = headers;
    t.false(verifyWebhook(secret, rest, body), `without ${name}`);
  }
  t.false(verifyWebhook(secret, { ...headers, 'webhook-signature': 'v1,AAAA' }, body));
  t.false(verifyWebhook(secret, { ...headers, 'webhook-signature': headers['webhook-signature']!.replace('v1,', 'v2,') }, body));
});

test('timestamps outside five minutes fail, even with a valid signature (replays)', (t) => {
  t.false(verifyWebhook(secret, signed(new Date(Date.now() - 6 * 60_000)), body));
  t.false(verifyWebhook(secret, signed(new Date(Date.now() + 6 * 60_000)), body));
});

test('one valid signature among several (secret rotation) verifies', (t) => {
  const headers = signed();
  const old = signed(new Date(), 'msg_1', body, newSecret())['webhook-signature'];
  t.true(verifyWebhook(secret, { ...headers, 'webhook-signature': `${old} ${headers['webhook-signature']}` }, body));
  t.false(verifyWebhook(secret, { ...headers, 'webhook-signature': old }, body));
});

test('an unusable secret is a configuration mistake: it throws', (t) => {
  t.throws(() => verifyWebhook('whsec_', signed(), body), { instanceOf: TypeError, message: /whsec_/ });
});
