#!/usr/bin/env node
// `npm run build`: compiles kalium's sources to dist/ (ESM JavaScript, .d.ts, source maps) with the
// repository's own TypeScript, then copies what tsc does not emit (Lua scripts, .mjs entry points,
// Python files). Run by `prepare`, so `npm pack`, `npm ci` here and installs from a git checkout build it.
import { execFileSync } from 'node:child_process';
import { cpSync, readdirSync, rmSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');
const dist = join(root, 'dist');
/** The parts of the tree the package ships; apps/example and apps/webhook-receiver stay out of it. */
const SHIPPED = ['libs/kalium', 'libs/client', 'libs/shared', 'libs/python', 'apps/cli', 'apps/api', 'apps/worker'];

rmSync(dist, { recursive: true, force: true });
const tsc = join(root, 'node_modules/typescript/bin/tsc');
execFileSync(process.execPath, [tsc, '-p', join(root, 'apps/build/tsconfig.json')], { stdio: 'inherit' });

for (const part of SHIPPED) {
  for (const file of filesUnder(join(root, part))) {
    if (file.endsWith('.ts')) continue;
    cpSync(file, join(dist, relative(root, file)));
  }
}

function* filesUnder(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (name === 'node_modules' || name === '__pycache__') continue;
    if (statSync(path).isDirectory()) yield* filesUnder(path);
    else yield path;
  }
}
