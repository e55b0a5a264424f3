import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { projectFiles } from './project-template.ts';

/**
 * `kalium init [dir]`: writes a new project (SPEC §12) into `dir`, creating it when missing. Writes
 * nothing if any of its files already exists, and names them.
 */
export function init(dir: string): void {
  const target = resolve(dir);
  const files = projectFiles({
    name: basename(target),
    kaliumVersion: kaliumPackage().version,
    devDependencies: kaliumPackage().devDependencies,
    tsxVersion: kaliumPackage().dependencies.tsx,
    read: (path) => readFileSync(join(packageRoot(), path), 'utf8'),
  });
  const taken = Object.keys(files).filter((path) => existsSync(join(target, path)));
  if (taken.length > 0) {
    process.stderr.write(`kalium init: ${target} already has ${taken.join(', ')}; nothing was written (move them away, or pick another directory)\n`);
    process.exit(1);
  }
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(target, path)), { recursive: true });
    writeFileSync(join(target, path), text);
  }
  const cd = dir === '.' ? '' : `cd ${dir} && `;
  process.stdout.write(
    `kalium init: wrote ${Object.keys(files).join(', ')} in ${target}\nnext: ${cd}npm install && npm run dev   (tests: npm test)\n`,
  );
}

interface KaliumPackage {
  version: string;
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
}

let pkg: KaliumPackage | undefined;
function kaliumPackage(): KaliumPackage {
  pkg ??= JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as KaliumPackage;
  return pkg;
}

/** kalium's own package directory: from apps/cli in a checkout, from dist/apps/cli when installed. */
function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error('kalium init: cannot find kalium’s package.json');
    dir = parent;
  }
  return dir;
}
