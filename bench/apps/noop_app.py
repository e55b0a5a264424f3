# The Python side of the python bench (SPEC §16): potassium's shape with a no-op model, so what is
# measured is the serving, not the model. Served by kalium (kalium api noop_app.py) and, for the
# baseline, the way potassium 0.0.9 serves it (bench/apps/potassium_flask.py).
from potassium import Potassium, Request, Response

app = Potassium("bench-python")


@app.init
def init():
    return {"model": lambda value: value}


# max_wait_ms: a request autocannon gives up on at the end of a run still holds the lease a moment;
# the next run's first request waits for it rather than counting as a 423.
@app.handler("/gpu", gpu=True, max_wait_ms=1000)
def gpu(context: dict, request: Request) -> Response:
    return Response(json={"ok": True, "n": context["model"](request.json.get("n"))}, status=200)


@app.handler("/echo", gpu=False)
def echo(context, request: Request) -> Response:
    return Response(json={"ok": True, "n": request.json.get("n")}, status=200)
