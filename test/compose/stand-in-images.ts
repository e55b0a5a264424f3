import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { STATE_DIR } from './engine.ts';
import { must, run, secondsSince } from './shell.ts';

// No container registry is reachable from these machines, so the two images docker-compose.yml
// and docker/Dockerfile start from are built here, under their real names, when podman lacks them.

const HERE = fileURLToPath(new URL('.', import.meta.url));
const BASE = 'localhost/kalium-stand-in/bookworm:latest';
export const NODE_IMAGE = 'docker.io/library/node:20-bookworm-slim';
export const REDIS_IMAGE = 'docker.io/library/redis:7';
/** The npm that Node 20 ships, as in the official node:20 images (the lock file must suit it). */
export const NPM_IN_NODE_20 = 'npm@10.8.2';

const exists = async (image: string, env: NodeJS.ProcessEnv) => (await run('podman', ['image', 'exists', image], { env })).code === 0;

/** A minimal bookworm (debootstrap's minbase) imported as BASE. */
async function buildBase(env: NodeJS.ProcessEnv): Promise<void> {
  const rootfs = join(STATE_DIR, 'bookworm-rootfs');
  rmSync(rootfs, { recursive: true, force: true });
  await must('debootstrap', ['--variant=minbase', 'bookworm', rootfs, 'http://deb.debian.org/debian']);
  // What the registry's debian:bookworm-slim leaves out too: downloaded packages and package lists.
  await must('sh', ['-c', `rm -rf ${rootfs}/var/cache/apt/archives/*.deb ${rootfs}/var/lib/apt/lists/*`]);
  await must('sh', ['-c', `tar -C ${rootfs} -c . | podman import --change 'CMD ["bash"]' - ${BASE}`], { env });
  rmSync(rootfs, { recursive: true, force: true });
}

/** The node image: this machine's Node 20 binary, and npm 10 unpacked from the npm registry's tarball. */
async function buildNode(env: NodeJS.ProcessEnv): Promise<void> {
  const context = mkdtempSync(join(STATE_DIR, 'node-context-'));
  try {
    const version = (await must(process.execPath, ['--version'])).trim();
    if (!version.startsWith('v20.')) throw new Error(`the node image needs Node 20; this machine's node is ${version}`);
    cpSync(process.execPath, join(context, 'node'));
    const tarball = (await must('npm', ['pack', NPM_IN_NODE_20, '--silent', '--pack-destination', context])).trim().split('\n').at(-1)!;
    await must('sh', ['-c', `mkdir npm && tar -xzf '${tarball}' -C npm --strip-components=1`], { cwd: context });
    await must('podman', ['build', '--format', 'docker', '-t', NODE_IMAGE, '-f', join(HERE, 'stand-ins/node.Containerfile'), context], { env });
  } finally {
    rmSync(context, { recursive: true, force: true });
  }
}

/** The redis image: Debian's redis-server and an entrypoint like the official one's. */
async function buildRedis(env: NodeJS.ProcessEnv): Promise<void> {
  const standIns = join(HERE, 'stand-ins');
  await must('podman', ['build', '--format', 'docker', '-t', REDIS_IMAGE, '-f', join(standIns, 'redis.Containerfile'), standIns], { env });
}

/** Builds whichever stand-in images are missing; gives the seconds each build took (none: present). */
export async function ensureStandInImages(env: NodeJS.ProcessEnv): Promise<Record<string, number>> {
  const timings: Record<string, number> = {};
  const needNode = !(await exists(NODE_IMAGE, env));
  const needRedis = !(await exists(REDIS_IMAGE, env));
  if ((needNode || needRedis) && !(await exists(BASE, env))) {
    const start = performance.now();
    await buildBase(env);
    timings['bookworm base (debootstrap)'] = secondsSince(start);
  }
  if (needNode) {
    const start = performance.now();
    await buildNode(env);
    timings[NODE_IMAGE] = secondsSince(start);
  }
  if (needRedis) {
    const start = performance.now();
    await buildRedis(env);
    timings[REDIS_IMAGE] = secondsSince(start);
  }
  return timings;
}
