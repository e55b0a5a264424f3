// K workers on K devices (SPEC §16): a model route costing 21 ms (20 ms + 1 ms for its item), a full
// queue drained by K kalium workers each holding its own device's GPU lease (KALIUM_DEVICE), for K = 1,
// 2, 4, 8, against K × what one worker drains. Real processes: one api, K workers, a redis-server.
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { startKalium, type KaliumProcess } from '../test/helpers/kalium-process.ts';
import { startRedis } from '../test/helpers/redis-server.ts';
import { waitReady } from '../test/helpers/wait-ready.ts';
import type { Bench, Figure } from './figure.ts';
import { median } from './measure.ts';
import { drain } from './support/timed-round.ts';

const APP = fileURLToPath(new URL('./support/jobs-bench-app.ts', import.meta.url));
const PREFIX = '{kalium:jobsbench}';
const QUIET = { timeoutMs: 90_000, discardLogsAfterReady: true };
const COUNTS = [1, 2, 4, 8];
/** Jobs per worker a round: at 21 ms a job, about 2 s of work for each. */
const JOBS_PER_WORKER = 100;
const ROUNDS = 3;

async function submit(apiUrl: string, count: number): Promise<void> {
  const result = await autocannon({ url: `${apiUrl}/model`, method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}', connections: 16, amount: count });
  if (result['2xx'] !== count) throw new Error(`${count - result['2xx']} submits were not accepted`);
}

const bench: Bench = async () => {
  const redis = await startRedis();
  const env = { REDIS_URL: redis.url, LOG_LEVEL: 'info', RESULT_TTL: '3600', QUEUE_MAX: '1000000' };
  const processes: KaliumProcess[] = [];
  try {
    const api = await startKalium('api', APP, env, QUIET);
    processes.push(api);
    await waitReady(api.url);
    const client = redis.client();
    const workers: KaliumProcess[] = [];
    const rates = new Map<number, number[]>();
    for (const k of COUNTS) {
      while (workers.length < k) {
        const worker = await startKalium('worker', APP, { ...env, KALIUM_DEVICE: `gpu${workers.length}` }, QUIET);
        processes.push(worker);
        workers.push(worker);
      }
      const pids = workers.map((worker) => worker.child.pid!);
      const count = JOBS_PER_WORKER * k;
      await drain(client, `${PREFIX}:jobs`, count, pids, () => submit(api.url, count)); // warm-up
      const measured: number[] = [];
      for (let round = 0; round < ROUNDS; round++) measured.push((await drain(client, `${PREFIX}:jobs`, count, pids, () => submit(api.url, count))).jobsPerSecond);
      rates.set(k, measured);
    }
    const one = median(rates.get(1)!);
    return COUNTS.slice(1).map(
      (k): Figure => ({
        name: `${k} workers on ${k} devices, 21 ms model: jobs/s ÷ (${k} × one worker's)`,
        ratio: median(rates.get(k)!) / (k * one),
        target: '>= 0.95',
        detail: `median of ${ROUNDS} full-queue drains: ${rates.get(k)!.map((r) => r.toFixed(0)).join(', ')} jobs/s; one worker ${rates.get(1)!.map((r) => r.toFixed(0)).join(', ')} jobs/s (ideal ${(1000 / 21).toFixed(1)})`,
      }),
    );
  } finally {
    await Promise.all(processes.map((p) => p.kill('SIGKILL')));
    await redis.stop();
  }
};

export default bench;
