"""`from potassium.store import Store, RedisConfig`, as in potassium 0.0.9."""
from kalium.store import RedisConfig, Store  # noqa: F401
