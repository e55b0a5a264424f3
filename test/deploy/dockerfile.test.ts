import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import test from 'ava';
import { Metrics } from '../../libs/kalium/metrics/metrics.ts';
import { startMetricsServer } from '../../libs/kalium/metrics/metrics-server.ts';
import { ROOT } from '../helpers/compose.ts';
import { freePort } from '../helpers/free-port.ts';

// No Docker engine runs here, so the image is never built in these tests: they pin what the
// Dockerfile promises and what the runtime stage relies on, and run its health check for real.

const dockerfile = readFileSync(join(ROOT, 'docker/Dockerfile'), 'utf8');
/** The Dockerfile's stages: name → its instructions (continuation lines joined). */
const stages = new Map<string, string[]>();
{
  let current: string[] = [];
  for (const line of dockerfile.replace(/\\\n/g, ' ').split('\n').map((l) => l.trim())) {
    if (line === '' || line.startsWith('#')) continue;
    const from = /^FROM\s+\S+\s+AS\s+(\S+)/i.exec(line);
    if (from) stages.set(from[1]!, (current = []));
    current.push(line);
  }
}

test('two stages: build runs npm ci and the type check; runtime installs production dependencies only', (t) => {
  t.deepEqual([...stages.keys()], ['build', 'runtime']);
  const build = stages.get('build')!.join('\n');
  t.regex(build, /^RUN npm ci\b/m);
  t.regex(build, /^RUN npx tsc --noEmit$/m);
  const runtime = stages.get('runtime')!.join('\n');
  t.regex(runtime, /^RUN npm ci --omit=dev\b/m);
  t.notRegex(runtime, /^RUN npm ci(?! --omit=dev)/m);
  t.regex(runtime, /^ENV NODE_ENV=production/m);
});

test('the runtime stage runs as a non-root user, under tini, with a HEALTHCHECK in node', (t) => {
  const runtime = stages.get('runtime')!;
  const user = runtime.filter((line) => line.startsWith('USER ')).at(-1);
  t.truthy(user);
  t.notRegex(user!, /^USER\s+(root|0)(:|$)/);
  t.regex(runtime.join('\n'), /apt-get install -y --no-install-recommends tini/);
  t.is(runtime.find((line) => line.startsWith('ENTRYPOINT')), 'ENTRYPOINT ["/usr/bin/tini", "--"]');
  const healthcheck = runtime.find((line) => line.startsWith('HEALTHCHECK'));
  t.regex(healthcheck ?? '', /CMD \["node", "docker\/healthcheck\.mjs"\]$/);
  t.notRegex(healthcheck ?? '', /curl|wget/);
  t.regex(runtime.join('\n'), /ln -s \/app\/apps\/cli\/kalium\.mjs \/usr\/local\/bin\/kalium/);
});

test('everything the runtime stage copies exists, and the kalium bin it links is executable', (t) => {
  for (const line of stages.get('runtime')!.filter((l) => l.startsWith('COPY --from=build'))) {
    const source = /^COPY --from=build \/app\/(\S+)/.exec(line)?.[1];
    t.truthy(source, line);
    t.true(existsSync(join(ROOT, source!)), `${source} is in the repository`);
  }
  t.truthy(statSync(join(ROOT, 'apps/cli/kalium.mjs')).mode & 0o111, 'apps/cli/kalium.mjs is executable');
});

test('.dockerignore keeps node_modules, .git and local state out of the build context', (t) => {
  const ignored = readFileSync(join(ROOT, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim());
  for (const entry of ['node_modules', '.git', '.kalium', '.env']) t.true(ignored.includes(entry), entry);
  for (const needed of ['libs', 'apps', 'test', 'package.json', 'package-lock.json', 'tsconfig.json', 'docker']) {
    t.false(ignored.includes(needed), `${needed} must reach the build stage`);
  }
});

test('every package that libs/ and apps/ import is a production dependency (the image installs no others)', (t) => {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { name: string; dependencies: Record<string, string> };
  const imported = new Map<string, string>();
  for (const file of sourceFiles(['libs', 'apps'])) {
    const text = readFileSync(file, 'utf8');
    const imports = /^\s*(?:import|export)\s+(?!type\b)[^'"]*?from\s+'([^']+)'|import\(\s*'([^']+)'\s*\)|^\s*import\s+'([^']+)'/gm;
    for (const match of text.matchAll(imports)) {
      const specifier = match[1] ?? match[2] ?? match[3];
      if (!specifier || specifier.startsWith('.') || specifier.startsWith('node:')) continue;
      const name = specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : specifier.split('/')[0]!;
      if (name !== pkg.name) imported.set(name, relative(ROOT, file));
    }
  }
  t.true(imported.size > 5, 'the scan found the imports');
  for (const [name, file] of imported) t.truthy(pkg.dependencies[name], `${name} (imported by ${file}) must be in dependencies`);
  t.truthy(pkg.dependencies.tsx, 'tsx runs the .ts sources at run time');
  t.truthy(pkg.dependencies['pino-pretty'], 'pino loads pino-pretty by name for kalium dev');
});

function sourceFiles(dirs: string[]): string[] {
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (/\.(ts|mts|mjs|js)$/.test(entry.name)) files.push(path);
    }
  };
  for (const dir of dirs) walk(join(ROOT, dir));
  return files;
}

function healthcheck(env: Record<string, string>): Promise<number> {
  return new Promise((resolve) => {
    execFile(process.execPath, [join(ROOT, 'docker/healthcheck.mjs')], { env: { PATH: process.env.PATH ?? '', ...env } }, (error) =>
      resolve(error ? Number((error as { code?: number }).code ?? 1) : 0),
    );
  });
}

test('the health check passes on the api port or on a worker metrics port, and fails when neither answers', async (t) => {
  const server = await startMetricsServer(new Metrics({ processMetrics: false }), { host: '127.0.0.1', port: 0 });
  t.teardown(() => server.close());
  const serving = new URL(server.url).port;
  const nothing = String(await freePort());
  t.is(await healthcheck({ PORT: serving, METRICS_PORT: nothing }), 0, 'an api answering on PORT');
  t.is(await healthcheck({ PORT: nothing, METRICS_PORT: serving }), 0, 'a worker answering on METRICS_PORT');
  t.is(await healthcheck({ PORT: nothing, METRICS_PORT: nothing }), 1);
});
