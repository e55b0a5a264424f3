"""The model process: `python3 -m kalium.model_process app.py`, started by kalium for a .py app.

It imports the app, reports its routes (the handshake), runs init once when told, then serves calls
over two pipes (fd 3 in, fd 4 out) until fd 3 closes. gpu=True calls and init run on one thread, in
order (the GPU lease already serialises them, and a CUDA context stays on the thread that made it);
gpu=False calls run concurrently on a thread pool, as in potassium. Replies carry the call's id, so
calls finish in any order.
"""
import contextlib
import importlib.util
import inspect
import json
import logging
import os
import platform
import queue
import signal
import sys
import threading
import traceback

from . import app as app_module
from . import channel as channel_module
from . import frames
from .messages import Job, NotSerializable, Request, encode_result, to_json_bytes

EXIT_PROTOCOL_ERROR = 70
EXIT_LOAD_FAILED = 71


class ForwardLogs(logging.Handler):
    """Python's `logging` records go to kalium's log as structured lines, with their level."""

    def __init__(self, channel):
        super().__init__()
        self._channel = channel

    def emit(self, record):
        try:
            self._channel.send({"t": "log", "level": record.levelno, "logger": record.name, "msg": self.format(record)})
        except Exception:
            self.handleError(record)


def load_app(path):
    directory, name = os.path.split(os.path.abspath(path))
    stem = os.path.splitext(name)[0]
    module_name = stem if stem.isidentifier() and stem not in sys.modules else "__kalium_app__"
    sys.path.insert(0, directory)  # sibling modules import as they do under `python3 app.py`
    spec = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    apps = [(key, value) for key, value in vars(module).items() if isinstance(value, app_module.Potassium)]
    if len(apps) != 1:
        found = ", ".join(key for key, _ in apps) or "none"
        raise LookupError("%s must create exactly one Potassium app at module level (found: %s)" % (path, found))
    return apps[0][1]


class ThreadPool:
    """gpu=False calls' threads: started as calls need them, up to `size`, fed from one C-level queue
    (concurrent.futures' Future and condition per call cost more than the no-op call itself)."""

    def __init__(self, size):
        self._calls = queue.SimpleQueue()
        self._size = size
        self._threads = 0
        self._idle = 0
        self._lock = threading.Lock()

    def submit(self, call):
        with self._lock:
            start = self._idle == 0 and self._threads < self._size
            if start:
                self._threads += 1
        self._calls.put(call)
        if start:
            threading.Thread(target=self._loop, name="kalium-cpu-%d" % self._threads, daemon=True).start()

    def _loop(self):
        calls = self._calls
        while True:
            with self._lock:
                self._idle += 1
            call = calls.get()
            with self._lock:
                self._idle -= 1
            call()


