import test from 'ava';
import { composeConfig, dockerCompose, type ComposeConfig } from '../helpers/compose.ts';

// Needs docker-compose on PATH (Debian: apt-get install -y --no-install-recommends docker-compose).
// Without it these tests fail, saying so: the compose file is never left unvalidated.

let resolved: Promise<ComposeConfig> | undefined;
/** docker-compose (Python) takes seconds to start: resolve the default file once for the tests that read it. */
const defaultConfig = () => (resolved ??= composeConfig());

test('docker-compose validates docker-compose.yml', async (t) => {
  const { stderr } = await dockerCompose(['config', '-q']);
  t.is(stderr.trim(), '');
});

test('redis keeps an AOF fsynced every second, never evicts, has a volume and a health check', async (t) => {
  const { services, volumes } = await defaultConfig();
  const redis = services.redis!;
  t.regex(redis.image ?? '', /^redis:7/);
  const command = (redis.command ?? []).join(' ');
  t.regex(command, /--appendonly yes/);
  t.regex(command, /--appendfsync everysec/);
  t.regex(command, /--maxmemory-policy noeviction/);
  t.regex(command, /--maxmemory 1gb/);
  t.truthy(volumes?.['redis-data']);
  t.true((redis.volumes ?? []).some((v) => (typeof v === 'string' ? v.startsWith('redis-data:/data') : v.source === 'redis-data' && v.target === '/data')));
  t.deepEqual(redis.healthcheck?.test, ['CMD', 'redis-cli', 'ping']);
});

test('api and worker are one image, on one Redis and one device; the api publishes 8000 once Redis is healthy', async (t) => {
  const { services } = await defaultConfig();
  const { api, worker } = services as Record<'api' | 'worker', NonNullable<(typeof services)[string]>>;
  t.is(api.image, worker.image);
  t.deepEqual(api.build, worker.build);
  t.regex(api.build?.dockerfile ?? '', /docker\/Dockerfile$/);
  t.deepEqual(api.command, ['kalium', 'api', 'apps/example/app.ts']);
  t.deepEqual(worker.command, ['kalium', 'worker', 'apps/example/app.ts']);
  t.is(api.environment?.REDIS_URL, 'redis://redis:6379');
  t.is(worker.environment?.REDIS_URL, api.environment?.REDIS_URL);
  t.truthy(api.environment?.KALIUM_DEVICE);
  t.is(worker.environment?.KALIUM_DEVICE, api.environment?.KALIUM_DEVICE, 'one GPU lease shared by both');
  t.is(api.environment?.PORT, '8000');
  t.true((api.ports ?? []).some((p) => (typeof p === 'string' ? /^(0\.0\.0\.0:)?8000:8000/.test(p) : p.published === 8000 && p.target === 8000)));
  for (const service of [api, worker]) t.deepEqual(service.depends_on?.redis, { condition: 'service_healthy' });
  t.falsy(worker.deploy?.resources?.reservations?.devices, 'the default file runs without GPUs');
});

test('the example webhook receiver runs from the same image on port 8001', async (t) => {
  const { services } = await defaultConfig();
  const receiver = services['webhook-receiver']!;
  t.is(receiver.image, services.api!.image);
  t.deepEqual(receiver.command, ['node', '--import', 'tsx', 'apps/webhook-receiver/main.ts']);
  t.is(receiver.environment?.WEBHOOK_RECEIVER_PORT, '8001');
  t.true((receiver.ports ?? []).some((p) => (typeof p === 'string' ? /^(0\.0\.0\.0:)?8001:8001/.test(p) : p.published === 8001)));
});

test('docker/compose.gpu.yml gives the worker, and only the worker, an NVIDIA GPU', async (t) => {
  const { services } = await composeConfig(['docker-compose.yml', 'docker/compose.gpu.yml']);
  const devices = services.worker!.deploy?.resources?.reservations?.devices ?? [];
  t.is(devices.length, 1);
  t.like(devices[0], { driver: 'nvidia', capabilities: ['gpu'] });
  for (const name of ['api', 'redis', 'webhook-receiver']) t.falsy(services[name]!.deploy?.resources?.reservations?.devices);
});
