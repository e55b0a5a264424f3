import test from 'ava';
import { ConfigError } from '../../libs/kalium/errors/kalium-error.ts';
import { loadConfig } from '../../libs/kalium/config/config.ts';
import { parseRedisUrl } from '../../libs/kalium/redis/redis-url.ts';

test('redis:// is one server, with credentials and a database', (t) => {
  t.deepEqual(parseRedisUrl('redis://127.0.0.1:6380'), { kind: 'standalone', options: { host: '127.0.0.1', port: 6380 } });
  t.deepEqual(parseRedisUrl('redis://cache'), { kind: 'standalone', options: { host: 'cache', port: 6379 } });
  t.deepEqual(parseRedisUrl('redis://app:p%40ss%3Aword@cache:7000/2'), {
    kind: 'standalone',
    options: { host: 'cache', port: 7000, username: 'app', password: 'p@ss:word', db: 2 },
  });
  t.deepEqual(parseRedisUrl('redis://:secret@[::1]:6379'), { kind: 'standalone', options: { host: '::1', port: 6379, password: 'secret' } });
});

test('rediss:// is the same over TLS', (t) => {
  t.deepEqual(parseRedisUrl('rediss://default:pw@redis.example.com:6380'), {
    kind: 'standalone',
    options: { host: 'redis.example.com', port: 6380, username: 'default', password: 'pw', tls: {} },
  });
});

test('redis-sentinel:// names the Sentinels and the master, with separate Sentinel credentials', (t) => {
  t.deepEqual(parseRedisUrl('redis-sentinel://:masterpw@s1,s2:26380,10.0.0.3/1?name=mymaster&sentinelPassword=sentpw'), {
    kind: 'sentinel',
    options: {
      sentinels: [
        { host: 's1', port: 26379 },
        { host: 's2', port: 26380 },
        { host: '10.0.0.3', port: 26379 },
      ],
      name: 'mymaster',
      password: 'masterpw',
      sentinelPassword: 'sentpw',
      db: 1,
    },
  });
  t.deepEqual(parseRedisUrl('rediss-sentinel://s1?name=m'), {
    kind: 'sentinel',
    options: { sentinels: [{ host: 's1', port: 26379 }], name: 'm', tls: {}, sentinelTLS: {}, enableTLSForSentinelMode: true },
  });
});

test('redis-cluster:// seeds a Redis Cluster from any of its nodes', (t) => {
  t.deepEqual(parseRedisUrl('redis-cluster://n1:7000,n2:7001,n3'), {
    kind: 'cluster',
    nodes: [
      { host: 'n1', port: 7000 },
      { host: 'n2', port: 7001 },
      { host: 'n3', port: 6379 },
    ],
    options: { redisOptions: {} },
  });
  t.deepEqual(parseRedisUrl('rediss-cluster://u:p@n1:7000'), {
    kind: 'cluster',
    nodes: [{ host: 'n1', port: 7000 }],
    options: { redisOptions: { username: 'u', password: 'p', tls: {} } },
  });
});

const refused: Array<[string, RegExp]> = [
  ['http://localhost:6379', /expected a URL starting redis:\/\//],
  ['redis:/localhost', /expected a URL starting/],
  ['redis://', /at least one host/],
  ['redis://a:1,b:2', /names one host/],
  ['redis://host:99999', /host or host:port/],
  ['redis://host:port', /host or host:port/],
  ['redis://host/x', /database number/],
  ['redis://host?tls=true', /unknown parameter tls/],
  ['redis-sentinel://s1:26379', /needs \?name=/],
  ['redis-sentinel://s1?name=m&bogus=1', /unknown parameter bogus/],
  ['redis-cluster://n1:7000/1', /only database 0/],
  ['redis://u:%zz@host', /malformed %-escape/],
];
for (const [url, message] of refused) {
  test(`${url} is refused: ${message.source}`, (t) => {
    t.throws(() => parseRedisUrl(url), { instanceOf: TypeError, message });
  });
}

test('config accepts every scheme and refuses a bad REDIS_URL without echoing its password', (t) => {
  for (const url of ['redis://h', 'rediss://h', 'redis-sentinel://h?name=m', 'rediss-sentinel://h?name=m', 'redis-cluster://h:1,h:2', 'rediss-cluster://h']) {
    t.is(loadConfig({ REDIS_URL: url }).redisUrl, url);
  }
  const error = t.throws(() => loadConfig({ REDIS_URL: 'redis://user:hunter2@a:1,b:2' }), { instanceOf: ConfigError });
  t.regex(error!.message, /REDIS_URL="redis:\/\/user:\[hidden\]@a:1,b:2": a redis:\/\/ URL names one host/);
  t.false(error!.message.includes('hunter2'));
});

test('config never echoes a bad secret', (t) => {
  const error = t.throws(() => loadConfig({ WEBHOOK_SECRET: 'whsec_short' }), { instanceOf: ConfigError });
  t.regex(error!.message, /WEBHOOK_SECRET="\[hidden\]"/);
  t.false(error!.message.includes('whsec_short'));
});
