// The response cache's hit path vs the gpu=false path vs bare Koa + @koa/router + @koa/bodyparser,
// all answering the same JSON to the same POST, same load generator, same run (SPEC §11 wants the hit
// path ≥ 0.8× bare Koa).
//
// Each server runs in its own child process (`kalium api <app>` through the CLI; the baseline through
// the same tsx loader) while autocannon drives it from this process. The three sides are measured back
// to back in each round, their order rotating, and the req/s ratios are the medians of the rounds'
// ratios; each server's CPU time per request, steadier on a shared machine, is printed beside them.
// While the hit path is measured another process holds the GPU lease: a request that missed would
// answer 423 and void the run, so every measured request was a hit.
import { fileURLToPath } from 'node:url';
import { appKeys } from '../libs/kalium/redis/keys.ts';
import { CLI, cleanEnv } from '../test/helpers/kalium-process.ts';
import { freePort } from '../test/helpers/free-port.ts';
import { startRedis } from '../test/helpers/redis-server.ts';
import { startChildServer, type ChildServer } from './child-server.ts';
import type { Bench, Figure } from './figure.ts';
import { describe, mean, measure, median, type Measurement } from './measure.ts';

const LOAD = { connections: 50, durationS: 4, warmupS: 1, rounds: 3 };
const BODY = { n: 1 };

type Side = 'hit' | 'free' | 'koa';

const cacheBench: Bench = async () => {
  const redis = await startRedis();
  const servers: ChildServer[] = [];
  try {
    const kaliumPort = await freePort();
    const app = repoFile('bench/apps/cache-bench-app.ts');
    const env = cleanEnv({ REDIS_URL: redis.url, PORT: String(kaliumPort), LOG_LEVEL: 'warn' });
    // The probe runs the cached route until it answers 200 (after init), which also warms its entry.
    const kalium = await startChildServer(`kalium api ${app}`, [CLI, 'api', app], env, kaliumPort, { path: '/cached', body: BODY, status: 200 });
    servers.push(kalium);
    const koaPort = await freePort();
    const koaEnv = { ...process.env, PORT: String(koaPort), REDIS_URL: redis.url, STORE_KEY_PREFIX: appKeys('cachebench').store('') };
    const koa = await startChildServer('bare Koa', ['--import', 'tsx', repoFile('bench/apps/bare-koa.ts')], koaEnv, koaPort, { path: '/echo', body: BODY, status: 200 });
    servers.push(koa);

    const lease = appKeys('cachebench').lease('default');
    const admin = redis.client();
    const targets: Record<Side, { server: ChildServer; path: string }> = {
      hit: { server: kalium, path: '/cached' },
      free: { server: kalium, path: '/echo' },
      koa: { server: koa, path: '/echo' },
    };
    const runs: Record<Side, Measurement[]> = { hit: [], free: [], koa: [] };
    const sides: Side[] = ['hit', 'free', 'koa'];
    for (let round = 0; round < LOAD.rounds; round++) {
      for (const side of [...sides.slice(round % 3), ...sides.slice(0, round % 3)]) {
        if (side === 'hit') await admin.set(lease, 'held by the bench', 'PX', 60_000);
        runs[side].push(await measure(targets[side].server, targets[side].path, BODY, LOAD));
        if (side === 'hit') await admin.del(lease);
      }
    }
    return figures(runs);
  } finally {
    for (const server of servers) await server.stop();
    await redis.stop();
  }
};
export default cacheBench;

function figures(runs: Record<Side, Measurement[]>): Figure[] {
  const ratio = (a: Side, b: Side) => median(runs[a].map((m, round) => m.rps / runs[b][round]!.rps));
  const [hit, free, koa] = [mean(runs.hit), mean(runs.free), mean(runs.koa)];
  const perRound = (side: Side) => runs[side].map((m) => Math.round(m.rps)).join('/');
  const load = `${LOAD.connections} connections, ${LOAD.rounds} rounds of ${LOAD.durationS} s after a ${LOAD.warmupS} s warm-up per run`;
  const result: Figure[] = [
    {
      name: 'cache hit (POST /cached, gpu route, lease held elsewhere) vs bare Koa: req/s',
      ratio: ratio('hit', 'koa'),
      target: '>= 0.8',
      detail: `median of the rounds; mean hit ${describe(hit)} vs Koa ${describe(koa)}; per round hit ${perRound('hit')}, Koa ${perRound('koa')} req/s; ${load}`,
    },
    {
      name: 'cache hit vs gpu=false route (same JSON, same process): req/s',
      ratio: ratio('hit', 'free'),
      detail: `mean hit ${describe(hit)} vs gpu=false ${describe(free)} (gpu=false vs Koa: ${ratio('free', 'koa').toFixed(2)}x); per round gpu=false ${perRound('free')} req/s`,
    },
  ];
  if (hit.cpuUs !== undefined && free.cpuUs !== undefined && koa.cpuUs !== undefined) {
    result.push({
      name: "cache hit vs bare Koa: server CPU per request (Koa's ÷ the hit's)",
      ratio: koa.cpuUs / hit.cpuUs,
      detail: `hit ${hit.cpuUs.toFixed(0)} µs, gpu=false ${free.cpuUs.toFixed(0)} µs, Koa ${koa.cpuUs.toFixed(0)} µs of CPU per request (mean of the rounds)`,
    });
  }
  return result;
}

function repoFile(path: string): string {
  return fileURLToPath(new URL(`../${path}`, import.meta.url));
}
