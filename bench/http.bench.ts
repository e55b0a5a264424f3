// SPEC §16's first figure: requests per second of a gpu=false JSON route on kalium vs bare Koa +
// @koa/router + @koa/bodyparser answering the same JSON, same load generator, same run; beside it the
// same route with a zod input schema vs bare Koa running the same zod check by hand.
//
// Every server runs in its own child process, started as users start it (`kalium api <app>`, through
// the CLI; the baseline through the same tsx loader), so each gets a core of its own while autocannon,
// in this process, drives it. The two sides are measured in turns (kalium, Koa, Koa, kalium, …) so a
// slow patch of a shared machine does not fall on one side only; the figure is the median of the
// rounds' ratios. Each server's CPU time per request is printed too: it is the steadier number when
// other work shares the machine.
import { fileURLToPath } from 'node:url';
import { appKeys } from '../libs/kalium/redis/keys.ts';
import { CLI, cleanEnv } from '../test/helpers/kalium-process.ts';
import { freePort } from '../test/helpers/free-port.ts';
import { startRedis } from '../test/helpers/redis-server.ts';
import { startChildServer, type ChildServer } from './child-server.ts';
import { mean, measure, median, type Measurement } from './measure.ts';
import type { Bench, Figure } from './figure.ts';

const LOAD = { connections: 50, durationS: 4, warmupS: 1, rounds: 4 };
const JOB_ID = 'bench-job';
const STORED = { results: [{ sentiment: 0.4455, label: 'positive', entities: [] }] };


const httpBench: Bench = async () => {
  const redis = await startRedis();
  const servers: ChildServer[] = [];
  try {
    await redis.client().set(appKeys('example').store(JOB_ID), JSON.stringify(STORED), 'EX', 3600);
    const kaliumEcho = await kaliumApi(repoFile('bench/apps/echo-app.ts'), redis.url, { path: '/echo', body: { n: 1 }, status: 200 });
    servers.push(kaliumEcho);
    const kaliumExample = await kaliumApi(repoFile('apps/example/app.ts'), redis.url, { path: '/result', body: { id: JOB_ID }, status: 200 });
    servers.push(kaliumExample);
    const koa = await bareKoa(redis.url);
    servers.push(koa);

    return [
      ...(await compare('gpu=false JSON route (POST /echo) vs bare Koa', kaliumEcho, koa, '/echo', { n: 1 })),
      ...(await compare('schema-validated route (POST /echo-checked, zod input) vs bare Koa running the same zod check', kaliumEcho, koa, '/echo-checked', { n: 1 })),
      ...(await compare('example POST /result (gpu=false, one Redis GET) vs bare Koa doing the same GET', kaliumExample, koa, '/result', { id: JOB_ID })),
    ];
  } finally {
    for (const server of servers) await server.stop();
    await redis.stop();
  }
};
export default httpBench;

async function kaliumApi(app: string, redisUrl: string, probe: { path: string; body: unknown; status: number }): Promise<ChildServer> {
  const port = await freePort();
  const env = cleanEnv({ REDIS_URL: redisUrl, PORT: String(port), LOG_LEVEL: 'warn' });
  return startChildServer(`kalium api ${app}`, [CLI, 'api', app], env, port, probe);
}

async function bareKoa(redisUrl: string): Promise<ChildServer> {
  const port = await freePort();
  const file = repoFile('bench/apps/bare-koa.ts');
  const env = { ...process.env, PORT: String(port), REDIS_URL: redisUrl, STORE_KEY_PREFIX: appKeys('example').store('') };
  return startChildServer('bare Koa', ['--import', 'tsx', file], env, port, { path: '/echo', body: { n: 1 }, status: 200 });
}

function repoFile(path: string): string {
  return fileURLToPath(new URL(`../${path}`, import.meta.url));
}

async function compare(name: string, kalium: ChildServer, koa: ChildServer, path: string, body: unknown): Promise<Figure[]> {
  const runs: Record<'kalium' | 'koa', Measurement[]> = { kalium: [], koa: [] };
  for (let round = 0; round < LOAD.rounds; round++) {
    const order = round % 2 === 0 ? (['kalium', 'koa'] as const) : (['koa', 'kalium'] as const);
    for (const side of order) runs[side].push(await measure(side === 'kalium' ? kalium : koa, path, body, LOAD));
  }
  // Each round's pair ran back to back on the same machine state; the median pair ignores a noisy round.
  const ratio = median(runs.kalium.map((k, round) => k.rps / runs.koa[round]!.rps));
  const k = mean(runs.kalium);
  const b = mean(runs.koa);
  const show = (m: Measurement) => `${Math.round(m.rps)} req/s (p50 ${m.p50} ms, p99 ${m.p99} ms)`;
  const perRound = (side: Measurement[]) => side.map((m) => Math.round(m.rps)).join('/');
  const figures: Figure[] = [
    {
      name: `${name}: req/s`,
      ratio,
      target: path === '/echo' ? '>= 0.9' : undefined,
      detail:
        `median of ${LOAD.rounds} paired rounds; mean kalium ${show(k)} vs Koa ${show(b)}; ` +
        `per round kalium ${perRound(runs.kalium)}, Koa ${perRound(runs.koa)} req/s; ` +
        `${LOAD.connections} connections, ${LOAD.durationS} s after a ${LOAD.warmupS} s warm-up per run`,
    },
  ];
  if (k.cpuUs !== undefined && b.cpuUs !== undefined) {
    figures.push({
      name: `${name}: server CPU per request (Koa's ÷ kalium's)`,
      ratio: b.cpuUs / k.cpuUs,
      detail: `kalium ${k.cpuUs.toFixed(0)} µs, Koa ${b.cpuUs.toFixed(0)} µs of CPU per request (mean of the rounds)`,
    });
  }
  return figures;
}
