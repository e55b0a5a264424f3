// SPEC §12: kalium as a user installs it. `npm pack` (which builds dist/), the tarball installed in a
// fresh directory outside the repository, and everything checked there with plain node, a strict
// user tsc and the installed `kalium` bin.
import test, { type ExecutionContext } from 'ava';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { cleanEnv } from '../helpers/kalium-process.ts';
import { redisForFile } from '../helpers/redis-for-file.ts';

const run = promisify(execFile);
const redis = redisForFile();
const repo = resolve('.');
const devDependencies = (JSON.parse(readFileSync('package.json', 'utf8')) as { devDependencies: Record<string, string> }).devDependencies;

let tarball = '';
let project = '';
const dirs: string[] = [];
const tempDir = (prefix: string) => {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
};
/** npm in `cwd`, with a clean environment (no kalium variables, no npm_config_* of this run's npm). */
const npm = (cwd: string, args: string[], timeout = 240_000) =>
  run('npm', args, { cwd, env: npmEnv(), timeout, maxBuffer: 32 * 1024 * 1024 });

function npmEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = cleanEnv(extra);
  for (const name of Object.keys(env)) if (name.startsWith('npm_')) delete env[name];
  return env;
}

test.before(async () => {
  const packDir = tempDir('kalium-pack-');
  const { stdout } = await npm(repo, ['pack', '--json', '--pack-destination', packDir]);
  const [packed] = JSON.parse(stdout) as Array<{ filename: string }>;
  tarball = join(packDir, packed!.filename);
  project = tempDir('kalium-user-');
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'user-project', private: true, type: 'module' }));
  await npm(project, [
    'install', '--no-audit', '--no-fund', '--prefer-offline', tarball,
    `typescript@${devDependencies.typescript}`, `@types/node@${devDependencies['@types/node']}`,
  ]);
});

test.after.always(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

test('plain node imports kalium and kalium/client from the installed package', async (t) => {
  const script = [
    "const kalium = await import('kalium');",
    "const client = await import('kalium/client');",
    "console.log(JSON.stringify([typeof kalium.Kalium, typeof kalium.Response, typeof client.KaliumClient, typeof client.verifyWebhook]));",
  ].join('\n');
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], { cwd: project, env: cleanEnv({}) });
  t.deepEqual(JSON.parse(stdout), ['function', 'function', 'function', 'function']);
  t.true(existsSync(join(project, 'node_modules/kalium/dist/libs/kalium/index.d.ts')), 'declarations ship');
  t.true(existsSync(join(project, 'node_modules/kalium/dist/libs/kalium/index.js.map')), 'source maps ship');
});

test('the example model is not installed with kalium, and nothing kalium needs is missing', (t) => {
  t.false(existsSync(join(project, 'node_modules/wink-nlp')));
  t.false(existsSync(join(project, 'node_modules/wink-eng-lite-web-model')));
  t.false(existsSync(join(project, 'node_modules/kalium/apps/example')));
  t.true(existsSync(join(project, 'node_modules/kalium/LICENSE')));
});

