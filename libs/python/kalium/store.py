"""potassium's Store, served by kalium's Store on the TypeScript side (one Redis client per process)."""
import math
import threading
import time

from . import channel as _channel
from .messages import to_json_bytes

BACKENDS = ("local", "redis")


class RedisConfig:
    """potassium's Redis settings. kalium keeps one Redis connection per process, the one REDIS_URL
    names, so `host`, `port`, `username`, `password` and `db` are accepted for compatibility but the
    Store uses REDIS_URL's Redis, under the app's key prefix."""

    def __init__(self, host, port, username=None, password=None, db=0, encoding="json"):
        if encoding not in ("json", "pickle"):
            raise ValueError("redis config encoding must be one of the following:", ["json", "pickle"])
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.db = db
        self.encoding = encoding


class Store:
    """A key-value store for values that are JSON: `set(key, value, ttl=600)`, `get(key)`, `delete(key)`.

    `backend="redis"` is the app's Redis Store (shared by the api and the worker); `backend="local"`
    lives in this one kalium process (the api and the worker each have their own).
    """

    def __init__(self, backend="local", config=None):
        if backend not in BACKENDS:
            raise ValueError("backend must be one of the following:", list(BACKENDS))
        if backend == "redis":
            if not isinstance(config, RedisConfig):
                raise ValueError(
                    "redis backends take a config: Store(backend='redis', config=RedisConfig(host='localhost', port=6379))"
                )
            if config.encoding != "json":
                raise ValueError("kalium's Store keeps JSON values; RedisConfig(encoding='pickle') is not supported")
        self.backend = backend
        self.config = config
        self._fallback = {}
        self._fallback_lock = threading.Lock()

    def _call(self, method, **fields):
        channel = _channel.current()
        if channel is None:
            return None, False
        return channel.request("store", backend=self.backend, method=method, **fields), True

    def get(self, key):
        """The value under `key`, or None when it is missing or expired."""
        _check_key(key)
        value, served = self._call("get", key=key)
        if served:
            return value
        self._require_local()
        with self._fallback_lock:
            entry = self._fallback.get(key)
            if entry is None or entry[1] < time.time():
                self._fallback.pop(key, None)
                return None
            return entry[0]

    def set(self, key, value, ttl=600):
        """Keeps `value` (anything JSON-serialisable) under `key` for `ttl` seconds."""
        _check_key(key)
        if isinstance(ttl, bool) or not isinstance(ttl, (int, float)) or ttl <= 0:
            raise ValueError("Store ttl must be a positive number of seconds, got %r" % (ttl,))
        to_json_bytes(value)  # fails here, naming the type, rather than on the other side
        # kalium keeps whole seconds; a fraction rounds up, so a value never expires early.
        _, served = self._call("set", key=key, value=value, ttl=int(math.ceil(ttl)))
        if not served:
            self._require_local()
            with self._fallback_lock:
                self._fallback[key] = (value, time.time() + ttl)

    def delete(self, key):
        _check_key(key)
        _, served = self._call("delete", key=key)
        if not served:
            self._require_local()
            with self._fallback_lock:
                self._fallback.pop(key, None)

    def _require_local(self):
        # Outside kalium (a unit test importing the app, say) a local Store still works in memory;
        # a Redis one has no Redis to talk to.
        if self.backend == "redis":
            raise RuntimeError("Store(backend='redis') needs kalium: run the app with `npx kalium dev app.py`")


def _check_key(key):
    if not isinstance(key, str) or not key:
        raise TypeError("Store keys are non-empty str, got %r" % (key,))
