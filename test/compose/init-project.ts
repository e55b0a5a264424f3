import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '../helpers/free-port.ts';
import { STATE_DIR } from './engine.ts';
import { ComposeProject } from './project.ts';
import { must } from './shell.ts';

// `kalium init` derives a project's Dockerfile and docker-compose.yml from docker/Dockerfile and
// docker-compose.yml (their repo-only lines dropped). This builds and runs such a project as a user
// would, with kalium installed from this checkout's `npm pack` tarball instead of the registry.

export interface InitProject {
  project: ComposeProject;
  apiUrl: string;
  dispose(): void;
}

export async function prepareInitProject(root: string, env: NodeJS.ProcessEnv): Promise<InitProject> {
  const dir = mkdtempSync(join(STATE_DIR, 'init-project-'));
  const app = join(dir, 'app');
  await must(process.execPath, [join(root, 'apps/cli/kalium.mjs'), 'init', app], { cwd: dir });
  // The build that `npm ci` ran (prepare) made dist/; --ignore-scripts packs it as it is.
  if (!existsSync(join(root, 'dist/apps/cli/kalium.mjs'))) throw new Error('dist/ is not built: npm run build (npm ci runs it)');
  await must('npm', ['pack', '--ignore-scripts', '--silent', '--pack-destination', app], { cwd: root });
  const tarball = readdirSync(app).find((name) => /^kalium-.*\.tgz$/.test(name));
  if (!tarball) throw new Error('npm pack wrote no kalium tarball');

  const manifestPath = join(app, 'package.json');
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as { dependencies: Record<string, string> };
  manifest.dependencies.kalium = `file:${tarball}`;
  writeFileSync(manifestPath, `${JSON.stringify(manifest, null, 2)}\n`);
  // A user's lock file, from the npm they have (as `npm install` would write it).
  await must('npm', ['install', '--package-lock-only', '--ignore-scripts', '--no-audit', '--no-fund'], { cwd: app });

  // The one change for a kalium that is not on the registry: its tarball goes in with the lock file.
  const dockerfilePath = join(app, 'Dockerfile');
  const dockerfile = readFileSync(dockerfilePath, 'utf8');
  const copies = dockerfile.match(/^COPY package\.json package-lock\.json \.\/$/gm)?.length ?? 0;
  if (copies !== 2) throw new Error(`expected the project Dockerfile to copy package.json and package-lock.json in both stages, found ${copies}`);
  writeFileSync(dockerfilePath, dockerfile.replaceAll('COPY package.json package-lock.json ./', `COPY package.json package-lock.json ${tarball} ./`));

  const apiPort = await freePort();
  const project = new ComposeProject('kalium-init-test', app, { ...env, API_PORT: String(apiPort) });
  return { project, apiUrl: `http://127.0.0.1:${apiPort}`, dispose: () => rmSync(dir, { recursive: true, force: true }) };
}
