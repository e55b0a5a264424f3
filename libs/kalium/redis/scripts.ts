import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { RedisClient } from './connection.ts';

/**
 * Every Lua script kalium runs, in redis/scripts/, each opening with its KEYS, ARGV and result. One
 * loader defines them all on a connection (ioredis then calls each by EVALSHA, sending the text only
 * when Redis answers NOSCRIPT), and gives the lock keeper's thread their text and SHA.
 */
const SCRIPTS = {
  kaliumCacheRead: { file: 'cache-read.lua', keys: 2 },
  kaliumCacheTake: { file: 'cache-take.lua', keys: 2 },
  kaliumCacheFill: { file: 'cache-fill.lua', keys: 3 },
  kaliumTokenRenew: { file: 'token-renew.lua', keys: 1 },
  kaliumTokenRelease: { file: 'token-release.lua', keys: 2 },
  kaliumJobCancel: { file: 'job-cancel.lua', keys: 4 },
  kaliumJobFinish: { file: 'job-finish.lua', keys: 2 },
  kaliumRerunCheck: { file: 'job-rerun-check.lua', keys: 3 },
  kaliumPeekNextJobs: { file: 'batch-peek.lua', keys: 2 },
  kaliumJobLockExtend: { file: 'job-lock-extend.lua', keys: 2 },
  kaliumOutputAppend: { file: 'output-append.lua', keys: 1 },
} as const;

export type ScriptName = keyof typeof SCRIPTS;

/** A script's text and SHA1 (what EVALSHA names it by). */
export interface LoadedScript {
  readonly text: string;
  readonly sha: string;
  readonly keys: number;
}

const loaded = Object.fromEntries(
  Object.entries(SCRIPTS).map(([name, { file, keys }]) => {
    const text = readFileSync(new URL(`./scripts/${file}`, import.meta.url), 'utf8');
    return [name, { text, sha: createHash('sha1').update(text).digest('hex'), keys }];
  }),
) as Record<ScriptName, LoadedScript>;

/** A script's text and SHA, for a connection that is not an ioredis client of this thread. */
export function script(name: ScriptName): LoadedScript {
  return loaded[name];
}

type Reply<T> = Promise<T>;

/** A connection with kalium's scripts defined on it: one typed method per script (see each script's header). */
export type ScriptedRedis = RedisClient & {
  kaliumCacheReadBuffer(valueKey: string, lockKey: string): Reply<[Buffer | null, number, number]>;
  kaliumCacheTakeBuffer(valueKey: string, lockKey: string, token: string, lockTtlMs: number): Reply<[Buffer | null, number, number]>;
  kaliumCacheFill(valueKey: string, lockKey: string, channel: string, value: Buffer, ttlMs: number, token: string): Reply<number>;
  kaliumTokenRenew(key: string, token: string, ttlMs: number): Reply<number>;
  kaliumTokenRelease(key: string, channel: string, token: string, message: string): Reply<number>;
  kaliumJobCancel(resultKey: string, markerKey: string, jobKey: string, canceledKey: string, ...args: string[]): Reply<number>;
  kaliumJobFinish(markerKey: string, resultKey: string, result: string, ttl: string, channel: string, notice: string): Reply<number>;
  kaliumRerunCheck(markerKey: string, resultKey: string, jobKey: string, maxLosses: string): Reply<[number, number, number, string | null]>;
  kaliumPeekNextJobs(waitKey: string, prioritizedKey: string, jobKeyPrefix: string, count: number): Reply<string[]>;
  kaliumOutputAppend(outputKey: string, index: string, chunk: string, ttl: string, channel: string, notice: string, attempt: string): Reply<number>;
};

/** Defines every script on the connection, once. */
export function withScripts(redis: RedisClient): ScriptedRedis {
  if (!('kaliumTokenRenew' in redis)) {
    for (const [name, { text, keys }] of Object.entries(loaded)) redis.defineCommand(name, { numberOfKeys: keys, lua: text });
  }
  return redis as ScriptedRedis;
}

/**
 * Loads scripts into Redis whenever the connection (re)opens, ahead of any use. For a script whose
 * command must keep its place among others on the connection: were it missing (a Redis restart),
 * ioredis would send it again after the commands that followed it, out of order.
 */
export function preloadScripts(redis: RedisClient, names: readonly ScriptName[]): void {
  const load = () => {
    for (const name of names) void redis.script('LOAD', loaded[name].text).catch(() => undefined);
  };
  redis.on('ready', load);
  if (redis.status === 'ready') load();
}
