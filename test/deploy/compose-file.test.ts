import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import { composeConfig, interpolate, loadComposeText, ROOT, schemaErrors } from '../helpers/compose-file.ts';

// The compose files checked as Compose v2 reads them, against the Compose Specification's JSON
// schema (test/deploy/compose-spec.json), with no compose binary and no Docker engine. They are
// brought up for real by `npm run test:compose`.

const read = (file: string) => readFileSync(join(ROOT, file), 'utf8');

test('docker-compose.yml and docker/compose.gpu.yml follow the Compose Specification, with none of v1 left', (t) => {
  for (const file of ['docker-compose.yml', 'docker/compose.gpu.yml']) {
    const document = loadComposeText(read(file), {}, file);
    t.false('version' in document, `${file}: the top-level version is obsolete in Compose v2 (it warns)`);
  }
  const merged = composeConfig(['docker-compose.yml', 'docker/compose.gpu.yml']);
  t.deepEqual(schemaErrors(merged), [], 'the merged files too');
});

test('the schema check fails on what Compose v2 refuses', (t) => {
  const valid = read('docker-compose.yml');
  const healthy = valid.replace('condition: service_healthy', 'condition: healthy');
  t.not(healthy, valid);
  t.throws(() => loadComposeText(healthy), { message: /condition must be equal to one of the allowed values/ });
  t.throws(() => loadComposeText(`${valid}\nsurprise: true\n`), { message: /must NOT have additional properties/ });
  const gpu = read('docker/compose.gpu.yml').replace(/\n\s*capabilities: \[gpu\]/, '');
  t.throws(() => loadComposeText(gpu), { message: /must have required property 'capabilities'/ });
});

test('interpolation follows compose: defaults, alternatives, required variables and $$', (t) => {
  const env = { SET: 'x', EMPTY: '' };
  t.is(interpolate('${SET:-d} ${EMPTY:-d} ${UNSET:-d} ${EMPTY-d} ${UNSET-d}', env), 'x d d  d');
  t.is(interpolate('${SET:+alt}|${EMPTY:+alt}|${EMPTY+alt}|${UNSET+alt}', env), 'alt||alt|');
  t.is(interpolate('$SET-$UNSET-$$SET-${UNSET:-${SET}}', env), 'x--$SET-x');
  t.throws(() => interpolate('${UNSET:?set it}', env, 'f.yml'), { message: /UNSET.*set it/ });
  t.throws(() => interpolate('${EMPTY:?set it}', env), { message: /EMPTY/ });
  t.is(interpolate('${EMPTY?set it}', env), '');
});

test('redis keeps an AOF fsynced every second, never evicts, has a volume and a health check', (t) => {
  const { services, volumes } = composeConfig();
  const redis = services.redis!;
  t.regex(redis.image ?? '', /^redis:7/);
  const command = (redis.command ?? []).join(' ');
  t.regex(command, /--appendonly yes/);
  t.regex(command, /--appendfsync everysec/);
  t.regex(command, /--maxmemory-policy noeviction/);
  t.regex(command, /--maxmemory 1gb/);
  t.regex(composeConfig(['docker-compose.yml'], { REDIS_MAXMEMORY: '256mb' }).services.redis!.command!.join(' '), /--maxmemory 256mb/);
  t.true(volumes !== undefined && 'redis-data' in volumes, 'a named volume');
  t.true((redis.volumes ?? []).some((v) => (typeof v === 'string' ? v.startsWith('redis-data:/data') : v.source === 'redis-data' && v.target === '/data')));
  t.deepEqual(redis.healthcheck?.test, ['CMD', 'redis-cli', 'ping']);
});

test('api and worker are one image, on one Redis and one device; the api publishes 8000 once Redis is healthy', (t) => {
  const { services } = composeConfig();
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
  t.deepEqual(api.ports, ['8000:8000']);
  t.deepEqual(composeConfig(['docker-compose.yml'], { API_PORT: '18000' }).services.api!.ports, ['18000:8000'], 'API_PORT publishes elsewhere');
  for (const service of [api, worker]) t.deepEqual(service.depends_on?.redis, { condition: 'service_healthy' });
  t.falsy(worker.deploy?.resources?.reservations?.devices, 'the default file runs without GPUs');
});

