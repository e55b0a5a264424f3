import time
import unittest

from kalium.messages import NotSerializable, Response, encode_result
from kalium.store import RedisConfig, Store
import potassium
import potassium.store
from potassium import Potassium, Request
from potassium.hooks import send_webhook


class ResultsTest(unittest.TestCase):
    def test_responses_and_plain_values_encode_as_kalium_reads_them(self):
        self.assertEqual(encode_result(Response(json={"a": 1}, status=201)), ({"status": 201, "headers": {}, "kind": "json"}, b'{"a":1}'))
        self.assertEqual(encode_result(Response(status=200)), ({"status": 200, "headers": {}, "kind": "json"}, b"{}"))
        self.assertEqual(encode_result(Response(body=b"\x00\xff", headers={"x": "y"}))[1], b"\x00\xff")
        self.assertEqual(encode_result({"k": [1]}), ({"status": 200, "headers": {}, "kind": "json"}, b'{"k":[1]}'))
        self.assertEqual(encode_result(None)[0]["kind"], "none")

    def test_values_json_cannot_carry_are_refused_naming_their_type(self):
        with self.assertRaises(NotSerializable) as caught:
            encode_result({"when": time})
        self.assertEqual(caught.exception.type_name, "module")
        with self.assertRaises(NotSerializable):
            encode_result(float("nan"))

    def test_a_bad_status_is_refused(self):
        with self.assertRaises(ValueError):
            Response(status=99)


class AppTest(unittest.TestCase):
    def test_potassium_and_kalium_are_one_package(self):
        import kalium

        self.assertIs(potassium.Potassium, kalium.Potassium)
        self.assertIs(potassium.store.Store, kalium.Store)

    def test_routes_options_and_the_job_argument_are_read_off_the_functions(self):
        app = Potassium("t")

        @app.handler("/", gpu=True)
        def handler(context, request):
            return Response(json={})

        @app.background("/bg", gpu=False, attempts=3, backoff=dict(type="fixed", delay_ms=5))
        def background(context, request, job):
            return None

        @app.handler("/cached", cache=dict(ttl=60, lock_timeout_ms=100))
        def cached(context, request):
            return {}

        self.assertEqual(app._describe(), [
            {"path": "/", "kind": "handler", "gpu": True, "options": {}},
            {"path": "/bg", "kind": "background", "gpu": False, "options": {"attempts": 3, "backoff": {"type": "fixed", "delayMs": 5}}},
            {"path": "/cached", "kind": "handler", "gpu": True, "options": {"cache": {"ttl": 60, "lockTimeoutMs": 100}}},
        ])
        self.assertTrue(app._endpoints["/bg"].takes_job)
        self.assertFalse(app._endpoints["/"].takes_job)

    def test_context_goes_to_gpu_handlers_only(self):
        app = Potassium("t")

        @app.init
        def init():
            return {"model": "m"}

        @app.handler("/gpu")
        def gpu(context, request):
            return context

        @app.handler("/cpu", gpu=False)
        def cpu(context, request):
            return context

        app._run_init()
        self.assertEqual(app._invoke("/gpu", Request(json={}), None), {"model": "m"})
        self.assertIsNone(app._invoke("/cpu", Request(json={}), None))

    def test_a_route_twice_or_a_second_init_is_an_error_naming_it(self):
        app = Potassium("t")
        app.handler("/x")(lambda c, r: None)
        with self.assertRaisesRegex(ValueError, "route /x is already registered"):
            app.background("/x")(lambda c, r: None)
        app.init(lambda: {})
        with self.assertRaisesRegex(ValueError, "only be one @app.init"):
            app.init(lambda: {})
        with self.assertRaises(ValueError):
            app.handler("no-slash")


class StoreTest(unittest.TestCase):
    def test_outside_kalium_a_local_store_works_in_memory_with_its_ttl(self):
        store = Store(backend="local")
        store.set("k", {"v": 1}, ttl=0.05)
        self.assertEqual(store.get("k"), {"v": 1})
        time.sleep(0.1)
        self.assertIsNone(store.get("k"))

    def test_a_redis_store_needs_a_config_json_values_and_kalium(self):
        with self.assertRaises(ValueError):
            Store(backend="redis")
        with self.assertRaisesRegex(ValueError, "pickle"):
            Store(backend="redis", config=RedisConfig(host="h", port=1, encoding="pickle"))
        with self.assertRaisesRegex(RuntimeError, "kalium dev"):
            Store(backend="redis", config=RedisConfig(host="h", port=1)).get("k")
        with self.assertRaises(ValueError):
            Store(backend="disk")

    def test_send_webhook_outside_kalium_says_how_to_run_it(self):
        with self.assertRaisesRegex(RuntimeError, "kalium dev"):
            send_webhook(url="http://localhost:8001", json={})


if __name__ == "__main__":
    unittest.main()
