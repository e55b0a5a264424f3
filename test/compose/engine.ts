import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { must, run, until } from './shell.ts';

// The container engine behind `npm run test:compose`: Debian's podman, serving the Docker API on a
// unix socket, with Debian's docker-compose (v1) as the client. What this machine needs of podman,
// and why, is in containers.conf below: there is no systemd (no systemd cgroup manager, no journald,
// no timers to run health checks), the cgroup tree is hybrid v1 (crun refuses it, runc does not), and
// the hard rlimits are lower than podman's default container ulimits (crun/runc then fail setrlimit).

/** Where the engine's config, socket, logs and the cached base file system live between runs. */
export const STATE_DIR = '/var/tmp/kalium-compose-test';
export const SOCKET = join(STATE_DIR, 'podman.sock');

/** Debian packages, each with a file that shows it is installed. */
const PACKAGES: Array<[name: string, file: string]> = [
  ['podman', '/usr/bin/podman'],
  ['runc', '/usr/sbin/runc'],
  ['netavark', '/usr/lib/podman/netavark'],
  ['aardvark-dns', '/usr/lib/podman/aardvark-dns'],
  ['iptables', '/usr/sbin/iptables'],
  ['debootstrap', '/usr/sbin/debootstrap'],
  ['docker-compose', '/usr/bin/docker-compose'],
];

/** Installs, from Debian's packages, those of PACKAGES this machine lacks; gives their names. */
export async function installPackages(): Promise<string[]> {
  const missing = PACKAGES.filter(([, file]) => !existsSync(file)).map(([name]) => name);
  if (missing.length === 0) return [];
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  await must('apt-get', ['update', '-qq'], { env });
  await must('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing], { env });
  return missing;
}

/** The hard limit of one of this process's rlimits, as /proc/self/limits names it, capped at `cap`. */
function hardLimit(name: 'Max open files' | 'Max processes', cap: number): number {
  const line = readFileSync('/proc/self/limits', 'utf8').split('\n').find((l) => l.startsWith(name));
  const hard = line?.slice(name.length).trim().split(/\s+/)[1];
  return hard === undefined || hard === 'unlimited' ? cap : Math.min(Number(hard), cap);
}

/**
 * Writes the podman configuration this machine needs and gives the environment that makes podman
 * (and its API service) read it: CONTAINERS_CONF, not /etc, so the host's own setup is left alone.
 */
export async function engineEnvironment(): Promise<NodeJS.ProcessEnv> {
  mkdirSync(STATE_DIR, { recursive: true });
  // podman lowers its own RLIMIT_NPROC to 32768 before starting a container, so a container cannot
  // be given more than that; and nothing above the hard limits this process has.
  const nofile = hardLimit('Max open files', 1_048_576);
  const nproc = hardLimit('Max processes', 32_768);
  const config = join(STATE_DIR, 'containers.conf');
  writeFileSync(
    config,
    [
      '[containers]',
      `default_ulimits = ["nofile=${nofile}:${nofile}", "nproc=${nproc}:${nproc}"]`,
      '[engine]',
      'cgroup_manager = "cgroupfs"',
      'events_logger = "file"',
      'runtime = "runc"',
      '',
    ].join('\n'),
  );
  // BUILDAH_FORMAT: images in Docker format, as the compat API builds them already (an OCI image has
  // no HEALTHCHECK, so the Dockerfile's would be dropped).
  return { ...process.env, CONTAINERS_CONF: config, DOCKER_HOST: `unix://${SOCKET}`, BUILDAH_FORMAT: 'docker' };
}

/** GET on the engine's socket; resolves with the status code. */
function pingSocket(): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: SOCKET, path: '/_ping', timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.once('error', reject);
    req.once('timeout', () => req.destroy(new Error('ping timed out')));
    req.end();
  });
}

export interface Engine {
  env: NodeJS.ProcessEnv;
  stop(): Promise<void>;
}

/** Starts `podman system service` on SOCKET, and the health-check timer; resolves once it answers. */
export async function startEngine(env: NodeJS.ProcessEnv): Promise<Engine> {
  rmSync(SOCKET, { force: true });
  const log = openSync(join(STATE_DIR, 'podman-service.log'), 'w');
  const service: ChildProcess = spawn('podman', ['system', 'service', '--time=0', `unix://${SOCKET}`], { env, stdio: ['ignore', log, log] });
  const exited = new Promise<void>((resolve) => service.once('exit', () => resolve()));
  await until('podman system service to answer on its socket', async () => ((await pingSocket()) === 200 ? true : undefined), 30_000, 200);
  const timer = startHealthTimer(env);
  return {
    env,
    async stop() {
      await timer.stop();
      if (service.exitCode === null && service.signalCode === null) service.kill('SIGTERM');
      await exited;
    },
  };
}

/**
 * podman runs a container's health check from a systemd timer; with no systemd nothing would ever
 * run it, and the health would stay `starting` (so `depends_on: service_healthy` would never start
 * the api). This runs `podman healthcheck run` for every running compose container every 2 s.
 */
function startHealthTimer(env: NodeJS.ProcessEnv): { stop(): Promise<void> } {
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      const ids = await run('podman', ['ps', '-q', '--filter', 'label=com.docker.compose.project'], { env });
      for (const id of ids.stdout.split('\n').filter(Boolean)) {
        await run('podman', ['healthcheck', 'run', id], { env });
      }
      await new Promise((r) => setTimeout(r, 2000));
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
    },
  };
}
