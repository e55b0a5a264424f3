/** What `kalium init` needs to fill the template in. */
export interface TemplateInput {
  /** The new project's directory name: its package and app name. */
  name: string;
  kaliumVersion: string;
  /** kalium's own devDependencies: the project's TypeScript and Node types follow them. */
  devDependencies: Record<string, string>;
  tsxVersion: string | undefined;
  /** Reads a file of kalium's package, by its path there. */
  read(path: string): string;
}

const TEMPLATE = 'apps/cli/template';

/**
 * The files of a new project, path → text. The Dockerfile, docker-compose.yml and .dockerignore are
 * kalium's own without their `# repo-only` lines, pointed at `app.ts` and the project's image name:
 * one source, so they never drift.
 */
export function projectFiles(input: TemplateInput): Record<string, string> {
  const name = packageName(input.name);
  const fill = (text: string) => text.replaceAll('__APP_NAME__', name);
  return {
    'app.ts': fill(input.read(`${TEMPLATE}/app.ts`)),
    'test/app.test.ts': input.read(`${TEMPLATE}/test/app.test.ts`),
    'package.json': `${JSON.stringify(packageJson(name, input), null, 2)}\n`,
    'tsconfig.json': input.read(`${TEMPLATE}/tsconfig.json`),
    Dockerfile: forProject(input.read('docker/Dockerfile'), name),
    'docker-compose.yml': forProject(input.read('docker-compose.yml'), name),
    '.dockerignore': forProject(input.read('.dockerignore'), name),
    '.env.example': input.read(`${TEMPLATE}/env.example`),
    '.gitignore': 'node_modules/\n.kalium/\n.env\n',
    'README.md': fill(input.read(`${TEMPLATE}/README.md`)),
  };
}

function packageJson(name: string, input: TemplateInput): object {
  const dev = input.devDependencies;
  return {
    name,
    private: true,
    type: 'module',
    scripts: {
      dev: 'kalium dev app.ts',
      start: 'kalium api app.ts',
      worker: 'kalium worker app.ts',
      test: 'tsc && node --import tsx --test test/app.test.ts',
    },
    dependencies: { kalium: `^${input.kaliumVersion}` },
    devDependencies: {
      '@types/node': dev['@types/node'] ?? '^20.0.0',
      tsx: input.tsxVersion ?? '^4.0.0',
      typescript: dev.typescript ?? '^5.9.0',
    },
  };
}

/** A package name npm accepts, from a directory name. */
function packageName(dir: string): string {
  const name = dir.toLowerCase().replace(/[^a-z0-9._-]+/g, '-').replace(/^[._-]+|[-]+$/g, '');
  return name || 'kalium-app';
}

/**
 * kalium's Dockerfile or compose file as a project's: lines ending `# repo-only` and blocks between
 * `# repo-only:begin` and `# repo-only:end` dropped, the example app's path turned into `app.ts`, the
 * image named for the project.
 */
export function forProject(text: string, name: string): string {
  const kept: string[] = [];
  let inBlock = false;
  for (const line of text.split('\n')) {
    const marker = line.trim();
    if (marker === '# repo-only:begin') inBlock = true;
    else if (marker === '# repo-only:end') inBlock = false;
    else if (!inBlock && !/#\s*repo-only\s*$/.test(line)) kept.push(line);
  }
  return kept
    .join('\n')
    .replaceAll('apps/example/app.ts', 'app.ts')
    .replaceAll('docker/Dockerfile', 'Dockerfile')
    .replaceAll('image: kalium:local', `image: ${name}:local`);
}
