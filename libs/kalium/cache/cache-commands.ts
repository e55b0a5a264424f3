import type { Redis } from 'ioredis';
import { readLua } from '../redis/lua.ts';

const READ = readLua(import.meta.url, './read.lua');
const TAKE = readLua(import.meta.url, './take.lua');
const FILL = readLua(import.meta.url, './fill.lua');
const RELEASE = readLua(import.meta.url, './release.lua');
const RENEW = readLua(import.meta.url, './renew.lua');

/** A command connection with the cache's Lua scripts defined on it (see each script's header). */
export type CacheRedis = Redis & {
  kaliumCacheReadBuffer(valueKey: string, lockKey: string): Promise<[Buffer | null, number, number]>;
  kaliumCacheTakeBuffer(valueKey: string, lockKey: string, token: string, lockTtlMs: number): Promise<[Buffer | null, number, number]>;
  kaliumCacheFill(valueKey: string, lockKey: string, channel: string, value: Buffer, ttlMs: number, token: string): Promise<number>;
  kaliumCacheRelease(lockKey: string, channel: string, token: string, valueKey: string): Promise<number>;
  kaliumCacheRenew(lockKey: string, token: string, ttlMs: number): Promise<number>;
};

/** Defines the cache's scripts on a connection, once (ioredis runs them by EVALSHA). */
export function withCacheCommands(redis: Redis): CacheRedis {
  if (!('kaliumCacheFill' in redis)) {
    redis.defineCommand('kaliumCacheRead', { numberOfKeys: 2, lua: READ });
    redis.defineCommand('kaliumCacheTake', { numberOfKeys: 2, lua: TAKE });
    redis.defineCommand('kaliumCacheFill', { numberOfKeys: 3, lua: FILL });
    redis.defineCommand('kaliumCacheRelease', { numberOfKeys: 2, lua: RELEASE });
    redis.defineCommand('kaliumCacheRenew', { numberOfKeys: 1, lua: RENEW });
  }
  return redis as CacheRedis;
}
