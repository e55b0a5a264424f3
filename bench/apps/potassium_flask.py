"""The python bench's baseline: a Potassium app served the way potassium 0.0.9 serves it — Flask
(Debian's python3-flask), one catch-all POST route, werkzeug's make_server (one request at a time),
a lock around gpu=True handlers and 423 at once when it is held. Written for this bench from
potassium's documented behaviour; it imports the app with kalium's Python package, which reads
the same decorators.

    python3 bench/apps/potassium_flask.py bench/apps/noop_app.py 8000
"""
import importlib.util
import sys
import threading

from flask import Flask, abort, make_response, request
from werkzeug.serving import make_server


def load(path):
    spec = importlib.util.spec_from_file_location("bench_app", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    from kalium import Potassium

    return next(value for value in vars(module).values() if isinstance(value, Potassium))


def serve(app, port):
    from kalium import Request

    gpu_lock = threading.Lock()
    flask_app = Flask("potassium-baseline")

    def answer(endpoint, req):
        out = app._invoke(endpoint.path, req, None)
        res = make_response(out.json)
        res.status_code = out.status
        res.headers["X-Endpoint-Type"] = endpoint.kind
        return res

    @flask_app.route("/", defaults={"path": ""}, methods=["POST"])
    @flask_app.route("/<path:path>", methods=["POST"])
    def handle(path):
        endpoint = app._endpoints.get("/" + path)
        if endpoint is None or endpoint.kind != "handler":
            abort(404)
        req = Request(json=request.get_json())
        if not endpoint.gpu:
            return answer(endpoint, req)
        if gpu_lock.locked():
            res = make_response()
            res.status_code = 423
            return res
        with gpu_lock:
            return answer(endpoint, req)

    app._run_init()
    make_server("127.0.0.1", port, flask_app).serve_forever()


if __name__ == "__main__":
    serve(load(sys.argv[1]), int(sys.argv[2]))
