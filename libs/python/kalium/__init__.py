"""kalium's Python side: potassium 0.0.9's API, served by kalium (Koa, BullMQ, the GPU lease) from
TypeScript. Run an app with `npx kalium dev app.py`, or `python3 app.py` with `app.serve()`."""
from .app import Potassium
from .channel import CallbackError
from .hooks import send_webhook
from .messages import Job, Request, Response
from .store import RedisConfig, Store

Kalium = Potassium

__all__ = ["Potassium", "Kalium", "Request", "Response", "Job", "send_webhook", "Store", "RedisConfig", "CallbackError"]
