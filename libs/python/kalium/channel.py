"""The model process's side of the pipes: frames out under one lock, and calls back to kalium's
TypeScript side (Store, send_webhook, job progress) that block their thread until the answer comes.
"""
import itertools
import threading

from . import frames

_current = None


class CallbackError(Exception):
    """kalium's TypeScript side refused a Store, webhook or progress call; `code` says why."""

    def __init__(self, message, code=None):
        super().__init__(message)
        self.code = code


class Channel:
    def __init__(self, writer):
        self._writer = writer
        self._write_lock = threading.Lock()
        self._queue_lock = threading.Lock()
        self._queued = []
        self._ids = itertools.count(1)
        self._pending = {}
        self._pending_lock = threading.Lock()
        self.closed = False
        # Answers are read by the serving loop, which starts once the app is imported: a callback made
        # at import time would wait for ever.
        self.serving = False

    def send(self, header, body=b""):
        # Frames queue up, and whoever holds the write lock writes all of them at once: under load, one
        # write (and one wake-up of kalium's event loop) carries several answers; alone, it is just one.
        frame = frames.encode(header, body)
        with self._queue_lock:
            self._queued.append(frame)
        with self._write_lock:
            with self._queue_lock:
                batch, self._queued = self._queued, []
            if batch:
                self._writer.write(b"".join(batch) if len(batch) > 1 else batch[0])
                self._writer.flush()

    def request(self, op, **fields):
        """Asks the TypeScript side to do `op` and waits for its answer (from any thread but the reader)."""
        if self.closed:
            raise CallbackError("the model process is shutting down", "closed")
        if not self.serving:
            raise CallbackError("Store and send_webhook work from init and handlers, not while the app module is imported", "not_serving")
        rid = next(self._ids)
        waiter = [threading.Event(), None]
        with self._pending_lock:
            self._pending[rid] = waiter
        self.send(dict(fields, t="rpc", rid=rid, op=op))
        waiter[0].wait()
        answer = waiter[1]
        if not answer.get("ok"):
            raise CallbackError(answer.get("message", "%s failed" % op), answer.get("code"))
        return answer.get("value")

    def answered(self, header):
        with self._pending_lock:
            waiter = self._pending.pop(header.get("rid"), None)
        if waiter is None:
            raise frames.ProtocolError("a reply to unknown callback %r" % header.get("rid"))
        waiter[1] = header
        waiter[0].set()

    def close(self):
        """Wakes every waiting callback with an error, so no handler thread blocks forever."""
        self.closed = True
        with self._pending_lock:
            pending, self._pending = self._pending, {}
        for waiter in pending.values():
            waiter[1] = {"ok": False, "message": "the model process is shutting down", "code": "closed"}
            waiter[0].set()


def install(channel):
    global _current
    _current = channel


def current():
    """The model process's channel, or None when this code is not running under kalium."""
    return _current
