import test from 'ava';
import { startRedis, type RedisServer } from './redis-server.ts';

/**
 * The usual set-up of a test file: a redis-server of its own, started before the file's tests and
 * stopped after them. Call it at the top of the file; what it returns reads the started server.
 * (Files that start more in their own hooks stop those first, so they keep their own fixture.)
 */
export function redisForFile(): RedisServer {
  let server: RedisServer | undefined;
  test.before(async () => {
    server = await startRedis();
  });
  test.after.always(async () => {
    await server?.stop();
  });
  const started = (): RedisServer => {
    if (!server) throw new Error('the file’s redis-server starts in test.before; use it from tests and later hooks');
    return server;
  };
  return {
    get port() {
      return started().port;
    },
    get url() {
      return started().url;
    },
    get dir() {
      return started().dir;
    },
    client: () => started().client(),
    kill: () => started().kill(),
    freeze: () => started().freeze(),
    thaw: () => started().thaw(),
    restart: () => started().restart(),
    stop: () => started().stop(),
  };
}
