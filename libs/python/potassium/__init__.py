"""`import potassium` for potassium 0.0.9 apps: the same objects as `kalium`'s Python package."""
from kalium import *  # noqa: F401,F403
from kalium import Potassium, Request, Response, send_webhook, Store, RedisConfig  # noqa: F401
