import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { ROOT } from '../helpers/compose-file.ts';

// The image's `npm ci` runs the npm that Node 20 ships (10.8), where this machine's is 11: a lock
// file npm 11 accepts can still lack what npm 10 lays out (npm 10 nests an optional peer npm 11
// leaves out), and then every `docker compose up --build` fails at `npm ci`. `npm run lock` writes
// the lock with npm 10; this checks it in a copy of package.json and the lock, with each npm.

const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
/** The npm `npm run lock` writes with, e.g. npm@10.8.2: one place for the version. */
const NPM_10 = /\bnpx -y (npm@10(?:\.\d+)*) install --package-lock-only\b/.exec(pkg.scripts.lock ?? '')?.[1];

function npmCi(npm: string, files: { 'package.json': string; 'package-lock.json': string }): Promise<{ code: number; output: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'kalium-lock-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return new Promise((resolve) => {
    execFile('npx', ['-y', npm, 'ci', '--dry-run', '--ignore-scripts', '--no-audit', '--no-fund'], { cwd: dir, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      rmSync(dir, { recursive: true, force: true });
      resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, output: `${stdout}\n${stderr}` });
    });
  });
}

const files = () => ({
  'package.json': readFileSync(join(ROOT, 'package.json'), 'utf8'),
  'package-lock.json': readFileSync(join(ROOT, 'package-lock.json'), 'utf8'),
});

test('`npm run lock` writes the lock file with npm 10, the npm of the node:20 images', (t) => {
  t.truthy(NPM_10, `package.json's lock script runs npx -y npm@10… install --package-lock-only: ${pkg.scripts.lock}`);
});

test.serial('npm 10 and npm 11 both accept package-lock.json for `npm ci`', async (t) => {
  for (const npm of [NPM_10 ?? 'npm@10', 'npm@11']) {
    const { code, output } = await npmCi(npm, files());
    const missing = output.split('\n').filter((line) => /Missing:|Invalid:|in sync/.test(line));
    t.is(code, 0, `${npm} ci refuses the lock file: ${missing.join('\n') || output.slice(-2000)}\nRegenerate it with: npm run lock`);
  }
});

test.serial('the check fails on a lock file that lacks a package npm 10 lays out', async (t) => {
  const { 'package.json': manifest, 'package-lock.json': lockText } = files();
  const lock = JSON.parse(lockText) as { packages: Record<string, unknown> };
  const dropped = Object.keys(lock.packages).find((key) => key === 'node_modules/zod');
  t.truthy(dropped, 'zod is in the lock');
  delete lock.packages[dropped!];
  const { code, output } = await npmCi(NPM_10 ?? 'npm@10', { 'package.json': manifest, 'package-lock.json': JSON.stringify(lock, null, 2) });
  t.not(code, 0);
  t.regex(output, /Missing: zod@/);
});