class Server:
    def __init__(self, app, channel):
        self.app = app
        self.channel = channel
        self.jobs = {}
        self.closing = {}
        self.gpu_calls = queue.SimpleQueue()
        self.pool = ThreadPool(32)
        threading.Thread(target=self._gpu_loop, name="kalium-gpu", daemon=True).start()

    def _gpu_loop(self):
        calls = self.gpu_calls
        while True:
            calls.get()()

    def init(self):
        def run():
            try:
                self.app._run_init()
            except BaseException as error:  # noqa: B036 - a failed init is reported whatever it raised
                self.channel.send({"t": "init_failed", **describe(error)})
                return
            self.channel.send({"t": "ready"})

        self.gpu_calls.put(run)

    def call(self, header, body):
        call_id = header["id"]
        endpoint = self.app._endpoints.get(header.get("path"))
        if endpoint is None:
            self.channel.send({"t": "error", "id": call_id, "code": "no_route", "message": "no route %s in the Python app" % header.get("path")})
            return
        meta = header.get("request") or {}
        job = None
        if header.get("job"):
            job = Job(header["job"]["id"], header["job"].get("attempt", 1), lambda percent: self._progress(call_id, percent))
            self.jobs[call_id] = job

        def run():
            try:
                parsed = json.loads(body) if meta.get("json") else None
                request = Request(
                    json=parsed, body=body, headers=meta.get("headers") or {}, query=meta.get("query") or {},
                    path=header["path"], method=meta.get("method", "POST"), id=meta.get("id", ""),
                )
                value = self.app._invoke(header["path"], request, job)
                if inspect.isgenerator(value):
                    if endpoint.kind != "background":
                        value.close()
                        raise TypeError("a handler route cannot stream (it returned a generator): make it an @app.background route")
                    value = self._stream(call_id, value)
                fields, out = encode_result(value)
                self.channel.send(dict(fields, t="result", id=call_id), out)
            except NotSerializable as error:
                self.channel.send({"t": "error", "id": call_id, "code": "not_serializable", "type": error.type_name, "message": str(error)})
            except BaseException as error:  # noqa: B036 - even SystemExit in a handler is its failure
                self.channel.send(dict(describe(error), t="error", id=call_id, code="handler_error"))
            finally:
                self.jobs.pop(call_id, None)
                self.closing.pop(call_id, None)

        (self.gpu_calls.put if endpoint.gpu else self.pool.submit)(run)

    def _stream(self, call_id, generator):
        """Sends each value the generator yields as a chunk, as it comes (SPEC §14), and returns what it
        returns. kalium's `close` (a cancel, the output cap) closes it at its next yield."""
        closing = self.closing.setdefault(call_id, threading.Event())
        self.channel.send({"t": "stream", "id": call_id})
        with contextlib.closing(generator):
            while not closing.is_set():
                try:
                    chunk = next(generator)
                except StopIteration as stop:
                    return stop.value
                try:
                    body = to_json_bytes(chunk)
                except NotSerializable as error:
                    raise NotSerializable(error.type_name, "yielded")
                self.channel.send({"t": "chunk", "id": call_id}, body)
        return None

    def close(self, header):
        closing = self.closing.get(header.get("id"))
        if closing is not None:  # else the generator ended first: nothing left to close
            closing.set()

    def abort(self, header):
        job = self.jobs.get(header.get("id"))
        if job is not None:
            job._abort()

    def _progress(self, call_id, percent):
        self.channel.request("progress", call=call_id, value=percent)


def describe(error):
    return {
        "type": type(error).__name__,
        "message": str(error) or type(error).__name__,
        "traceback": "".join(traceback.format_exception(type(error), error, error.__traceback__)),
    }


def serve(reader, channel, server):
    handlers = {
        "init": lambda h, b: server.init(),
        "call": server.call,
        "abort": lambda h, b: server.abort(h),
        "close": lambda h, b: server.close(h),
        "reply": lambda h, b: channel.answered(h),
    }
    while True:
        frame = frames.read_frame(reader)
        if frame is None:
            return
        header, body = frame
        handle = handlers.get(header["t"])
        if handle is None:
            raise frames.ProtocolError("unknown message type %r" % header["t"])
        handle(header, body)


def main(argv):
    if len(argv) != 2:
        sys.stderr.write("usage: python3 -m kalium.model_process app.py (kalium starts this itself)\n")
        return 2
    # Ctrl-C in a terminal reaches the whole process group; kalium decides when this process stops
    # (it closes fd 3), so a SIGINT must not kill a running handler.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for stream in (sys.stdout, sys.stderr):
        stream.reconfigure(line_buffering=True)
    reader = os.fdopen(3, "rb", buffering=1 << 16)
    channel = channel_module.Channel(os.fdopen(4, "wb", buffering=1 << 16))
    channel_module.install(channel)
    root = logging.getLogger()
    root.addHandler(ForwardLogs(channel))
    root.setLevel(logging.INFO)
    app_module._IN_MODEL_PROCESS = True
    try:
        app = load_app(argv[1])
    except BaseException as error:  # noqa: B036 - an import that fails in any way fails the start
        channel.send(dict(describe(error), t="load_failed"))
        return EXIT_LOAD_FAILED
    channel.send({"t": "hello", "v": frames.PROTOCOL_VERSION, "app": app.name, "routes": app._describe(),
                  "python": platform.python_version(), "pid": os.getpid()})
    channel.serving = True
    try:
        serve(reader, channel, Server(app, channel))
    except frames.ProtocolError as error:
        sys.stderr.write("kalium model process: protocol error: %s\n" % error)
        return EXIT_PROTOCOL_ERROR
    finally:
        channel.close()
    return 0


def run(app_file):
    """kalium's entry point: `python3 -c "...; run(app_file)"`, with this package put on sys.path first."""
    code = main([sys.argv[0], app_file])
    sys.stdout.flush()
    sys.stderr.flush()
    # os._exit: handler threads may still be running, and the pipes are closed; nothing is left to wait for.
    os._exit(code)
