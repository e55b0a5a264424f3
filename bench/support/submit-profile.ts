// The api side of the job path alone (SPEC §16): kalium's api on jobs-bench-app.ts against the hand-rolled
// Koa + BullMQ api (handrolled-api.ts), no worker running, each sent the same `POST /noop {}` submits by
// autocannon (16 connections) in interleaved rounds. Prints each api process's CPU µs per submit (the
// median of the rounds; from /proc/<pid>/task/*/schedstat, in ns, where /proc/<pid>/stat counts 10 ms
// ticks) and the Redis commands a submit costs (INFO commandstats). --compare <dir> adds a kalium api run
// from another checkout of the repository (e.g. `git archive <commit> | tar -x -C <dir>`, its node_modules
// a link to this one's) as a third side of the same rounds: a before/after on the same machine load.
// --profile <dir> then runs kalium's api and the hand-rolled one each under `node --cpu-prof` and prints
// where each spends its time per submit (the .cpuprofile files stay in <dir>, for Chrome DevTools).
// A profile samples wall time while the thread is not idle: time it spent preempted on the shared cores
// shows up in whatever it was running (often writev), so read its shares, not its µs, against the CPU.
// On two shared cores rounds vary by ±10% even as medians of 10: compare sides of the same run only.
//
//   node --import tsx --import ./apps/cli/register-source.mjs bench/support/submit-profile.ts \
//     [--rounds 10] [--jobs 10000] [--compare /tmp/kalium-before] [--profile /tmp/kalium-prof]
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import type { Redis } from 'ioredis';
import { freePort } from '../../test/helpers/free-port.ts';
import { cleanEnv } from '../../test/helpers/kalium-process.ts';
import { startRedis } from '../../test/helpers/redis-server.ts';
import { median } from '../measure.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const HANDROLLED_API = fileURLToPath(new URL('./handrolled-api.ts', import.meta.url));
const CONNECTIONS = 16;
/** Rounds of submits a profile covers (after a warm-up round). */
const PROFILED_ROUNDS = 3;

const { values: args } = parseArgs({
  options: { rounds: { type: 'string', default: '10' }, jobs: { type: 'string', default: '10000' }, compare: { type: 'string' }, profile: { type: 'string' } },
});
const ROUNDS = Number(args.rounds);
const JOBS = Number(args.jobs);

/** How to start one api under test: `node <args>` with `env` (PORT is added). */
interface Side {
  name: string;
  args: string[];
  env: NodeJS.ProcessEnv;
}

/** kalium's api from the checkout at `root`, logging at info as in production. */
function kaliumSide(name: string, root: string, redisUrl: string): Side {
  const env = cleanEnv({ REDIS_URL: redisUrl, LOG_LEVEL: 'info', RESULT_TTL: '3600', QUEUE_MAX: '10000000' });
  return { name, args: [join(root, 'apps/cli/kalium.mjs'), 'api', join(root, 'bench/support/jobs-bench-app.ts')], env };
}

interface Api {
  url: string;
  pid: number;
  stop(): Promise<void>;
}

/**
 * Spawns a side (with `execArgv` before its args, e.g. --cpu-prof) and waits until `POST /noop` answers
 * 202. Its stdout (kalium's log lines) is drained, not parsed: a log shipper's work is not the server's.
 */
