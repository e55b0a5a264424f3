// `npm run chaos [-- --seed N --jobs N --concurrency N]`: kalium's own fault-injection suite (see the
// README's "What kalium promises under faults"). Real processes: redis-server (AOF always), 2 apis,
// 2 workers. Background jobs under load with careful idempotent retries, while apis, workers and Redis
// are killed and paused and malformed requests arrive; then one job's worker killed 2 and 3 times in a
// row. Prints `accepted, lost, duplicated, re-runs, 5xx, hung`; exits 1 when any but re-runs is above 0.
import { parseArgs } from 'node:util';
import { startCluster, type Cluster } from './cluster.ts';
import { faultSchedule, injectFaults, type FaultLog } from './faults.ts';
import { call, pickApi, submitAndAwait } from './load.ts';
import { MALFORMED_CLASSES, sendMalformed } from './malformed.ts';
import { seededRandom, Tally } from './tally.ts';

const { values } = parseArgs({
  options: {
    seed: { type: 'string', default: '1' },
    jobs: { type: 'string', default: '2000' },
    concurrency: { type: 'string', default: '32' },
    'fault-window': { type: 'string', default: '40000' },
    malformed: { type: 'string', default: '360' },
  },
});
const seed = Number(values.seed);
const jobs = Number(values.jobs);
const concurrency = Number(values.concurrency);
const windowMs = Number(values['fault-window']);
const random = seededRandom(seed);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const tally = new Tally();
const faults: FaultLog[] = [];
/** ms from a kill of the worker running the job to the job's next run starting, per scenario. */
const rerunCosts: Record<string, number[]> = {};
/** Webhook deliveries that reached the redirecting target, and requests that followed its redirect. */
const redirects = { reached: 0, followed: 0 };

async function main(): Promise<void> {
  const began = Date.now();
  const deadline = began + 8 * 60_000;
  console.log(`chaos: seed ${seed}, ${jobs} jobs at concurrency ${concurrency}, faults over ${windowMs / 1000} s, ${values.malformed} malformed requests (${MALFORMED_CLASSES} classes)`);
  const cluster = await startCluster();
  try {
    // Each stream of decisions gets its own generator, so one's timing does not shift another's draws.
    const schedule = faultSchedule(seededRandom(seed * 7919 + 1), windowMs);
    const load = runLoad(cluster, seededRandom(seed * 7919 + 2), deadline);
    const malformed = sendMalformed(tally, cluster.apis, seededRandom(seed * 7919 + 3), Number(values.malformed), 4, windowMs);
    await injectFaults(cluster, schedule, faults);
    console.log(`chaos: ${faults.length} faults injected in ${((Date.now() - began) / 1000).toFixed(1)} s; consecutive kills next`);
    await consecutiveKills(cluster, 2, deadline);
    await consecutiveKills(cluster, 3, deadline);
    await Promise.all([load, malformed]);
    console.log(`chaos: load done in ${((Date.now() - began) / 1000).toFixed(1)} s; verifying`);
    await verify(cluster);
    // The webhook deliveries of the last jobs may still be under way (2 attempts, 100 ms apart).
    await sleep(2000);
    redirects.reached = cluster.webhookTarget.redirected;
    redirects.followed = cluster.webhookTarget.followed;
  } finally {
    const errorLines = [...cluster.apis, ...cluster.workers].flatMap((slot) => slot.errorLogLines());
    await cluster.close();
    report(errorLines, Date.now() - began);
  }
}

/** `jobs` jobs, `concurrency` at a time, each with its own Idempotency-Key and a 5–40 ms handler. */
async function runLoad(cluster: Cluster, random: () => number, deadline: number): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < jobs) {
        const i = next++;
        // One job in 50 asks for a webhook to a target that redirects: delivered, never followed.
        const headers = i % 50 === 0 ? { 'x-webhook-url': cluster.webhookTarget.url } : undefined;
        await submitAndAwait(tally, cluster.apis, random, { key: `chaos-s${seed}-${i}`, body: { i, ms: 5 + Math.floor(random() * 35) }, headers }, deadline);
      }
    }),
  );
}

/**
 * One 4 s job whose worker is killed `kills` times in a row, each time just after its handler starts
 * (the handler records its worker's pid). The job must still succeed.
 */
