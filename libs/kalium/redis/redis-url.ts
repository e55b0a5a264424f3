import type { ClusterNode, ClusterOptions, RedisOptions, SentinelAddress } from 'ioredis';

/**
 * Where a `REDIS_URL` points, as ioredis options:
 * - `redis://[[user]:password@]host[:port][/db]` — one server; `rediss://` the same over TLS.
 * - `redis-sentinel://[[user]:password@]host[:port][,host[:port]…][/db]?name=<master>[&sentinelPassword=…]`
 *   — the master a set of Sentinels names (port 26379 by default); `rediss-sentinel://` uses TLS to
 *   the master and to the Sentinels. The credentials are the master's.
 * - `redis-cluster://[[user]:password@]host[:port][,host[:port]…]` — a Redis Cluster, from any of
 *   its nodes; `rediss-cluster://` over TLS. A cluster has no databases, so no `/db`.
 */
export type RedisTarget =
  | { kind: 'standalone'; options: RedisOptions }
  | { kind: 'sentinel'; options: RedisOptions }
  | { kind: 'cluster'; nodes: ClusterNode[]; options: ClusterOptions };

export const REDIS_URL_SCHEMES = ['redis', 'rediss', 'redis-sentinel', 'rediss-sentinel', 'redis-cluster', 'rediss-cluster'] as const;

const SHAPE = /^([a-z-]+):\/\/(?:([^@/?#]*)@)?([^/?#]*)(?:\/([^?#]*))?(?:\?([^#]*))?$/;

/**
 * Parses a Redis URL of any scheme kalium accepts.
 * @throws TypeError saying what was expected, without echoing the password.
 */
export function parseRedisUrl(url: string): RedisTarget {
  const match = SHAPE.exec(url);
  const scheme = match?.[1] ?? '';
  if (!match || !(REDIS_URL_SCHEMES as readonly string[]).includes(scheme)) {
    throw new TypeError(`expected a URL starting ${REDIS_URL_SCHEMES.map((s) => `${s}://`).join(', ')}`);
  }
  const [, , userinfo, hostList = '', path = '', query = ''] = match;
  const tls = scheme.startsWith('rediss') ? { tls: {} } : {};
  const auth = credentials(userinfo);
  const params = new URLSearchParams(query);
  const kind = scheme.endsWith('-sentinel') ? 'sentinel' : scheme.endsWith('-cluster') ? 'cluster' : 'standalone';
  const allowed = kind === 'sentinel' ? ['name', 'sentinelPassword', 'sentinelUsername'] : [];
  for (const key of params.keys()) {
    if (!allowed.includes(key)) {
      throw new TypeError(`unknown parameter ${key} in a ${scheme}:// URL${allowed.length ? ` (known: ${allowed.join(', ')})` : ' (it takes none)'}`);
    }
  }
  const hosts = parseHosts(hostList, kind === 'sentinel' ? 26379 : 6379);
  if (kind === 'standalone' && hosts.length !== 1) throw new TypeError(`a ${scheme}:// URL names one host; use redis-cluster:// or redis-sentinel:// for several`);
  const db = parseDb(path, kind);

  if (kind === 'cluster') {
    return { kind, nodes: hosts, options: { redisOptions: { ...auth, ...tls } } };
  }
  if (kind === 'sentinel') {
    const name = params.get('name');
    if (!name) throw new TypeError(`a ${scheme}:// URL needs ?name=<master name>`);
    const sentinelAuth = {
      ...(params.has('sentinelUsername') ? { sentinelUsername: params.get('sentinelUsername')! } : {}),
      ...(params.has('sentinelPassword') ? { sentinelPassword: params.get('sentinelPassword')! } : {}),
    };
    const sentinelTls = scheme.startsWith('rediss') ? { sentinelTLS: {}, enableTLSForSentinelMode: true } : {};
    return { kind, options: { sentinels: hosts as SentinelAddress[], name, ...auth, ...sentinelAuth, ...db, ...tls, ...sentinelTls } };
  }
  const { host, port } = hosts[0]!;
  return { kind, options: { host, port, ...auth, ...db, ...tls } };
}

function credentials(userinfo: string | undefined): { username?: string; password?: string } {
  if (!userinfo) return {};
  const colon = userinfo.indexOf(':');
  const username = decode(colon === -1 ? userinfo : userinfo.slice(0, colon));
  const password = colon === -1 ? undefined : decode(userinfo.slice(colon + 1));
  if (password === undefined) return username ? { username } : {};
  return username ? { username, password } : { password };
}

function parseHosts(list: string, defaultPort: number): Array<{ host: string; port: number }> {
  if (list === '') throw new TypeError('expected at least one host');
  return list.split(',').map((entry) => {
    const match = /^(\[[0-9a-fA-F:.]+\]|[^:[\]]+)(?::(\d{1,5}))?$/.exec(entry.trim());
    const port = match?.[2] === undefined ? defaultPort : Number(match[2]);
    if (!match || port < 1 || port > 65535) throw new TypeError(`expected host or host:port, got ${JSON.stringify(entry)}`);
    return { host: match[1]!.replace(/^\[|\]$/g, ''), port };
  });
}

function parseDb(path: string, kind: RedisTarget['kind']): { db?: number } {
  if (path === '') return {};
  if (kind === 'cluster') throw new TypeError('a Redis Cluster has only database 0: drop the /db from the URL');
  if (!/^\d{1,2}$/.test(path)) throw new TypeError(`expected a database number after the host, got ${JSON.stringify(path)}`);
  return { db: Number(path) };
}

function decode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    throw new TypeError('the URL\'s user or password has a malformed %-escape');
  }
}

/** A Redis URL as logs and messages may show it: the password replaced by `[hidden]`. */
export function redactRedisUrl(url: string): string {
  return url.replace(/\/\/([^@/]*:)[^@/]*@/, '//$1[hidden]@');
}
