// Streaming a job's output (SPEC §14): a generator yielding 1,000 small chunks against the same chunks
// returned at once as the job's result. Measured at a client (KaliumClient, in this process) over real
// HTTP, against a real api and worker (child processes) on a redis-server of its own: from the submit to
// the last chunk (client.stream) vs from the submit to the result (client.wait), the time to the first
// chunk, and what each chunk costs: the extra wall time and the worker's and api's extra CPU, per chunk.
import { fileURLToPath } from 'node:url';
import { KaliumClient } from '../libs/client/index.ts';
import { startKalium } from '../test/helpers/kalium-process.ts';
import { startRedis } from '../test/helpers/redis-server.ts';
import { waitReady } from '../test/helpers/wait-ready.ts';
import { cpuMicros } from './child-server.ts';
import type { Bench, Figure } from './figure.ts';

const APP = fileURLToPath(new URL('./support/stream-bench-app.ts', import.meta.url));
const CHUNKS = 1000;
const ROUNDS = 7;
const QUIET = { timeoutMs: 60_000, discardLogsAfterReady: true };

interface Round {
  ms: number;
  firstMs: number;
  workerUs: number;
  apiUs: number;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

const bench: Bench = async () => {
  const redis = await startRedis();
  const env = { REDIS_URL: redis.url, LOG_LEVEL: 'info' };
  const [api, worker] = await Promise.all([startKalium('api', APP, env, QUIET), startKalium('worker', APP, env, QUIET)]);
  try {
    await waitReady(api.url, 60_000);
    const client = new KaliumClient({ baseUrl: api.url });
    const measured = async (run: () => Promise<number>): Promise<Round> => {
      const [worker0, api0] = [cpuMicros(worker.child.pid!) ?? NaN, cpuMicros(api.child.pid!) ?? NaN];
      const started = performance.now();
      const firstAt = await run();
      const ms = performance.now() - started;
      return { ms, firstMs: firstAt - started, workerUs: (cpuMicros(worker.child.pid!) ?? NaN) - worker0, apiUs: (cpuMicros(api.child.pid!) ?? NaN) - api0 };
    };
    const streamed = () =>
      measured(async () => {
        const { id } = await client.submit('/stream');
        let first = NaN;
        let count = 0;
        for await (const _ of client.stream(id)) if (count++ === 0) first = performance.now();
        if (count !== CHUNKS) throw new Error(`streamed ${count} chunks, not ${CHUNKS}`);
        return first;
      });
    const once = () =>
      measured(async () => {
        const { id } = await client.submit('/once');
        const job = await client.wait<unknown[]>(id);
        if (job.result?.length !== CHUNKS) throw new Error('the result is not the 1,000 chunks');
        return performance.now();
      });
    await streamed(); // warm-up: connections, scripts, JIT
    await once();
    const runs: { streamed: Round[]; once: Round[] } = { streamed: [], once: [] };
    for (let i = 0; i < ROUNDS; i++) {
      runs.streamed.push(await streamed());
      runs.once.push(await once());
    }
    const m = (list: Round[], key: keyof Round) => median(list.map((round) => round[key]));
    const extraMs = m(runs.streamed, 'ms') - m(runs.once, 'ms');
    const figures: Figure[] = [
      {
        name: 'streaming: 1,000 chunks, time to the last chunk at a client vs the same chunks returned at once',
        ratio: m(runs.once, 'ms') / m(runs.streamed, 'ms'),
        detail:
          `streamed: last chunk ${m(runs.streamed, 'ms').toFixed(1)} ms, first chunk ${m(runs.streamed, 'firstMs').toFixed(1)} ms after the submit; ` +
          `at once: result ${m(runs.once, 'ms').toFixed(1)} ms (medians of ${ROUNDS} interleaved rounds; rounds streamed ${runs.streamed.map((r) => r.ms.toFixed(0)).join(', ')} ms)`,
      },
      {
        name: 'streaming: cost per chunk',
        detail:
          `${((extraMs * 1000) / CHUNKS).toFixed(1)} µs of wall time per chunk at the client; ` +
          `worker CPU ${(m(runs.streamed, 'workerUs') / CHUNKS).toFixed(1)} vs ${(m(runs.once, 'workerUs') / CHUNKS).toFixed(1)} µs per chunk, ` +
          `api CPU ${(m(runs.streamed, 'apiUs') / CHUNKS).toFixed(1)} vs ${(m(runs.once, 'apiUs') / CHUNKS).toFixed(1)} µs per chunk (streamed vs at once)`,
      },
    ];
    return figures;
  } finally {
    await Promise.all([api.kill('SIGKILL'), worker.kill('SIGKILL')]);
    await redis.stop();
  }
};

export default bench;
