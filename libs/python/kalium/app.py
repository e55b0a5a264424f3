"""potassium's app object: @app.init, @app.handler, @app.background and app.serve().

Nothing here serves HTTP: kalium's model process reads the routes off this object, runs init once
and calls the handlers; Koa, the queue and the GPU lease are kalium's TypeScript side.
"""
import inspect

from . import serve as _serve

_IN_MODEL_PROCESS = False


class Endpoint:
    def __init__(self, kind, path, func, gpu, options):
        self.kind = kind
        self.path = path
        self.func = func
        self.gpu = gpu
        self.options = options
        self.takes_job = kind == "background" and _takes_third_argument(func)

    def describe(self):
        return {"path": self.path, "kind": self.kind, "gpu": self.gpu, "options": self.options}


class Potassium:
    """A model app: one init, handler routes (the caller waits) and background routes (jobs)."""

    def __init__(self, name):
        if not isinstance(name, str) or not name:
            raise ValueError("Potassium(name) takes a non-empty str, got %r" % (name,))
        self.name = name
        self._init_func = None
        self._endpoints = {}
        self._context = {}

    def init(self, func):
        """Registers the function that loads the model; it runs once per process, its return is the context."""
        if not callable(func):
            raise TypeError("@app.init decorates a function")
        if self._init_func is not None:
            raise ValueError("there may only be one @app.init function (app %s)" % self.name)
        self._init_func = func
        return func

    def handler(self, route="/", gpu=True, timeout_ms=None, max_wait_ms=None, cache=None):
        """A POST route the caller waits on. gpu=True handlers run one at a time, under kalium's GPU lease
        (423 while it is held elsewhere), with the context; gpu=False ones concurrently, with context None.
        `cache=dict(ttl=60)` caches answers by body (kalium's response cache)."""
        options = _options(timeoutMs=timeout_ms, maxWaitMs=max_wait_ms, cache=_camel(cache))
        return self._register("handler", route, gpu, options)

    def background(self, route="/", gpu=True, timeout_ms=None, attempts=None, backoff=None, max_output_bytes=None):
        """A POST route whose requests become durable jobs, answered 202 with a job id at once. The
        function's return value, if any, is the job's result; a third `job` argument gives
        `job.progress(n)` and `job.aborted`. A generator streams: each value it yields is an output
        chunk of the job (up to `max_output_bytes` of JSON), its return value (or the chunks) the result."""
        options = _options(timeoutMs=timeout_ms, attempts=attempts, backoff=_camel(backoff), maxOutputBytes=max_output_bytes)
        return self._register("background", route, gpu, options)

    def _register(self, kind, route, gpu, options):
        if not isinstance(route, str) or not route.startswith("/"):
            raise ValueError("a route is a str starting with '/', got %r" % (route,))
        if not isinstance(gpu, bool):
            raise TypeError("gpu must be True or False, got %r" % (gpu,))

        def decorator(func):
            if route in self._endpoints:
                raise ValueError("route %s is already registered (as a %s) in app %s" % (route, self._endpoints[route].kind, self.name))
            self._endpoints[route] = Endpoint(kind, route, func, gpu, options)
            return func

        return decorator

    def serve(self, host="0.0.0.0", port=8000):
        """Runs this file with `kalium dev` (api + worker + a local Redis when none is configured).
        Does nothing when the file is loaded by kalium itself."""
        if _IN_MODEL_PROCESS:
            return
        _serve.run_kalium_dev(host, port)

    def _describe(self):
        return [endpoint.describe() for endpoint in self._endpoints.values()]

    def _run_init(self):
        self._context = self._init_func() if self._init_func is not None else {}

    def _invoke(self, path, request, job):
        endpoint = self._endpoints[path]
        context = self._context if endpoint.gpu else None
        if endpoint.takes_job:
            return endpoint.func(context, request, job)
        return endpoint.func(context, request)


def _takes_third_argument(func):
    try:
        parameters = inspect.signature(func).parameters.values()
    except (TypeError, ValueError):
        return False
    positional = 0
    for parameter in parameters:
        if parameter.kind == parameter.VAR_POSITIONAL:
            return True
        if parameter.kind in (parameter.POSITIONAL_ONLY, parameter.POSITIONAL_OR_KEYWORD):
            positional += 1
    return positional >= 3


def _options(**options):
    return {name: value for name, value in options.items() if value is not None}


def _camel(options):
    """Python's snake_case option names (lock_timeout_ms) as kalium's (lockTimeoutMs)."""
    if options is None:
        return None
    if not isinstance(options, dict):
        raise TypeError("expected a dict of options, got %r" % (options,))
    out = {}
    for name, value in options.items():
        head, *rest = name.split("_")
        out[head + "".join(part.title() for part in rest)] = value
    return out