test('one init: no service sets init: true, since the image runs tini as its entrypoint', (t) => {
  const { services } = composeConfig();
  for (const [name, service] of Object.entries(services)) t.not(service.init, true, name);
  t.regex(read('docker/Dockerfile'), /^ENTRYPOINT \["\/usr\/bin\/tini", "--"\]$/m);
});

test('the image build gets EXTRA_CA_CERTS from the environment, empty by default', (t) => {
  t.is(composeConfig().services.api!.build?.args?.EXTRA_CA_CERTS, '');
  const pem = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----';
  t.is(composeConfig(['docker-compose.yml'], { EXTRA_CA_CERTS: pem }).services.worker!.build?.args?.EXTRA_CA_CERTS, pem);
});

test('the example webhook receiver runs from the same image on port 8001, health-checked by a script file', (t) => {
  const { services } = composeConfig();
  const receiver = services['webhook-receiver']!;
  t.is(receiver.image, services.api!.image);
  t.deepEqual(receiver.command, ['node', '--import', 'tsx', 'apps/webhook-receiver/main.ts']);
  t.is(receiver.environment?.WEBHOOK_RECEIVER_PORT, '8001');
  t.deepEqual(receiver.ports, ['8001:8001']);
  // podman's Docker API splits an argument that holds spaces: no inline scripts in health checks.
  for (const [name, service] of Object.entries(services)) {
    for (const arg of service.healthcheck?.test ?? []) t.notRegex(arg, /\s/, `${name}: ${arg}`);
  }
  t.deepEqual(receiver.healthcheck?.test, ['CMD', 'node', 'docker/webhook-receiver-healthcheck.mjs']);
});

test('docker/compose.gpu.yml: one worker service runs a worker per listed device, those GPUs reserved for it alone', (t) => {
  const { services } = composeConfig(['docker-compose.yml', 'docker/compose.gpu.yml']);
  const worker = services.worker!;
  const devices = worker.deploy?.resources?.reservations?.devices ?? [];
  t.is(devices.length, 1);
  t.like(devices[0], { driver: 'nvidia', capabilities: ['gpu'] });
  const ids = devices[0]!.device_ids as string[];
  const listed = (worker.environment?.KALIUM_DEVICES ?? '').split(',');
  t.true(ids.length >= 2, 'it shows several GPUs');
  t.deepEqual(listed, ids.map((_, index) => String(index)), 'KALIUM_DEVICES counts the reserved GPUs from 0, as the container sees them');
  t.deepEqual(worker.expose, ids.map((_, index) => String(9100 + index)), 'each device worker has its metrics port, METRICS_PORT + index');
  t.is(worker.environment?.REDIS_URL, 'redis://redis:6379', 'the override keeps the base environment');
  for (const name of ['api', 'redis', 'webhook-receiver']) t.falsy(services[name]!.deploy?.resources?.reservations?.devices, name);
});

test('the documentation the compose files point to exists', (t) => {
  const headings = new Set(
    read('README.md')
      .split('\n')
      .filter((line) => /^#{1,6} /.test(line))
      .map((line) => line.replace(/^#+ /, '').trim().toLowerCase().replace(/[^\w\- ]/g, '').replace(/ /g, '-')),
  );
  let links = 0;
  for (const file of ['docker-compose.yml', 'docker/compose.gpu.yml']) {
    for (const [, path, anchor] of read(file).matchAll(/\b([\w./-]+\.md)(?:#([\w-]+))?/g)) {
      links++;
      t.is(path, 'README.md', `${file} points to ${path}, which is not in the repository`);
      if (anchor) t.true(headings.has(anchor), `${file}: README.md has no heading for #${anchor}`);
    }
  }
  t.true(links > 0, 'docker/compose.gpu.yml points to its documentation');
});
