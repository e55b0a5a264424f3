// SPEC §9: the environment is read and validated once; a bad value stops start-up naming the variable.
import test from 'ava';
import { ConfigError } from '../../libs/kalium/errors/kalium-error.ts';
import { loadConfig } from '../../libs/kalium/config/config.ts';
import { startKalium } from '../helpers/kalium-process.ts';

test('defaults follow SPEC §9', (t) => {
  const config = loadConfig({});
  t.is(config.redisUrl, undefined);
  t.is(config.host, '0.0.0.0');
  t.is(config.port, 8000);
  t.is(config.device, 'default');
  t.is(config.bodyLimit, 10 * 1024 * 1024);
  t.is(config.resultTtl, 3600);
  t.false(config.webhookAllowPrivate);
  t.is(config.logLevel, 'info');
});

test('sizes, booleans and numbers are parsed; empty strings count as unset', (t) => {
  const config = loadConfig({ BODY_LIMIT: '512kb', WEBHOOK_ALLOW_PRIVATE: 'true', PORT: '9000', RESULT_TTL: '', API_KEY: '' });
  t.is(config.bodyLimit, 512 * 1024);
  t.true(config.webhookAllowPrivate);
  t.is(config.port, 9000);
  t.is(config.resultTtl, 3600);
  t.is(config.apiKey, undefined);
});

const bad: Array<[string, string]> = [
  ['PORT', 'eighty'],
  ['PORT', '70000'],
  ['REDIS_URL', 'http://localhost:6379'],
  ['BODY_LIMIT', 'ten megabytes'],
  ['BODY_LIMIT', '0'],
  ['RESULT_TTL', '-5'],
  ['QUEUE_MAX', '1.5'],
  ['WEBHOOK_ALLOW_PRIVATE', 'yes'],
  ['WEBHOOK_SECRET', 'not-a-whsec'],
  ['LOG_LEVEL', 'loud'],
  ['KALIUM_DEVICE', 'gpu 0'],
];
for (const [name, value] of bad) {
  test(`${name}=${value} is refused with a message naming ${name}`, (t) => {
    const error = t.throws(() => loadConfig({ [name]: value }), { instanceOf: ConfigError });
    t.true(error!.message.includes(name), error!.message);
  });
}

test('every bad variable is named at once', (t) => {
  const error = t.throws(() => loadConfig({ PORT: 'x', LOG_LEVEL: 'y' }), { instanceOf: ConfigError });
  t.regex(error!.message, /PORT/);
  t.regex(error!.message, /LOG_LEVEL/);
});

test('a process started with a bad value exits 1 naming the variable, without a stack', async (t) => {
  const run = startKalium('api', 'test/fixtures/apps/gpu-app.ts', { PORT: 'not-a-port' });
  const error = await t.throwsAsync(run);
  t.regex(error!.message, /exited \(1\)/);
  t.regex(error!.message, /PORT="not-a-port"/);
  t.notRegex(error!.message, /at loadConfig/);
});

test('a missing app file, or one without a default Kalium export, stops start-up with a clear message', async (t) => {
  const missing = await t.throwsAsync(startKalium('api', 'test/fixtures/apps/nope.ts', {}));
  t.regex(missing!.message, /No app file at/);
  const notAnApp = await t.throwsAsync(startKalium('api', 'test/helpers/free-port.ts', {}));
  t.regex(notAnApp!.message, /must export a Kalium app as its default export/);
});
