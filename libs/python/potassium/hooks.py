"""`from potassium.hooks import send_webhook`, as in potassium 0.0.9."""
from kalium.hooks import send_webhook  # noqa: F401