async function startApi(side: Side, execArgv: string[] = []): Promise<Api> {
  const port = await freePort();
  const child: ChildProcess = spawn(process.execPath, [...execArgv, ...side.args], { env: { ...side.env, PORT: String(port) }, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.resume();
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM'); // a profile is written as the process exits
    await exited;
  };
  const url = `http://127.0.0.1:${port}`;
  for (const deadline = Date.now() + 60_000; ; ) {
    if (child.exitCode !== null) throw new Error(`${side.name} exited before it was ready: ${stderr}`);
    try {
      const response = await fetch(`${url}/noop`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
      await response.arrayBuffer();
      if (response.status === 202) return { url, pid: child.pid!, stop };
    } catch {
      // not listening yet, or its Redis connection not up yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`${side.name} was not ready within 60 s: ${stderr}`);
    }
    await sleep(100);
  }
}

/** CPU time a process's threads have run, µs (Linux's schedstat, in ns; threads gone since are not counted). */
function cpuMicros(pid: number): number {
  let ns = 0;
  for (const task of readdirSync(`/proc/${pid}/task`)) {
    try {
      ns += Number(readFileSync(`/proc/${pid}/task/${task}/schedstat`, 'utf8').split(' ')[0]);
    } catch {
      // the thread ended meanwhile
    }
  }
  return ns / 1000;
}

interface Round {
  cpuUs: number;
  /** Redis commands per submit by name (INFO commandstats, which counts those a script runs too). */
  commands: Record<string, number>;
}

/** Redis commands run so far by name, from INFO commandstats. */
async function commandsRun(client: Redis): Promise<Map<string, number>> {
  const info = await client.info('commandstats');
  return new Map([...info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)].map((match) => [match[1]!, Number(match[2])]));
}

/** `JOBS` submits to the api (every one a 202), with its CPU and the Redis commands they cost. */
async function round(client: Redis, api: Api): Promise<Round> {
  const commands = await commandsRun(client);
  const cpu = cpuMicros(api.pid);
  const result = await autocannon({ url: `${api.url}/noop`, method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}', connections: CONNECTIONS, amount: JOBS });
  const used = cpuMicros(api.pid) - cpu;
  if (result['2xx'] !== JOBS) throw new Error(`${JOBS - result['2xx']} submits to ${api.url} were not accepted (non-2xx ${result.non2xx}, errors ${result.errors})`);
  const after = await commandsRun(client);
  after.set('info', after.get('info')! - 1); // this client's own INFO
  const perSubmit: Record<string, number> = {};
  for (const [name, calls] of after) if (calls > (commands.get(name) ?? 0)) perSubmit[name] = (calls - (commands.get(name) ?? 0)) / JOBS;
  return { cpuUs: used / JOBS, commands: perSubmit };
}

/**
 * Runs a side under `node --cpu-prof` for a warm-up round and PROFILED_ROUNDS more, and returns its main
 * thread's profile cut to those rounds (the profile's clock and process.hrtime are both the monotonic
 * clock), so start-up and the warm-up are left out.
 */
async function profileRounds(client: Redis, dir: string, side: Side): Promise<Profile> {
  const before = new Set(readdirSync(dir));
  const api = await startApi(side, ['--cpu-prof', `--cpu-prof-dir=${dir}`, '--cpu-prof-interval=100']);
  let window: [number, number];
  try {
    await round(client, api);
    const started = Number(process.hrtime.bigint() / 1000n);
    for (let i = 0; i < PROFILED_ROUNDS; i++) await round(client, api);
    window = [started, Number(process.hrtime.bigint() / 1000n)];
  } finally {
    await api.stop();
  }
  // CPU.<date>.<time>.<pid>.<thread>.<seq>.cpuprofile; thread 0 is the main one.
  const file = readdirSync(dir).find((name) => !before.has(name) && name.includes(`.${api.pid}.0.`));
  if (!file) throw new Error(`no main-thread .cpuprofile of ${side.name} in ${dir}`);
  return cut(join(dir, file), window);
}

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

/** A profile's samples within a window: each sample's stack (leaf first) and the µs it stands for. */
interface Profile {
  path: string;
  samples: Array<{ stack: ProfileNode[]; us: number }>;
}

function cut(path: string, [from, to]: [number, number]): Profile {
  const profile = JSON.parse(readFileSync(path, 'utf8')) as { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[]; startTime: number };
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, ProfileNode>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node);
  const samples: Profile['samples'] = [];
  let at = profile.startTime;
  for (let i = 0; i < profile.samples.length; i++) {
    at += profile.timeDeltas[i]!;
    const us = profile.timeDeltas[i + 1] ?? 0; // a sample stands for the time until the next one
    if (at < from || at > to) continue;
    const stack: ProfileNode[] = [];
    for (let node = byId.get(profile.samples[i]!); node; node = parent.get(node.id)) stack.push(node);
    if (stack[0]!.callFrame.functionName === '(idle)') continue;
    samples.push({ stack, us });
  }
  return { path, samples };
}

/** µs per submit by package or file (self), the top functions (self), and inclusive time of WATCHED, side by side. */
function report(kalium: Profile, hand: Profile, submits: number): void {
  const perSubmit = (us: number) => (us / submits).toFixed(1).padStart(6);
  const tally = (profile: Profile, key: (node: ProfileNode) => string) => {
    const map = new Map<string, number>();
    for (const { stack, us } of profile.samples) map.set(key(stack[0]!), (map.get(key(stack[0]!)) ?? 0) + us);
    return map;
  };
  const table = (title: string, key: (node: ProfileNode) => string, n: number) => {
    const [k, h] = [tally(kalium, key), tally(hand, key)];
    const rows = [...new Set([...k.keys(), ...h.keys()])].sort((a, b) => (k.get(b) ?? 0) - (k.get(a) ?? 0)).slice(0, n);
    return `${title} (µs per submit: kalium, hand-rolled)\n${rows.map((row) => `  ${perSubmit(k.get(row) ?? 0)} ${perSubmit(h.get(row) ?? 0)}  ${row}`).join('\n')}`;
  };
  const total = (profile: Profile) => profile.samples.reduce((sum, { us }) => sum + us, 0);
  const fn = (node: ProfileNode) => `${node.callFrame.functionName || '(anonymous)'} ${place(node.callFrame.url)}:${node.callFrame.lineNumber + 1}`;
  // A function's samples and its callees', each sample counted once however often it recurs in the stack.
  const inclusive = (profile: Profile) => {
    const map = new Map<string, number>();
    for (const { stack, us } of profile.samples) for (const name of new Set(stack.map(fn))) map.set(name, (map.get(name) ?? 0) + us);
    return map;
  };
  const [kaliumInclusive, handInclusive] = [inclusive(kalium), inclusive(hand)];
  const own = [...kaliumInclusive].filter(([name]) => / (libs|bench)\//.test(name)).sort((a, b) => b[1] - a[1]).slice(0, 40);
  process.stdout.write(
    [
      `\nprofiles ${kalium.path}, ${hand.path} (${PROFILED_ROUNDS} rounds each; profiled processes run slower than the rounds above)`,
      `busy (not idle) µs per submit: kalium ${perSubmit(total(kalium))}, hand-rolled ${perSubmit(total(hand))}`,
      table('by package or file, self', (node) => place(node.callFrame.url), 35),
      table('by function, self', fn, 45),
      `kalium's own functions, inclusive of what they call synchronously (µs per submit)\n${own.map(([name, us]) => `  ${perSubmit(us)}  ${name}`).join('\n')}`,
      `a few library functions, inclusive (µs per submit: kalium, hand-rolled)\n${['respond', 'addJob', 'LOG', 'observe', 'getRawBody', 'dispatch']
        .flatMap((wanted) => [...kaliumInclusive.keys()].filter((name) => name.startsWith(`${wanted} `)))
        .map((name) => `  ${perSubmit(kaliumInclusive.get(name) ?? 0)} ${perSubmit(handInclusive.get(name) ?? 0)}  ${name}`)
        .join('\n')}`,
    ].join('\n\n') + '\n',
  );
}

/** A frame's file: `pkg` for node_modules/pkg, the repository-relative path for kalium's own. */
function place(url: string): string {
  if (url === '') return '(native)';
  const path = url.startsWith('file://') ? fileURLToPath(url) : url;
  const modules = path.lastIndexOf('node_modules/');
  if (modules >= 0) {
    const rest = path.slice(modules + 'node_modules/'.length).split('/');
    return rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!;
  }
  return path.startsWith(ROOT) ? relative(ROOT, path) : path;
}

/** The rounds, then the profiles when asked for. */
async function main(): Promise<void> {
  const redis = await startRedis();
  const client = redis.client();
  const sides: Side[] = [kaliumSide('kalium', ROOT, redis.url)];
  if (args.compare) sides.push(kaliumSide('compare', args.compare, redis.url));
  sides.push({ name: 'hand', args: ['--import', 'tsx', HANDROLLED_API], env: { ...process.env, REDIS_URL: redis.url, QUEUE_PREFIX: '{hand}' } });
  const apis: Api[] = [];
  try {
    for (const side of sides) apis.push(await startApi(side));
    for (let i = 0; i < 2; i++) for (const api of apis) await round(client, api); // warm-up: JIT, connections, scripts loaded
    const runs: Round[][] = sides.map(() => []);
    for (let i = 0; i < ROUNDS; i++) {
      for (let j = 0; j < sides.length; j++) {
        const k = (i + j) % sides.length; // who goes first rotates
        runs[k]!.push(await round(client, apis[k]!));
      }
    }
    const hand = runs.at(-1)!;
    process.stdout.write(`${JOBS} submits a round, ${CONNECTIONS} connections, ${ROUNDS} interleaved rounds, no worker\n`);
    sides.forEach((side, k) => {
      const cpu = runs[k]!.map((r) => r.cpuUs);
      const ratios = runs[k]!.map((r, i) => r.cpuUs / hand[i]!.cpuUs);
      const commands = Object.entries(runs[k]!.at(-1)!.commands).map(([command, calls]) => `${command} ${calls.toFixed(2)}`);
      process.stdout.write(
        `${side.name.padEnd(8)} api CPU ${median(cpu).toFixed(1)} µs/submit (rounds ${cpu.map((x) => x.toFixed(0)).join(', ')})` +
          (k < sides.length - 1 ? `; ÷ hand-rolled ${median(ratios).toFixed(2)} (${ratios.map((x) => x.toFixed(2)).join(', ')})` : '') +
          `\n         Redis commands a submit, a script's own included (last round): ${commands.join(', ')}\n`,
      );
    });
    if (args.compare) {
      const ratios = runs[0]!.map((r, i) => r.cpuUs / runs[1]![i]!.cpuUs);
      process.stdout.write(`kalium ÷ compare: ${median(ratios).toFixed(2)} (${ratios.map((x) => x.toFixed(2)).join(', ')})\n`);
    }
    if (args.profile) {
      mkdirSync(args.profile, { recursive: true });
      const kalium = await profileRounds(client, args.profile, sides[0]!);
      const handRolled = await profileRounds(client, args.profile, { ...sides.at(-1)!, env: { ...sides.at(-1)!.env, QUEUE_PREFIX: '{hand-profiled}' } });
      report(kalium, handRolled, PROFILED_ROUNDS * JOBS);
    }
  } finally {
    await Promise.all(apis.map((api) => api.stop()));
    await redis.stop();
  }
}

await main();