test('a strict user tsc project (nodenext, skipLibCheck false) type-checks an app and a client with zero errors', async (t) => {
  writeFileSync(
    join(project, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        module: 'nodenext', target: 'es2022', strict: true, skipLibCheck: false, noEmit: true,
        exactOptionalPropertyTypes: true, noUncheckedIndexedAccess: true, verbatimModuleSyntax: true, types: ['node'],
      },
      include: ['typed-app.ts', 'typed-client.ts'],
    }),
  );
  writeFileSync(
    join(project, 'typed-app.ts'),
    [
      "import { Kalium, KaliumError, Response, Store, sendWebhook } from 'kalium';",
      "const app = new Kalium<{ upper: (text: string) => string }>('typed');",
      'app.init(async () => ({ upper: (text: string) => text.toUpperCase() }));',
      "app.handler('/', { gpu: true }, (context, request) => ({ out: context.upper(String(request.json?.text)) }));",
      "app.handler('/raw', { gpu: false }, () => new Response({ status: 201, json: { ok: true } }));",
      "app.background('/job', { gpu: true }, async (context, request, job) => {",
      '  await job.progress(50);',
      "  if (!request.json) throw new KaliumError('invalid_input', 400, 'send JSON');",
      "  await sendWebhook('https://example.com/hook', { done: true });",
      '  return context.upper(String(request.json.text));',
      '});',
      "export const store = new Store({ backend: 'local' });",
      'export default app;',
    ].join('\n'),
  );
  writeFileSync(
    join(project, 'typed-client.ts'),
    [
      "import { KaliumClient, verifyWebhook, type JobBody } from 'kalium/client';",
      "const client = new KaliumClient({ baseUrl: 'http://127.0.0.1:8000' });",
      'export async function once(): Promise<JobBody> {',
      "  const { id } = await client.submit('/job', { text: 'hi' }, { idempotencyKey: 'k1' });",
      '  return client.wait(id, { timeoutMs: 1000 });',
      '}',
      "export const ok: boolean = verifyWebhook('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', {}, '{}');",
    ].join('\n'),
  );
  const result = await run(process.execPath, [join(project, 'node_modules/typescript/bin/tsc'), '-p', project], { cwd: project }).then(
    () => '',
    (error: { stdout: string }) => error.stdout,
  );
  t.is(result, '', 'tsc reports no errors');
});

