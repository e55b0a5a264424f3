"""The model process against a stand-in for kalium's TypeScript side, written here in Python:
the handshake, init, out-of-order concurrent calls, a callback round trip, large binary bodies."""
import json
import os
import subprocess
import sys
import threading
import unittest

from kalium import frames

HERE = os.path.dirname(os.path.abspath(__file__))
PACKAGE = os.path.abspath(os.path.join(HERE, "..", "..", "..", "libs", "python"))
FIXTURES = os.path.abspath(os.path.join(HERE, "..", "..", "fixtures", "python"))
BOOTSTRAP = "import sys; sys.path.insert(0, sys.argv[1]); from kalium.model_process import run; run(sys.argv[2])"


class ModelProcessTest(unittest.TestCase):
    APP = os.path.join(FIXTURES, "potassium_app.py")

    def setUp(self):
        to_child_r, self.to_child = os.pipe()
        self.from_child, from_child_w = os.pipe()

        def fds():
            # Through fresh numbers first: either pipe end may itself be fd 3 or 4.
            read_end, write_end = os.dup(to_child_r), os.dup(from_child_w)
            os.dup2(read_end, 3)
            os.dup2(write_end, 4)

        self.child = subprocess.Popen(
            [sys.executable, "-c", BOOTSTRAP, PACKAGE, self.APP], preexec_fn=fds, pass_fds=(3, 4),  # kept open past preexec_fn, which fills them
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        os.close(to_child_r)
        os.close(from_child_w)
        self.writer = os.fdopen(self.to_child, "wb")
        self.reader = os.fdopen(self.from_child, "rb")

    def tearDown(self):
        self.writer.close()
        self.assertEqual(self.child.wait(10), 0, "it exits cleanly when its input closes")
        self.reader.close()

    def send(self, header, body=b""):
        self.writer.write(frames.encode(header, body))
        self.writer.flush()

    def next_frame(self):
        # Log lines come in as they happen; the tests read past them.
        while True:
            header, body = frames.read_frame(self.reader)
            if header["t"] != "log":
                return header, body

    def call(self, call_id, path, value):
        self.send({"t": "call", "id": call_id, "path": path, "request": {"json": True, "headers": {}, "query": {}}, "job": None},
                  json.dumps(value).encode())

    def test_handshake_init_and_calls_answered_in_the_order_they_finish(self):
        hello, _ = self.next_frame()
        self.assertEqual((hello["t"], hello["v"], hello["app"]), ("hello", frames.PROTOCOL_VERSION, "potassium_test app"))
        self.send({"t": "init"})
        self.assertEqual(self.next_frame()[0]["t"], "ready")
        for call_id, ms in ((1, 300), (2, 150), (3, 0)):
            self.call(call_id, "/cpu", {"ms": ms})
        order = [self.next_frame()[0]["id"] for _ in range(3)]
        self.assertEqual(order, [3, 2, 1])

    def test_a_store_callback_blocks_the_handler_until_the_answer_comes(self):
        self.next_frame()
        self.send({"t": "init"})
        self.next_frame()
        self.call(7, "/result", {"key": "k"})
        rpc, _ = self.next_frame()
        self.assertEqual((rpc["t"], rpc["op"], rpc["backend"], rpc["method"], rpc["key"]), ("rpc", "store", "redis", "get", "k"))
        self.send({"t": "reply", "rid": rpc["rid"], "ok": True, "value": {"stored": True}})
        result, body = self.next_frame()
        self.assertEqual((result["t"], result["id"], json.loads(body)), ("result", 7, {"value": {"stored": True}}))

    def test_large_binary_bodies_come_back_unchanged(self):
        self.next_frame()
        self.send({"t": "init"})
        self.next_frame()
        body = os.urandom(5 * 1024 * 1024)
        received = {}

        def read():
            received["frame"] = self.next_frame()

        reader = threading.Thread(target=read)
        reader.start()  # reading while writing: neither pipe may fill up and stall the other
        self.send({"t": "call", "id": 1, "path": "/echo", "request": {"json": False}, "job": None}, body)
        reader.join(20)
        self.assertEqual(received["frame"][0]["kind"], "bytes")
        self.assertEqual(received["frame"][1], body)

    def test_an_unknown_message_type_ends_it_with_the_protocol_error_code(self):
        self.next_frame()
        self.send({"t": "no-such-message"})
        self.assertEqual(self.child.wait(10), 70)
        self.child = _Exited()


class StreamingTest(ModelProcessTest):
    APP = os.path.join(FIXTURES, "streaming_app.py")

    def started(self):
        self.next_frame()
        self.send({"t": "init"})
        self.assertEqual(self.next_frame()[0]["t"], "ready")

    def test_a_generator_sends_stream_then_one_chunk_per_yield_then_its_return_value(self):
        self.started()
        self.send({"t": "call", "id": 4, "path": "/summary", "request": {"json": True}, "job": {"id": "j", "attempt": 2}}, b"{}")
        frames_seen = [self.next_frame() for _ in range(4)]
        self.assertEqual([(h["t"], h["id"]) for h, _ in frames_seen], [("stream", 4), ("chunk", 4), ("chunk", 4), ("result", 4)])
        self.assertEqual([json.loads(body) for _, body in frames_seen[1:]], ["a", "b", {"joined": "ab", "attempt": 2}])

    def test_close_ends_an_endless_generator_at_its_next_yield(self):
        self.started()
        self.send({"t": "call", "id": 5, "path": "/endless", "request": {"json": True}, "job": {"id": "j"}}, b"{}")
        self.assertEqual(self.next_frame()[0]["t"], "stream")
        self.assertEqual(self.next_frame()[0]["t"], "chunk")
        self.send({"t": "close", "id": 5})
        while True:
            header, _ = self.next_frame()
            if header["t"] != "chunk":
                break
        self.assertEqual((header["t"], header["kind"]), ("result", "none"))

    # The base class's tests are for its own app.
    test_handshake_init_and_calls_answered_in_the_order_they_finish = None
    test_a_store_callback_blocks_the_handler_until_the_answer_comes = None
    test_large_binary_bodies_come_back_unchanged = None


class _Exited:
    def wait(self, timeout):
        return 0


if __name__ == "__main__":
    unittest.main()
