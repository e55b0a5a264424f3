"""What a handler receives and returns: potassium's Request and Response, and a job's handle."""
import json
import threading


class Request:
    """A call's request. `json` is the parsed body (None when the body is not JSON), `body` its bytes."""

    def __init__(self, json=None, ws=None, body=b"", headers=None, query=None, path="/", method="POST", id=""):
        self.json = json
        self.ws = ws  # potassium's field; kalium has no websockets, so it stays None
        self.body = body
        self.headers = headers or {}
        self.query = query or {}
        self.path = path
        self.method = method
        self.id = id


class Response:
    """potassium's Response: `json` is sent as the JSON body; `body` (bytes or str) is sent as it is."""

    def __init__(self, status=200, json=None, body=None, headers=None):
        if not isinstance(status, int) or isinstance(status, bool) or not 200 <= status <= 599:
            raise ValueError("Response status must be an integer from 200 to 599, got %r" % (status,))
        self.status = status
        self.json = json if json is not None or body is not None else {}
        self.body = body
        self.headers = dict(headers or {})


class Job:
    """The optional third argument of a background handler: progress and the abort flag."""

    def __init__(self, id, attempt, progress):
        self.id = id
        self.attempt = attempt
        self._progress = progress
        self._aborted = threading.Event()

    def progress(self, percent):
        """Reports progress, 0-100, to pollers, event streams and webhooks; returns once it is recorded."""
        if isinstance(percent, bool) or not isinstance(percent, (int, float)):
            raise TypeError("job.progress takes a number from 0 to 100, got %r" % (percent,))
        self._progress(percent)

    @property
    def aborted(self):
        """True once the job is canceled or past its timeout: a long loop should check it and stop."""
        return self._aborted.is_set()

    def wait_aborted(self, timeout=None):
        """Blocks until the job is aborted or `timeout` seconds pass; returns whether it was aborted."""
        return self._aborted.wait(timeout)

    def _abort(self):
        self._aborted.set()


class NotSerializable(Exception):
    def __init__(self, type_name, verb="returned"):
        super().__init__("the handler %s a %s, which is not JSON-serialisable" % (verb, type_name))
        self.type_name = type_name


def _refuse(value):
    raise NotSerializable(type(value).__qualname__)


def to_json_bytes(value):
    """JSON as JavaScript reads it: no NaN or Infinity, and a refusal that names the offending type."""
    try:
        return json.dumps(value, separators=(",", ":"), default=_refuse, allow_nan=False).encode("utf-8")
    except ValueError as error:
        raise NotSerializable("float out of JSON's range (%s)" % error)


def encode_result(value):
    """A handler's return value as (header fields, body bytes)."""
    if isinstance(value, Response):
        if value.body is not None:
            body = value.body.encode("utf-8") if isinstance(value.body, str) else bytes(value.body)
            return {"status": value.status, "headers": value.headers, "kind": "bytes"}, body
        return {"status": value.status, "headers": value.headers, "kind": "json"}, to_json_bytes(value.json)
    if value is None:
        return {"status": 204, "headers": {}, "kind": "none"}, b""
    if isinstance(value, (bytes, bytearray, memoryview)):
        return {"status": 200, "headers": {}, "kind": "bytes"}, bytes(value)
    return {"status": 200, "headers": {}, "kind": "json"}, to_json_bytes(value)
