// SPEC §16's Python figures: a no-op Python handler served by kalium (the Python model process behind
// kalium's Koa api) against the same handler written in TypeScript, and against the same app served
// the way potassium 0.0.9 serves it (Flask from Debian's python3-flask, one request at a time, a lock
// around gpu handlers) — same load generator, same run, measured in turns; and the bridge's own added
// latency, timed around ModelProcess.call in this process (frames out, Python's dispatch, frames back).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { createLogger } from '../libs/kalium/log/logger.ts';
import { ModelProcess } from '../libs/kalium/python/model-process.ts';
import { CLI, cleanEnv } from '../test/helpers/kalium-process.ts';
import { freePort } from '../test/helpers/free-port.ts';
import { startRedis } from '../test/helpers/redis-server.ts';
import { cpuMicros, startChildServer, type ChildServer } from './child-server.ts';
import { describe, mean, measure, median, type Load, type Measurement } from './measure.ts';
import type { Bench, Figure } from './figure.ts';

const CONCURRENT: Load = { connections: 50, durationS: 4, warmupS: 1 };
const SEQUENTIAL: Load = { connections: 1, durationS: 3, warmupS: 1 };
const ROUNDS = 3;
const BRIDGE_CALLS = { warmup: 500, timed: 5000 };
const repoFile = (path: string) => fileURLToPath(new URL(`../${path}`, import.meta.url));
const PY_APP = repoFile('bench/apps/noop_app.py');

/** Debian's python3 (with python3-flask) when it has Flask, so both Python sides run on the same interpreter. */
function pythonWithFlask(): string | undefined {
  for (const python of ['/usr/bin/python3', 'python3']) {
    if (python.startsWith('/') && !existsSync(python)) continue;
    if (spawnSync(python, ['-c', 'import flask'], { stdio: 'ignore' }).status === 0) return python;
  }
  return undefined;
}

const pythonBench: Bench = async () => {
  const python = pythonWithFlask();
  if (!python) {
    return [{ name: 'Python handler', detail: 'skipped: no python3 with Flask (apt-get install python3-flask)' }];
  }
  const redis = await startRedis();
  const servers: ChildServer[] = [];
  try {
    const probe = { path: '/echo', body: { n: 1 }, status: 200 };
    const env = (port: number) => cleanEnv({ REDIS_URL: redis.url, PORT: String(port), LOG_LEVEL: 'warn', KALIUM_PYTHON: python });
    const pyPort = await freePort();
    const kaliumPy = await startChildServer('kalium api noop_app.py', [CLI, 'api', PY_APP], env(pyPort), pyPort, probe);
    servers.push(kaliumPy);
    const tsPort = await freePort();
    const kaliumTs = await startChildServer('kalium api noop-app.ts', [CLI, 'api', repoFile('bench/apps/noop-app.ts')], env(tsPort), tsPort, probe);
    servers.push(kaliumTs);
    const flask = await startFlask(python);
    servers.push(flask);

    const sides = { python: kaliumPy, typescript: kaliumTs, flask };
    const modelPid = childOf(kaliumPy.pid);
    const concurrent = await rounds(sides, '/echo', CONCURRENT, modelPid);
    const sequential = await rounds(sides, '/gpu', SEQUENTIAL, modelPid);
    return [
      ...figures('no-op Python handler (gpu=False, 50 connections)', concurrent),
      cpuFigure('no-op Python handler (gpu=False, 50 connections)', concurrent),
      ...figures('no-op Python gpu handler (one connection, lease per request)', sequential),
      await bridgeLatency(python),
    ];
  } finally {
    for (const server of servers) await server.stop();
    await redis.stop();
  }
};
export default pythonBench;

type Side = 'python' | 'typescript' | 'flask';
type Runs = Record<Side, Measurement[]> & { modelCpuUs: number[] };

/**
 * Each round measures the three servers back to back, in a rotating order, so noise falls on all of
 * them. The model process's CPU per request is sampled around the Python side's whole run (warm-up
 * included, so it is per request of the warm-up and the timed run, counted at the timed run's rate).
 */
async function rounds(sides: Record<Side, ChildServer>, path: string, load: Load, modelPid: number | undefined): Promise<Runs> {
  const runs: Runs = { python: [], typescript: [], flask: [], modelCpuUs: [] };
  const order: Side[] = ['python', 'typescript', 'flask'];
  for (let round = 0; round < ROUNDS; round++) {
    for (let i = 0; i < order.length; i++) {
      const side = order[(i + round) % order.length]!;
      const before = modelPid === undefined ? undefined : cpuMicros(modelPid);
      const measured = await measure(sides[side], path, { n: 1 }, load);
      runs[side].push(measured);
      const after = modelPid === undefined ? undefined : cpuMicros(modelPid);
      if (side === 'python' && before !== undefined && after !== undefined) {
        runs.modelCpuUs.push((after - before) / (measured.rps * (load.durationS + load.warmupS)));
      }
    }
  }
  return runs;
}

