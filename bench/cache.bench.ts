// The response cache's hit path vs the gpu=false path vs bare Koa + @koa/router + @koa/bodyparser,
// all answering the same JSON to the same POST, same load generator, same run (SPEC §11 wants the hit
// path ≥ 0.8× bare Koa).
//
// Each server runs in its own child process (`kalium api <app>` through the CLI; the baseline through
// the same tsx loader) while autocannon drives it from this process. The sides are measured in turns,
// their order rotating each round, so a slow patch of a shared machine does not fall on one side only.
// While the hit path is measured another process holds the GPU lease: a request that missed would
// answer 423 and void the run, so every measured request was a hit.
import autocannon from 'autocannon';
import { fileURLToPath } from 'node:url';
import { appKeys } from '../libs/kalium/redis/keys.ts';
import { CLI, cleanEnv } from '../test/helpers/kalium-process.ts';
import { freePort } from '../test/helpers/free-port.ts';
import { startRedis } from '../test/helpers/redis-server.ts';
import { startChildServer, type ChildServer } from './child-server.ts';
import type { Bench, Figure } from './figure.ts';

const LOAD = { connections: 50, durationS: 5, warmupS: 1, rounds: 2 };
const BODY = { n: 1 };

type Side = 'hit' | 'free' | 'koa';

interface Measurement {
  rps: number;
  p50: number;
  p99: number;
}

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
    const urls: Record<Side, string> = { hit: `${kalium.url}/cached`, free: `${kalium.url}/echo`, koa: `${koa.url}/echo` };
    const runs: Record<Side, Measurement[]> = { hit: [], free: [], koa: [] };
    const sides: Side[] = ['hit', 'free', 'koa'];
    for (let round = 0; round < LOAD.rounds; round++) {
      for (const side of [...sides.slice(round % 3), ...sides.slice(0, round % 3)]) {
        if (side === 'hit') await admin.set(lease, 'held by the bench', 'PX', 60_000);
        runs[side].push(await measure(urls[side]));
        if (side === 'hit') await admin.del(lease);
      }
    }
    const hit = mean(runs.hit);
    const free = mean(runs.free);
    const bare = mean(runs.koa);
    const show = (m: Measurement) => `${Math.round(m.rps)} req/s (p50 ${m.p50} ms, p99 ${m.p99} ms)`;
    const perRound = (side: Side) => runs[side].map((m) => Math.round(m.rps)).join('/');
    const load = `${LOAD.connections} connections, ${LOAD.rounds}×${LOAD.durationS} s each after ${LOAD.warmupS} s warm-up`;
    return [
      {
        name: 'cache hit (POST /cached, gpu route, lease held elsewhere) vs bare Koa',
        ratio: hit.rps / bare.rps,
        target: '>= 0.8',
        detail: `hit ${show(hit)} vs Koa ${show(bare)}; gpu=false ${show(free)} (${(free.rps / bare.rps).toFixed(2)}x Koa); ${load}; per round hit ${perRound('hit')}, gpu=false ${perRound('free')}, Koa ${perRound('koa')}`,
      },
      {
        name: 'cache hit vs gpu=false route (same JSON, same process)',
        ratio: hit.rps / free.rps,
        detail: `hit ${show(hit)} vs gpu=false ${show(free)}`,
      },
    ] satisfies Figure[];
  } finally {
    for (const server of servers) await server.stop();
    await redis.stop();
  }
};
export default cacheBench;

function repoFile(path: string): string {
  return fileURLToPath(new URL(`../${path}`, import.meta.url));
}

/** One autocannon run after a warm-up; every answer must be a 2xx or the figure means nothing. */
async function measure(url: string): Promise<Measurement> {
  const options = {
    url,
    method: 'POST' as const,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(BODY),
    connections: LOAD.connections,
  };
  await autocannon({ ...options, duration: LOAD.warmupS });
  const result = await autocannon({ ...options, duration: LOAD.durationS });
  if (result.non2xx > 0 || result.errors > 0 || result.timeouts > 0) {
    throw new Error(`${url}: ${result.non2xx} non-2xx, ${result.errors} errors, ${result.timeouts} timeouts`);
  }
  return { rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99 };
}

function mean(runs: Measurement[]): Measurement {
  const avg = (pick: (m: Measurement) => number) => runs.reduce((sum, m) => sum + pick(m), 0) / runs.length;
  return { rps: avg((m) => m.rps), p50: avg((m) => m.p50), p99: avg((m) => m.p99) };
}
