import { execFile } from 'node:child_process';
import { createServer } from 'node:http';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join, relative } from 'node:path';
import test from 'ava';
import { Metrics } from '../../libs/kalium/metrics/metrics.ts';
import { startMetricsServer } from '../../libs/kalium/metrics/metrics-server.ts';
import { loadComposeText, ROOT } from '../helpers/compose-file.ts';
import { freePort } from '../helpers/free-port.ts';
import { forProject as projectVersion } from '../../apps/cli/project-template.ts';

// What the Dockerfile promises and what its runtime stage relies on, read from the file; the health
// check scripts run for real. The image itself is built and run by `npm run test:compose`.

const dockerfile = readFileSync(join(ROOT, 'docker/Dockerfile'), 'utf8');
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  name: string;
  bin: Record<string, string>;
  files: string[];
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};

/** A Dockerfile's stages: name → its instructions (continuation lines joined). */
function stagesOf(text: string): Map<string, string[]> {
  const stages = new Map<string, string[]>();
  let current: string[] = [];
  for (const line of text.replace(/\\\n/g, ' ').split('\n').map((l) => l.trim())) {
    if (line === '' || line.startsWith('#')) continue;
    const from = /^FROM\s+\S+\s+AS\s+(\S+)/i.exec(line);
    if (from) stages.set(from[1]!, (current = []));
    current.push(line);
  }
  return stages;
}
const stages = stagesOf(dockerfile);

/** The file as `kalium init` writes it into a project named `my-model`: the CLI's own transform. */
const forProject = (text: string) => projectVersion(text, 'my-model');

test('two stages: build runs npm ci and the type check; runtime installs production dependencies only', (t) => {
  t.deepEqual([...stages.keys()], ['build', 'runtime']);
  const build = stages.get('build')!.join('\n');
  t.regex(build, /&& npm ci --ignore-scripts\b/);
  t.regex(build, /^RUN npx tsc --noEmit$/m);
  const runtime = stages.get('runtime')!.join('\n');
  t.regex(runtime, /&& npm ci --omit=dev --ignore-scripts\b/);
  t.notRegex(runtime, /npm ci(?! --omit=dev)/);
  t.regex(runtime, /^ENV NODE_ENV=production/m);
});

test('npm gets a proxy CA only as EXTRA_CA_CERTS, added to the trusted ones; TLS checks are never turned off', (t) => {
  for (const [name, lines] of stages) {
    const text = lines.join('\n');
    t.regex(text, /^ARG EXTRA_CA_CERTS=""$/m, name);
    t.regex(text, /export NODE_EXTRA_CA_CERTS=\/tmp\/extra-ca\.pem/, name);
  }
  t.notRegex(dockerfile, /strict-ssl|NODE_TLS_REJECT_UNAUTHORIZED|--insecure/);
});

test('the runtime stage runs as a non-root user, under tini, with a HEALTHCHECK in node', (t) => {
  const runtime = stages.get('runtime')!;
  const user = runtime.filter((line) => line.startsWith('USER ')).at(-1);
  t.truthy(user);
  t.notRegex(user!, /^USER\s+(root|0)(:|$)/);
  t.regex(runtime.join('\n'), /apt-get install -y --no-install-recommends tini/);
  t.is(runtime.find((line) => line.startsWith('ENTRYPOINT')), 'ENTRYPOINT ["/usr/bin/tini", "--"]');
  const healthcheck = runtime.find((line) => line.startsWith('HEALTHCHECK'));
  t.regex(healthcheck ?? '', /CMD \["node", "node_modules\/kalium\/docker\/healthcheck\.mjs"\]$/);
  t.notRegex(healthcheck ?? '', /curl|wget/);
  t.regex(runtime.join('\n'), /PATH=\/app\/node_modules\/\.bin:\$PATH/);
});

test('everything the runtime stage copies from the build stage is there, and the kalium bin it links is executable', (t) => {
  const copies = stages.get('runtime')!.filter((l) => l.startsWith('COPY --from=build'));
  t.true(copies.length > 0);
  for (const line of copies) {
    const source = /^COPY --from=build \/app\/(\S+)/.exec(line)?.[1];
    t.truthy(source, line);
    const installed = /^node_modules\/((?:@[^/]+\/)?[^/]+)$/.exec(source!)?.[1];
    if (installed) t.truthy(pkg.dependencies[installed] ?? pkg.devDependencies[installed], `${installed}: the build stage installs it`);
    else t.notThrows(() => statSync(join(ROOT, source!)), `${source} is in the repository`);
  }
  t.truthy(statSync(join(ROOT, 'apps/cli/kalium.mjs')).mode & 0o111, 'apps/cli/kalium.mjs is executable');
  t.regex(dockerfile, /ln -s \.\. node_modules\/kalium/);
  t.regex(dockerfile, /ln -s \.\.\/kalium\/apps\/cli\/kalium\.mjs node_modules\/\.bin\/kalium/);
});