/** CPU per request, api plus model process, against the TypeScript api's: the steadier figure on a busy machine. */
function cpuFigure(name: string, runs: Runs): Figure {
  const python = mean(runs.python).cpuUs;
  const model = runs.modelCpuUs.length ? runs.modelCpuUs.reduce((sum, v) => sum + v, 0) / runs.modelCpuUs.length : undefined;
  const typescript = mean(runs.typescript).cpuUs;
  if (python === undefined || model === undefined || typescript === undefined) return { name: `${name}: CPU per request`, detail: 'not measured (no /proc)' };
  return {
    name: `${name}: CPU per request, TypeScript ÷ (Python's api + model process)`,
    ratio: typescript / (python + model),
    detail: `TypeScript api ${typescript.toFixed(0)} µs; Python side: api ${python.toFixed(0)} µs + model process ≈${model.toFixed(0)} µs`,
  };
}

/** The model process of a kalium api: its one child (Linux /proc), for CPU sampling. */
function childOf(pid: number): number | undefined {
  try {
    const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
    return children.length === 1 ? Number(children[0]) : undefined;
  } catch {
    return undefined;
  }
}

function figures(name: string, runs: Runs): Figure[] {
  const ratio = (other: Side) => median(runs.python.map((m, round) => m.rps / runs[other][round]!.rps));
  const perRound = (side: Side) => runs[side].map((m) => Math.round(m.rps)).join('/');
  const shown = (side: Side) => `${describe(mean(runs[side]))}; rounds ${perRound(side)}`;
  return [
    {
      name: `${name}: kalium (Python) vs kalium (TypeScript) req/s`,
      ratio: ratio('typescript'),
      target: name.includes('gpu=False') ? '§16 >= 0.5' : undefined,
      detail: `Python via kalium ${shown('python')} (api CPU only); TypeScript ${shown('typescript')}`,
    },
    // A baseline that answered nothing (a Flask the potassium script cannot run on) is no baseline.
    runs.flask.some((m) => m.rps < 1)
      ? { name: `${name}: kalium (Python) vs potassium 0.0.9's serving (Flask) req/s`, detail: `not measured: the Flask baseline answered no request in a round (${perRound('flask')} req/s); Debian's python3-flask is the one it runs on` }
      : {
          name: `${name}: kalium (Python) vs potassium 0.0.9's serving (Flask) req/s`,
          ratio: ratio('flask'),
          target: name.includes('gpu=False') ? '§16 >= 3' : undefined,
          detail: `Python via kalium ${shown('python')}; Flask as potassium serves it ${shown('flask')}`,
        },
  ];
}

async function startFlask(python: string): Promise<ChildServer> {
  const port = await freePort();
  const env = { ...process.env, PYTHONPATH: repoFile('libs/python'), PYTHONDONTWRITEBYTECODE: '1' };
  const child = spawn(python, [repoFile('bench/apps/potassium_flask.py'), PY_APP, String(port)], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const server: ChildServer = {
    name: 'potassium-style Flask',
    url: `http://127.0.0.1:${port}`,
    pid: child.pid!,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
  for (const deadline = Date.now() + 30_000; Date.now() < deadline; await sleep(100)) {
    if (child.exitCode !== null) throw new Error(`Flask baseline exited: ${stderr}`);
    const answered = await fetch(`${server.url}/echo`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"n":1}' })
      .then((res) => res.status === 200)
      .catch(() => false);
    if (answered) return server;
  }
  await server.stop();
  throw new Error(`Flask baseline was not ready within 30 s: ${stderr}`);
}

/** p50/p99 of one no-op call over the pipes, sequential, for the gpu thread and for the thread pool. */
async function bridgeLatency(python: string): Promise<Figure> {
  const logger = createLogger({ level: 'warn' });
  const model = await ModelProcess.start({ python, appFile: PY_APP, logger, callbacks: async () => undefined });
  try {
    await model.init();
    const request = { id: 'bench', method: 'POST', headers: {}, query: {}, json: true };
    const body = Buffer.from('{"n":1}');
    const timed = async (path: string) => {
      for (let i = 0; i < BRIDGE_CALLS.warmup; i++) await model.call(path, request, body);
      const micros: number[] = [];
      for (let i = 0; i < BRIDGE_CALLS.timed; i++) {
        const started = process.hrtime.bigint();
        await model.call(path, request, body);
        micros.push(Number(process.hrtime.bigint() - started) / 1000);
      }
      micros.sort((a, b) => a - b);
      return { p50: micros[Math.floor(micros.length * 0.5)]!, p99: micros[Math.floor(micros.length * 0.99)]! };
    };
    const gpu = await timed('/gpu');
    const cpu = await timed('/echo');
    const show = (m: { p50: number; p99: number }) => `p50 ${m.p50.toFixed(0)} µs, p99 ${m.p99.toFixed(0)} µs`;
    return {
      name: `bridge added latency: p50 ${gpu.p50.toFixed(0)} µs, p99 ${gpu.p99.toFixed(0)} µs`,
      target: '§16 p50 <= 100 µs',
      detail: `gpu=True (the gpu thread) ${show(gpu)}; gpu=False (the thread pool) ${show(cpu)}; ${BRIDGE_CALLS.timed} sequential calls each`,
    };
  } finally {
    await model.close();
  }
}
