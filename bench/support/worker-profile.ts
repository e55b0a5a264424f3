// Where a kalium worker's time goes, draining a full queue of no-op gpu jobs, beside a bare BullMQ
// worker draining the same count: CPU µs per job of each (medians of interleaved rounds), then a V8 CPU
// profile of kalium's worker summed by function (self time), the top entries printed.
//
//   node --import tsx --import ./apps/cli/register-source.mjs bench/support/worker-profile.ts [jobs] [rounds]
//
// Not part of `npm run bench` (the jobs bench prints the §16 figure); this is the tool behind its
// "where the time goes".
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { CLI, cleanEnv, startKalium } from '../../test/helpers/kalium-process.ts';
import { startRedis } from '../../test/helpers/redis-server.ts';
import { median } from '../measure.ts';
import { inParallel } from './http-client.ts';
import { drain, type Run } from './timed-round.ts';

const JOBS = Number(process.argv[2] ?? 4000);
const ROUNDS = Number(process.argv[3] ?? 5);
const APP = fileURLToPath(new URL('./jobs-bench-app.ts', import.meta.url));
const BARE_WORKER = fileURLToPath(new URL('./bare-bullmq-worker.ts', import.meta.url));
const keep = { age: 3600, count: 100_000 };

const redis = await startRedis();
const client = new Redis(redis.url, { maxRetriesPerRequest: null });
const profiles = mkdtempSync(join(tmpdir(), 'kalium-worker-profile-'));
const env = { REDIS_URL: redis.url, LOG_LEVEL: 'info' };
const api = await startKalium('api', APP, env, { discardLogsAfterReady: true });
// Spawned by hand: --cpu-prof is not allowed in NODE_OPTIONS.
const worker = spawn(process.execPath, ['--cpu-prof', `--cpu-prof-dir=${profiles}`, CLI, 'worker', APP], { env: cleanEnv(env), stdio: ['ignore', 'pipe', 'inherit'] });
await new Promise<void>((resolve) => {
  const lines = createInterface({ input: worker.stdout! });
  lines.on('line', (line) => line.includes('"worker ready"') && resolve());
});
worker.stdout!.resume();
const bare = spawn(process.execPath, ['--cpu-prof', `--cpu-prof-dir=${profiles}/bare`, '--import', 'tsx', BARE_WORKER, redis.url, 'jobs', '{bare}'], { stdio: ['ignore', 'pipe', 'inherit'] });
await new Promise<void>((resolve) => createInterface({ input: bare.stdout! }).once('line', () => resolve()));
const bareQueue = new Queue('jobs', { connection: client, prefix: '{bare}' });
// Whatever ends this process (a failed round too) ends what it started.
process.on('exit', () => {
  for (const child of [api.child, worker, bare]) if (child.exitCode === null) child.kill('SIGKILL');
});
process.on('uncaughtException', (error) => {
  console.error(error);
  void redis.kill().finally(() => process.exit(1));
});

