// @ts-check
// The lock keeper's thread (see lock-keeper.ts). Plain JavaScript: a worker thread does not inherit the
// TypeScript loader the CLI registers. The main thread publishes what to keep alive (job locks, GPU
// leases) into shared memory, guarded by a sequence number; this thread reads it on a timer of its own
// event loop and runs, for each entry that is due, the Lua script that extends a key only for the token
// holding it. No message per job: the main thread only writes memory.
import { parentPort, workerData } from 'node:worker_threads';
import { Cluster, Redis } from 'ioredis';

if (!parentPort) throw new Error('lock-keeper-thread.mjs runs as a worker thread');
const port = parentPort;
/** @type {{ target: import('../redis/redis-url.ts').RedisTarget, scripts: Record<string, { text: string, sha: string }>, header: Int32Array, data: Uint8Array, tickMs: number }} */
const { target, scripts, header, data, tickMs } = workerData;
/** @param {number} times */
const backoff = (times) => Math.min(50 * 2 ** Math.min(times, 5), 1000);
// The same target as the process's other connections (see redis/connection.ts), renewing forever.
const redis =
  target.kind === 'cluster'
    ? new Cluster(target.nodes, {
        ...target.options,
        clusterRetryStrategy: backoff,
        redisOptions: { ...target.options.redisOptions, maxRetriesPerRequest: null },
      })
    : new Redis({
        ...target.options,
        ...(target.kind === 'sentinel' ? { sentinelRetryStrategy: backoff } : {}),
        maxRetriesPerRequest: null,
        retryStrategy: backoff,
      });
redis.on('error', () => {});

/** @typedef {{ id: number, script: string, keys: string[], args: string[], everyMs: number, since: number, untilMs?: number }} Entry */
/** @type {Entry[]} */
let entries = [];
let version = -1;
/** @type {Map<number, number>} when each entry was last renewed (or started) */
const renewedAt = new Map();
/** @type {Set<number>} entries given up on (lost, or past their deadline) */
const dropped = new Set();
const decoder = new TextDecoder();

/** Reads the entries the main thread published, if they changed (seqlock: retry on a torn read). */
function read() {
  for (;;) {
    const before = Atomics.load(header, 0);
    if (before === version) return;
    if (before % 2 === 1) continue; // the main thread is mid-write (a few microseconds)
    const text = decoder.decode(data.slice(0, Atomics.load(header, 1)));
    if (Atomics.load(header, 0) !== before) continue;
    version = before;
    entries = text ? JSON.parse(text) : [];
    const live = new Set(entries.map((entry) => entry.id));
    for (const id of renewedAt.keys()) if (!live.has(id)) renewedAt.delete(id);
    for (const id of dropped) if (!live.has(id)) dropped.delete(id);
    return;
  }
}

/** @param {Entry} entry */
function renew(entry) {
  const script = scripts[entry.script];
  if (!script) return;
  const args = [entry.keys.length, ...entry.keys, ...entry.args];
  // By SHA: the text (a few hundred bytes) goes over the wire only when Redis does not have it yet.
  redis
    .evalsha(script.sha, ...args)
    .catch((/** @type {Error} */ error) => (String(error.message).startsWith('NOSCRIPT') ? redis.eval(script.text, ...args) : Promise.reject(error)))
    .then(
    (result) => {
      if (result === 1 || dropped.has(entry.id)) return;
      dropped.add(entry.id);
      port.postMessage({ op: 'lost', id: entry.id });
    },
    () => {}, // Redis down: the next tick tries again
  );
}

function tick() {
  read();
  const now = Date.now();
  for (const entry of entries) {
    if (dropped.has(entry.id)) continue;
    if (entry.untilMs !== undefined && now > entry.untilMs) {
      dropped.add(entry.id);
      port.postMessage({ op: 'expired', id: entry.id });
      continue;
    }
    const last = renewedAt.get(entry.id) ?? entry.since;
    if (now - last < entry.everyMs) continue;
    renewedAt.set(entry.id, now);
    renew(entry);
  }
}

const timer = setInterval(tick, tickMs);
port.on('message', (message) => {
  if (message.op !== 'close') return;
  clearInterval(timer);
  redis.quit().catch(() => redis.disconnect()).finally(() => port.close());
});