test('.dockerignore keeps node_modules, .git, dist and local state out of the build context', (t) => {
  const ignored = readFileSync(join(ROOT, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim());
  for (const entry of ['node_modules', '.git', '.kalium', '.env', 'dist']) t.true(ignored.includes(entry), entry);
  for (const needed of ['libs', 'apps', 'test', 'package.json', 'package-lock.json', 'tsconfig.json', 'docker']) {
    t.false(ignored.includes(needed), `${needed} must reach the build stage`);
  }
});

test('what kalium init derives from docker/ and docker-compose.yml is a project\'s: valid, and nothing of this repository left', (t) => {
  for (const file of ['docker/Dockerfile', 'docker-compose.yml']) {
    const text = readFileSync(join(ROOT, file), 'utf8');
    const begins = text.match(/^\s*# repo-only:begin$/gm)?.length ?? 0;
    t.true(begins > 0 && begins === (text.match(/^\s*# repo-only:end$/gm)?.length ?? 0), `${file}: balanced repo-only blocks`);
    t.notRegex(forProject(text), /apps\/|libs\/|repo-only|wink|webhook-receiver|compose\.gpu/, file);
  }
  const project = stagesOf(forProject(dockerfile));
  t.deepEqual([...project.keys()], ['build', 'runtime']);
  const runtime = project.get('runtime')!;
  t.true(runtime.includes('COPY --from=build /app/app.ts ./app.ts'), 'the project app is copied');
  t.is(runtime.at(-1), 'CMD ["kalium", "api", "app.ts"]');
  t.true(runtime.some((l) => l.includes('"node_modules/kalium/docker/healthcheck.mjs"')));
  // In a project those paths are the installed package's: its bin, and docker/healthcheck.mjs in it.
  t.truthy(pkg.bin.kalium);
  t.true(pkg.files.includes('docker/healthcheck.mjs'), 'the package ships the health check script');

  const compose = loadComposeText(forProject(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8')), {}, 'the project compose file');
  t.deepEqual(Object.keys(compose.services).sort(), ['api', 'redis', 'worker']);
  t.is(compose.services.api!.build?.dockerfile, 'Dockerfile');
  t.deepEqual(compose.services.worker!.command, ['kalium', 'worker', 'app.ts']);
});

test('every package that libs/ and apps/ import is a production dependency, but the example model the image copies', (t) => {
  const copied = new Set([...dockerfile.matchAll(/^COPY --from=build \/app\/node_modules\/(\S+) /gm)].map((m) => m[1]!));
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
  for (const [name, file] of imported) {
    if (file.startsWith('apps/example/') && copied.has(name)) t.truthy(pkg.devDependencies[name], `${name}: the example's, a devDependency`);
    else t.truthy(pkg.dependencies[name], `${name} (imported by ${file}) must be in dependencies`);
  }
  t.true(copied.has('wink-nlp') && copied.has('wink-eng-lite-web-model'), 'the repository image serves the example model');
  t.truthy(pkg.dependencies.tsx, 'tsx runs the .ts sources at run time');
  t.truthy(pkg.dependencies['pino-pretty'], 'pino loads pino-pretty by name for kalium dev');
});

function sourceFiles(dirs: string[]): string[] {
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory() && entry.name !== 'node_modules' && entry.name !== 'template') walk(path);
      else if (entry.isFile() && /\.(ts|mts|mjs|js)$/.test(entry.name)) files.push(path);
    }
  };
  for (const dir of dirs) walk(join(ROOT, dir));
  return files;
}

function exitCode(script: string, env: Record<string, string>): Promise<number> {
  return new Promise((resolve) => {
    execFile(process.execPath, [join(ROOT, script)], { env: { PATH: process.env.PATH ?? '', ...env } }, (error) =>
      resolve(error ? Number((error as { code?: number }).code ?? 1) : 0),
    );
  });
}

test('the health check passes on the api port or on a worker metrics port, and fails when neither answers', async (t) => {
  const server = await startMetricsServer(new Metrics({ processMetrics: false }), { host: '127.0.0.1', port: 0 });
  t.teardown(() => server.close());
  const serving = new URL(server.url).port;
  const nothing = String(await freePort());
  t.is(await exitCode('docker/healthcheck.mjs', { PORT: serving, METRICS_PORT: nothing }), 0, 'an api answering on PORT');
  t.is(await exitCode('docker/healthcheck.mjs', { PORT: nothing, METRICS_PORT: serving }), 0, 'a worker answering on METRICS_PORT');
  t.is(await exitCode('docker/healthcheck.mjs', { PORT: nothing, METRICS_PORT: nothing }), 1);
});

test('the webhook receiver health check passes when anything answers HTTP on its port (a 405), fails when nothing does', async (t) => {
  const server = createServer((_req, res) => res.writeHead(405).end());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => server.close());
  const port = String((server.address() as AddressInfo).port);
  t.is(await exitCode('docker/webhook-receiver-healthcheck.mjs', { WEBHOOK_RECEIVER_PORT: port }), 0);
  t.is(await exitCode('docker/webhook-receiver-healthcheck.mjs', { WEBHOOK_RECEIVER_PORT: String(await freePort()) }), 1);
});