async function consecutiveKills(cluster: Cluster, kills: number, deadline: number): Promise<void> {
  const name = `${kills} consecutive kills`;
  const costs: number[] = (rerunCosts[name] = []);
  let id: string | undefined;
  const random = seededRandom(seed * 31 + kills);
  const done = submitAndAwait(tally, cluster.apis, random, { key: `chaos-s${seed}-consecutive-${kills}`, body: { i: -kills, ms: 4000 } }, deadline, (got) => (id ??= got));
  const redis = cluster.redis.client();
  let killedAt: number | undefined;
  for (let run = 1; run <= kills + 1; run++) {
    let pid: number | undefined;
    const until = Date.now() + 60_000;
    while (Date.now() < until && pid === undefined) {
      if (id !== undefined) {
        const runs = Number(await redis.get(`chaos:runs:${id}`).catch(() => 0));
        if (runs >= run) pid = Number(await redis.get(`chaos:running:${id}`).catch(() => 0));
      }
      if (pid === undefined) await sleep(25);
    }
    if (killedAt !== undefined && pid !== undefined) costs.push(Date.now() - killedAt);
    if (run > kills) break;
    const slot = cluster.workers.find((worker) => worker.pid === pid);
    if (!slot) {
      console.log(`chaos: ${name}: run ${run} of job ${id} ${pid === undefined ? 'never started within 60 s' : `ran on pid ${pid}, no live worker`}`);
      break;
    }
    await sleep(300); // inside its handler's 4 s
    killedAt = Date.now();
    faults.push({ at: killedAt, kind: 'kill-worker', target: `${name}: worker ${slot.index} running job ${id} (run ${run})` });
    void slot.stop('SIGKILL').then(async () => {
      await sleep(500);
      await slot.start();
    });
  }
  await done;
  redis.disconnect();
}

/** Reads every accepted job once more and checks what its handler recorded in Redis. */
async function verify(cluster: Cluster): Promise<void> {
  const redis = cluster.redis.client();
  const random = seededRandom(seed);
  for (const [id, seen] of tally.accepted) {
    let final: any;
    for (let attempt = 0; attempt < 50 && final === undefined; attempt++) {
      const outcome = await call(tally, await pickApi(cluster.apis, random), 'GET', `/jobs/${id}`, { boundMs: 10_000 });
      if (outcome.kind === 'answer' && (outcome.status === 200 || outcome.status === 404)) final = outcome.status === 200 ? outcome.body : { status: 'not found' };
      else await sleep(100);
    }
    const [runs, nonces] = await Promise.all([redis.get(`chaos:runs:${id}`), redis.lrange(`chaos:nonces:${id}`, 0, -1)]);
    tally.reRuns += Math.max(0, Number(runs ?? 0) - 1);
    if (seen.status === 'succeeded' && final?.status !== 'succeeded') tally.lost.push(`${seen.key} (${id}): seen succeeded, later ${final?.status}`);
    if (final?.status !== 'succeeded') continue;
    if (seen.result !== undefined && JSON.stringify(final.result) !== seen.result) {
      tally.duplicated.push(`${seen.key} (${id}): its stored result changed from ${seen.result} to ${JSON.stringify(final.result)}`);
    }
    if (!nonces.includes(String(final.result?.nonce))) tally.duplicated.push(`${seen.key} (${id}): the stored result is no recorded run's`);
  }
  for (const key of tally.keys.keys()) {
    const made = await redis.smembers(`chaos:key:${key}`);
    if (made.length > 1) tally.duplicated.push(`${key}: the handler ran for ${made.length} jobs (${made.join(', ')})`);
  }
  redis.disconnect();
}

function report(errorLines: string[], ms: number): void {
  const kinds = new Map<string, number>();
  for (const fault of faults) kinds.set(fault.kind, (kinds.get(fault.kind) ?? 0) + 1);
  const list = (title: string, items: string[]) => {
    if (items.length === 0) return;
    console.log(`  ${title} (${items.length}):`);
    for (const item of items.slice(0, 15)) console.log(`    ${item}`);
  };
  console.log(`chaos: seed ${seed} finished in ${(ms / 1000).toFixed(1)} s`);
  console.log(`  faults: ${[...kinds].map(([kind, n]) => `${kind} ×${n}`).join(', ')}`);
  console.log(`  malformed requests sent: ${tally.malformedSent}; client retries: ${tally.retries}; 503 backend_unavailable/queue_full: ${tally.answered503}; requests cut by a kill: ${tally.droppedByKill}`);
  console.log(`  statuses: ${[...tally.statuses].sort(([a], [b]) => a - b).map(([status, n]) => `${status}×${n}`).join(' ')}`);
  for (const [name, costs] of Object.entries(rerunCosts)) console.log(`  ${name}: the job ran again ${costs.map((c) => `${(c / 1000).toFixed(1)} s`).join(', ')} after each kill`);
  console.log(`  webhook deliveries answered with a redirect: ${redirects.reached}; redirects followed: ${redirects.followed}`);
  console.log(`  error-level log lines: ${errorLines.length}; answers of 400 and up not in kalium’s error shape: ${tally.offShape.length}`);
  list('error-level log lines (reported, not gated)', errorLines);
  list('answers not in kalium’s error shape', tally.offShape);
  list('lost', tally.lost);
  list('duplicated', tally.duplicated);
  list('5xx', tally.fiveXX);
  list('hung', tally.hung);
  console.log(tally.summary());
}

main().then(
  () => process.exit(tally.failed || redirects.followed > 0 ? 1 : 0),
  (error: unknown) => {
    console.error('chaos: the suite itself failed:', error);
    process.exit(2);
  },
);
