// The logger's second fence: secrets that reach a log line by accident are blanked.
import test from 'ava';
import { Writable } from 'node:stream';
import { createLogger } from '../../libs/kalium/log/logger.ts';

function capture() {
  const lines: Array<Record<string, any>> = [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      lines.push(JSON.parse(String(chunk)));
      done();
    },
  });
  return { lines, logger: createLogger({ level: 'info', destination }) };
}

test('secret headers, bodies and config secrets are redacted at the top level and under req, request and config', (t) => {
  const { lines, logger } = capture();
  logger.info(
    {
      headers: { authorization: 'Bearer s3cret', cookie: 'session=1', 'x-api-key': 'k1', accept: 'application/json' },
      body: '{"text":"private"}',
      req: { headers: { authorization: 'Bearer s3cret' }, body: 'private' },
      request: { headers: { 'webhook-signature': 'v1,abc' } },
      config: { apiKey: 'key', adminToken: 'admin', webhookSecret: 'whsec_x', port: 8000 },
    },
    'probe',
  );
  const line = lines[0]!;
  const text = JSON.stringify(line);
  for (const secret of ['s3cret', 'session=1', 'k1', 'private', 'v1,abc', '"key"', 'admin"', 'whsec_x']) t.false(text.includes(secret), secret);
  t.is(line.headers.accept, 'application/json', 'what is not secret stays');
  t.is(line.config.port, 8000);
  t.is(line.headers.authorization, '[redacted]');
});