for (const [file, source] of [
  ['app.ts', "import { Kalium } from 'kalium';\nconst app = new Kalium<{ n: number }>('fromts');\napp.init(() => ({ n: 1 }));\napp.handler('/', { gpu: true }, (context) => ({ from: 'ts', n: context.n }));\nexport default app;\n"],
  ['app.mts', "import { Kalium } from 'kalium';\nconst app = new Kalium('frommts');\napp.handler('/', { gpu: false }, () => ({ from: 'mts' }));\nexport default app;\n"],
  ['app.mjs', "import { Kalium } from 'kalium';\nconst app = new Kalium('frommjs');\napp.handler('/', { gpu: false }, () => ({ from: 'mjs' }));\nexport default app;\n"],
  ['app.js', "import { Kalium } from 'kalium';\nconst app = new Kalium('fromjs');\napp.handler('/', { gpu: false }, () => ({ from: 'js' }));\nexport default app;\n"],
  // A potassium app, run with the Python package kalium ships.
  ['app.py', 'from potassium import Potassium, Request, Response\napp = Potassium("frompy")\n@app.handler("/", gpu=True)\ndef handler(context: dict, request: Request) -> Response:\n    return Response(json={"from": "py"}, status=200)\n'],
] as const) {
  const extension = file.slice('app.'.length);
  test(`the installed kalium bin serves a .${extension} app`, async (t) => {
    writeFileSync(join(project, file), source);
    const api = spawn(join(project, 'node_modules/.bin/kalium'), ['api', file], {
      cwd: project,
      env: cleanEnv({ REDIS_URL: redis.url }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    t.teardown(() => void api.kill('SIGKILL'));
    const url = await listening(api);
    const res = await fetch(url, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } });
    t.is(res.status, 200);
    t.is(((await res.json()) as { from: string }).from, extension);
  });
}

test('npx tsx app.ts with app.serve() runs the app as kalium dev does, in a user project', async (t) => {
  writeFileSync(
    join(project, 'served.ts'),
    "import { Kalium } from 'kalium';\nconst app = new Kalium('served');\napp.handler('/', { gpu: false }, () => ({ served: true }));\nexport default app;\napp.serve();\n",
  );
  const served = spawnGroup(t, join(project, 'node_modules/.bin/tsx'), ['served.ts'], project, cleanEnv({ REDIS_URL: redis.url }));
  const url = await listening(served);
  t.deepEqual(await (await fetch(url, { method: 'POST' })).json(), { served: true });
});

test('kalium init writes a project whose own npm test passes and whose npm run dev serves it', async (t) => {
  const parent = tempDir('kalium-init-');
  const kalium = join(project, 'node_modules/.bin/kalium');
  const { stdout } = await run(kalium, ['init', 'my-model'], { cwd: parent, env: cleanEnv({}) });
  t.regex(stdout, /wrote .*app\.ts/);
  const dir = join(parent, 'my-model');
  for (const file of ['app.ts', 'package.json', 'tsconfig.json', 'test/app.test.ts', 'Dockerfile', 'docker-compose.yml', '.dockerignore', '.env.example', 'README.md']) {
    t.true(existsSync(join(dir, file)), file);
  }
  const dockerfile = readFileSync(join(dir, 'Dockerfile'), 'utf8');
  const compose = readFileSync(join(dir, 'docker-compose.yml'), 'utf8');
  t.false(/apps\/example|repo-only|wink/.test(dockerfile + compose), 'nothing of the kalium repository is left in them');
  t.regex(compose, /kalium", "api", "app\.ts"|kalium api app\.ts/);
  t.regex(compose, /image: my-model:local/, 'the image is named for the project');
  t.regex(readFileSync(join(dir, '.dockerignore'), 'utf8'), /^node_modules$/m, 'host node_modules stay out of the build context');

  // The project's kalium comes from the tarball, not the registry.
  await npm(dir, ['install', '--no-audit', '--no-fund', '--prefer-offline', tarball]);
  const tested = await npm(dir, ['test']).then(
    ({ stdout }) => stdout,
    (error: { stdout: string; stderr: string }) => `${error.stdout}\n${error.stderr}`,
  );
  t.regex(tested, /# pass 4/, tested);
  t.regex(tested, /# fail 0/, tested);

  const devRun = spawnGroup(t, 'npm', ['run', 'dev'], dir, npmEnv({ REDIS_URL: redis.url, PORT: '0' }));
  const url = await listening(devRun);
  const res = await fetch(url, { method: 'POST', body: JSON.stringify({ text: 'I love it' }), headers: { 'content-type': 'application/json' } });
  t.deepEqual(await res.json(), { score: 1 });
  process.kill(-devRun.pid!, 'SIGTERM');

  const again = await run(kalium, ['init', 'my-model'], { cwd: parent, env: cleanEnv({}) }).then(
    () => ({ code: 0, stderr: '' }),
    (error: { code: number; stderr: string }) => error,
  );
  t.is(again.code, 1, 'it refuses to overwrite');
  t.regex(again.stderr, /already has app\.ts, test\/app\.test\.ts, package\.json, tsconfig\.json, Dockerfile, docker-compose\.yml, \.dockerignore/);
  t.regex(again.stderr, /nothing was written/);
});

/** A command that starts kalium processes of its own, in a process group that the test's end kills whole. */
function spawnGroup(t: ExecutionContext, command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv): ChildProcess {
  const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  t.teardown(() => {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // the group has ended already
    }
  });
  return child;
}

/** The api's URL from its `api listening` line, once init has finished. */
function listening(child: ChildProcess): Promise<string> {
  return new Promise((done, fail) => {
    let out = '';
    const timer = setTimeout(() => fail(new Error(`not listening after 60 s: ${out}`)), 60_000);
    const read = (chunk: Buffer) => {
      out += chunk.toString();
      const url = /"url":"(http:[^"]+)"[^\n]*"msg":"api listening"/.exec(out)?.[1];
      // The api's own line: under kalium dev the worker's init may finish first.
      if (url && /"name":"api"[^\n]*"msg":"init finished"/.test(out)) {
        clearTimeout(timer);
        done(url);
      }
    };
    child.stdout!.on('data', read);
    child.stderr!.on('data', read);
    child.once('exit', (code) => fail(new Error(`exited (${code}) before listening: ${out}`)));
  });
}
