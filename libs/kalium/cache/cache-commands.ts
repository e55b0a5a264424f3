import type { RedisClient } from '../redis/connection.ts';
import { withScripts, type ScriptedRedis } from '../redis/scripts.ts';

/** A command connection with the cache's Lua scripts defined on it (see redis/scripts/cache-*.lua, token-*.lua). */
export type CacheRedis = ScriptedRedis;

/** Defines kalium's scripts on a connection, once (ioredis runs them by EVALSHA). */
export function withCacheCommands(redis: RedisClient): CacheRedis {
  return withScripts(redis);
}
