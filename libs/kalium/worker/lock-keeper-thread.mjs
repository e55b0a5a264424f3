// @ts-check
// The lock keeper's thread (see lock-keeper.ts). Plain JavaScript: a worker thread does not inherit the
// TypeScript loader the CLI registers. It renews, on timers of its own event loop, whatever the main
// thread asks it to keep: a job lock or a GPU lease, each a Lua script that extends a key only for the
// token that holds it.
import { parentPort, workerData } from 'node:worker_threads';
import { Redis } from 'ioredis';

if (!parentPort) throw new Error('lock-keeper-thread.mjs runs as a worker thread');
const port = parentPort;
const redis = new Redis(workerData.redisUrl, {
  maxRetriesPerRequest: null,
  retryStrategy: (times) => Math.min(50 * 2 ** Math.min(times, 5), 1000),
});
redis.on('error', () => {});

/** @type {Map<number, NodeJS.Timeout>} */
const timers = new Map();

/** @param {number} id */
function stop(id) {
  clearInterval(timers.get(id));
  timers.delete(id);
}

/**
 * @param {{ id: number, lua: string, keys: string[], args: string[], everyMs: number, untilMs?: number }} spec
 */
function keep(spec) {
  const renew = () => {
    if (spec.untilMs !== undefined && Date.now() > spec.untilMs) {
      stop(spec.id);
      port.postMessage({ op: 'expired', id: spec.id });
      return;
    }
    redis.eval(spec.lua, spec.keys.length, ...spec.keys, ...spec.args).then(
      (result) => {
        if (result === 1 || !timers.has(spec.id)) return;
        stop(spec.id);
        port.postMessage({ op: 'lost', id: spec.id });
      },
      () => {}, // Redis down: the next tick tries again
    );
  };
  timers.set(spec.id, setInterval(renew, spec.everyMs));
}

port.on('message', (message) => {
  if (message.op === 'keep') keep(message);
  else if (message.op === 'release') stop(message.id);
  else if (message.op === 'close') {
    for (const id of [...timers.keys()]) stop(id);
    redis.quit().catch(() => redis.disconnect()).finally(() => port.close());
  }
});
