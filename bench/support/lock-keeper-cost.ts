// What keeping a job's lock costs a job, as the lock keeper does it (a list in shared memory the thread
// reads) against what it would cost with a message to the thread at each job's start and end: CPU µs a
// job of the whole process (both threads), 100,000 jobs a round.
//
//   node --import tsx --import ./apps/cli/register-source.mjs bench/support/lock-keeper-cost.ts
import { Worker } from 'node:worker_threads';
import { LockKeeper } from '../../libs/kalium/lock/lock-keeper.ts';
import { createLogger } from '../../libs/kalium/log/logger.ts';
import { startRedis } from '../../test/helpers/redis-server.ts';
const redis = await startRedis();
const logger = createLogger({ level: 'warn' });
const keeper = new LockKeeper(redis.url, logger, 100);
keeper.start();
await new Promise((r) => setTimeout(r, 500));
const N = 100_000;
const spec = (i: number) => ({ jobId: `job-${i}`, lockKey: `{k}:jobs:job-${i}:lock`, stalledKey: '{k}:jobs:stalled', token: `w:${i}`, lockMs: 5000 });
function shared() { const t = process.cpuUsage(); for (let i = 0; i < N; i++) keeper.keepJobLock(spec(i))(); const u = process.cpuUsage(t); return (u.user + u.system) / N; }
// The alternative: a message to the thread at each start and end (what a job would cost without the shared list).
const thread = new Worker('const { parentPort } = require("node:worker_threads"); const m = new Map(); parentPort.on("message", (x) => { if (x.op === "add") m.set(x.entry.id, x.entry); else m.delete(x.id); });', { eval: true });
function messages() { const t = process.cpuUsage(); for (let i = 0; i < N; i++) { const entry = { id: i, script: 'jobLock', keys: [spec(i).lockKey, spec(i).stalledKey], args: [spec(i).token, '5000', spec(i).jobId], everyMs: 1666, since: Date.now() }; thread.postMessage({ op: 'add', entry }); thread.postMessage({ op: 'remove', id: i }); } const u = process.cpuUsage(t); return (u.user + u.system) / N; }
for (let r = 0; r < 3; r++) console.log(`shared list ${shared().toFixed(2)} µs CPU a job (both threads), messages ${messages().toFixed(2)} µs`);
await thread.terminate(); await keeper.close(); await redis.stop();