const submit = (count: number) => inParallel(count, 16, () => fetch(`${api.url}/noop`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' }).then((r) => r.arrayBuffer())).then(() => undefined);
const bareAdd = (count: number) => inParallel(count, 16, (i) => bareQueue.add('noop', { i }, { removeOnComplete: keep, removeOnFail: keep })).then(() => undefined);

/** Redis commands run (INFO commandstats) while `work` runs, by command, per job. */
async function commandsPerJob(work: () => Promise<unknown>, jobs: number): Promise<string> {
  const read = async () => new Map([...(await client.info('commandstats')).matchAll(/^cmdstat_(\S+):calls=(\d+)/gm)].map((m) => [m[1]!, Number(m[2])]));
  const before = await read();
  await work();
  const after = await read();
  const per = [...after].map(([name, calls]) => [name, (calls - (before.get(name) ?? 0)) / jobs] as const).filter(([, n]) => n >= 0.05);
  return per.sort((a, b) => b[1] - a[1]).map(([name, n]) => `${name} ${n.toFixed(2)}`).join(', ');
}

const runs: Record<'kalium' | 'bare', Run[]> = { kalium: [], bare: [] };
await drain(client, '{kalium:jobsbench}:jobs', 500, [worker.pid!], () => submit(500)); // warm-up
await drain(client, '{bare}:jobs', 500, [bare.pid!], () => bareAdd(500));
for (let round = 0; round < ROUNDS; round++) {
  runs.kalium.push(await drain(client, '{kalium:jobsbench}:jobs', JOBS, [worker.pid!], () => submit(JOBS)));
  runs.bare.push(await drain(client, '{bare}:jobs', JOBS, [bare.pid!], () => bareAdd(JOBS)));
}
// Commands of the drain alone (the fill's are done before the workers are let go).
for (const pid of [worker.pid!, bare.pid!]) process.kill(pid, 'SIGSTOP');
await submit(1000);
await bareAdd(1000);
const waitEmpty = async (queue: string) => {
  while ((await client.llen(`${queue}:wait`)) + (await client.zcard(`${queue}:prioritized`)) + (await client.llen(`${queue}:active`)) > 0) await new Promise((r) => setTimeout(r, 5));
};
console.log('kalium worker, Redis commands per job:', await commandsPerJob(async () => (process.kill(worker.pid!, 'SIGCONT'), await waitEmpty('{kalium:jobsbench}:jobs')), 1000));
console.log('bare worker, Redis commands per job:', await commandsPerJob(async () => (process.kill(bare.pid!, 'SIGCONT'), await waitEmpty('{bare}:jobs')), 1000));
const rate = (side: 'kalium' | 'bare') => median(runs[side].map((run) => run.jobsPerSecond));
const cpu = (side: 'kalium' | 'bare') => median(runs[side].map((run) => run.cpu.worker!));
console.log(`jobs/s kalium ${rate('kalium').toFixed(0)} bare ${rate('bare').toFixed(0)} (${(rate('kalium') / rate('bare')).toFixed(2)}×); worker CPU µs/job kalium ${cpu('kalium').toFixed(0)} bare ${cpu('bare').toFixed(0)}`);

const exited = new Promise((resolve) => worker.once('exit', resolve));
worker.kill('SIGTERM');
await exited;
bare.kill('SIGTERM');
await Promise.all([api.kill('SIGTERM'), bareQueue.close()]);
client.disconnect();
await redis.stop();

// The profile's self time by function (and file), the main thread only.
const file = readdirSync(profiles).find((name) => name.endsWith('.cpuprofile'));
if (!file) throw new Error(`no CPU profile was written in ${profiles}`);
type Node = { id: number; callFrame: { functionName: string; url: string; lineNumber: number } };
const profile = JSON.parse(readFileSync(join(profiles, file), 'utf8')) as { nodes: Node[]; samples: number[]; timeDeltas: number[] };
const byId = new Map(profile.nodes.map((node) => [node.id, node]));
const self = new Map<string, number>();
// A sample after the SIGSTOP of a fill carries the whole pause as its time: samples whose delta is far
// over the sampling interval are left out.
const usual = median(profile.timeDeltas);
profile.samples.forEach((id, i) => {
  if ((profile.timeDeltas[i] ?? 0) > 10 * usual) return;
  const frame = byId.get(id)!.callFrame;
  const where = `${frame.functionName || '(anonymous)'} ${frame.url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*\/main\//, '')}:${frame.lineNumber + 1}`;
  self.set(where, (self.get(where) ?? 0) + (profile.timeDeltas[i] ?? 0));
});
const total = [...self.values()].reduce((a, b) => a + b, 0);
const idle = self.get('(idle) :0') ?? 0;
console.log(`profile ${join(profiles, file)}: ${(total / 1000).toFixed(0)} ms sampled, ${(((total - idle) / total) * 100).toFixed(0)}% busy`);
for (const [where, us] of [...self.entries()].filter(([w]) => !w.startsWith('(idle)')).sort((a, b) => b[1] - a[1]).slice(0, 40)) {
  console.log(`${((us / (total - idle)) * 100).toFixed(1).padStart(5)}%  ${where}`);
}
