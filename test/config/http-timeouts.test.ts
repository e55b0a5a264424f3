// The api's HTTP timeouts are configuration like any other: defaults in seconds, a bad value stops start-up naming it.
import test from 'ava';
import { loadConfig } from '../../libs/kalium/config/config.ts';

test('HEADERS_TIMEOUT_MS, REQUEST_TIMEOUT_MS and KEEP_ALIVE_TIMEOUT_MS default to 10 s, 30 s and 65 s', (t) => {
  const config = loadConfig({});
  t.is(config.headersTimeoutMs, 10_000);
  t.is(config.requestTimeoutMs, 30_000);
  t.is(config.keepAliveTimeoutMs, 65_000);
});

test('the timeouts are read from the environment', (t) => {
  const config = loadConfig({ HEADERS_TIMEOUT_MS: '2000', REQUEST_TIMEOUT_MS: '5000', KEEP_ALIVE_TIMEOUT_MS: '1000' });
  t.like(config, { headersTimeoutMs: 2000, requestTimeoutMs: 5000, keepAliveTimeoutMs: 1000 });
});

for (const name of ['HEADERS_TIMEOUT_MS', 'REQUEST_TIMEOUT_MS', 'KEEP_ALIVE_TIMEOUT_MS']) {
  test(`a bad ${name} is a start-up error naming it`, (t) => {
    for (const value of ['soon', '-1', '0', '1.5']) {
      t.throws(() => loadConfig({ [name]: value }), { name: 'ConfigError', message: new RegExp(`${name}=`) });
    }
  });
}

test('REQUEST_TIMEOUT_MS shorter than HEADERS_TIMEOUT_MS is a start-up error naming both', (t) => {
  t.throws(() => loadConfig({ HEADERS_TIMEOUT_MS: '5000', REQUEST_TIMEOUT_MS: '4000' }), {
    name: 'ConfigError',
    message: /REQUEST_TIMEOUT_MS=.*HEADERS_TIMEOUT_MS/,
  });
});
