// `npm run test:compose`: docker-compose.yml brought up for real and checked from the host.
// Engine: Debian's podman behind its Docker-compatible API socket; client: Debian's docker-compose;
// base images: local stand-ins for node:20-bookworm-slim and redis:7 (no registry is reachable).
// Needs root (podman as root, apt-get). Prints `N passed, N failed`; exits non-zero on any failure.
import { randomBytes } from 'node:crypto';
import { ROOT } from '../helpers/compose-file.ts';
import { freePort } from '../helpers/free-port.ts';
import { engineEnvironment, installPackages, startEngine, type Engine } from './engine.ts';
import { hostExtraCaCertificates } from './extra-ca.ts';
import { ComposeProject } from './project.ts';
import { secondsSince } from './shell.ts';
import { ensureStandInImages } from './stand-in-images.ts';
import { composeChecks } from './checks.ts';

const PROJECT = 'kalium-compose-test';
const timings: Record<string, number> = {};
let passed = 0;
let failed = 0;

async function check(name: string, body: () => Promise<void>): Promise<void> {
  const start = performance.now();
  try {
    await body();
    passed++;
    console.log(`  ✔ ${name} (${secondsSince(start)} s)`);
  } catch (error) {
    failed++;
    console.log(`  ✘ ${name} (${secondsSince(start)} s)\n    ${(error instanceof Error ? error.message : String(error)).replaceAll('\n', '\n    ')}`);
  }
}

async function timed<T>(what: string, body: () => Promise<T>): Promise<T> {
  const start = performance.now();
  console.log(`test:compose: ${what}…`);
  try {
    return await body();
  } finally {
    timings[what] = secondsSince(start);
  }
}

let engine: Engine | undefined;
let project: ComposeProject | undefined;
try {
  const installed = await timed('install Debian packages', installPackages);
  if (installed.length > 0) console.log(`test:compose: installed ${installed.join(' ')}`);
  const env = await engineEnvironment();
  engine = await timed('start podman system service', () => startEngine(env));
  const built = await timed('stand-in base images', () => ensureStandInImages(env));
  for (const [image, seconds] of Object.entries(built)) timings[`  built ${image}`] = seconds;

  const [apiPort, receiverPort] = [await freePort(), await freePort()];
  project = new ComposeProject(PROJECT, ROOT, {
    ...env,
    // The Python client builds through the engine's API (not the docker CLI, which needs BuildKit).
    COMPOSE_DOCKER_CLI_BUILD: '0',
    DOCKER_BUILDKIT: '0',
    API_PORT: String(apiPort),
    RECEIVER_PORT: String(receiverPort),
    WEBHOOK_SECRET: `whsec_${randomBytes(24).toString('base64')}`,
    EXTRA_CA_CERTS: hostExtraCaCertificates(),
  });
  // A run that died half-way leaves its stack behind; start from nothing.
  await project.compose(['down', '-v', '--remove-orphans']);
  await composeChecks({ project, apiUrl: `http://127.0.0.1:${apiPort}`, check, timed });
} catch (error) {
  failed++;
  console.log(`  ✘ test:compose could not run to its end:\n    ${(error instanceof Error ? error.stack ?? error.message : String(error)).replaceAll('\n', '\n    ')}`);
} finally {
  if (project) {
    await project.compose(['down', '-v', '--remove-orphans']).catch(() => undefined);
    // Each build leaves its build stage behind as an untagged image (the next build's cache); those
    // a day old go, so a machine that runs this often does not fill its disk.
    await project.podman(['image', 'prune', '-f', '--filter', 'until=24h']).catch(() => undefined);
  }
  await engine?.stop();
}

console.log('test:compose timings (s):');
for (const [what, seconds] of Object.entries(timings)) console.log(`  ${what}: ${seconds}`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed > 0 || passed === 0 ? 1 : 0);
