"""potassium's send_webhook, made durable: the delivery goes through kalium's signed, retried queue."""
from . import channel as _channel
from .messages import to_json_bytes


def send_webhook(url, json):
    """Queues a POST of `json` to `url`, signed when WEBHOOK_SECRET is set and retried with backoff.

    Returns the delivery's id once the delivery is stored in Redis (the POST itself happens on
    kalium's webhook worker). Raises CallbackError for a refused target (e.g. a private address
    without WEBHOOK_ALLOW_PRIVATE=true) or when Redis is down.
    """
    if not isinstance(url, str):
        raise TypeError("send_webhook url must be a str, got %s" % type(url).__name__)
    to_json_bytes(json)  # a value that cannot be sent fails here, naming its type
    channel = _channel.current()
    if channel is None:
        raise RuntimeError(
            "send_webhook needs kalium: run the app with `npx kalium dev app.py` (or app.serve())"
        )
    return channel.request("webhook", url=url, json=json)
