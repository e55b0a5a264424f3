import io
import os
import struct
import unittest

from kalium import frames


class FramesTest(unittest.TestCase):
    def test_a_frame_round_trips_with_a_binary_body(self):
        body = os.urandom(3 * 1024 * 1024 + 7)
        stream = io.BytesIO(frames.encode({"t": "call", "id": 1}, body) + frames.encode({"t": "abort", "id": 1}))
        self.assertEqual(frames.read_frame(stream), ({"t": "call", "id": 1}, body))
        self.assertEqual(frames.read_frame(stream), ({"t": "abort", "id": 1}, b""))
        self.assertIsNone(frames.read_frame(stream), "a clean end of stream is None")

    def test_a_stream_cut_inside_a_frame_is_a_protocol_error(self):
        data = frames.encode({"t": "call"}, b"12345")
        for cut in (3, 10, len(data) - 1):
            with self.assertRaises(frames.ProtocolError):
                frames.read_frame(io.BytesIO(data[:cut]))

    def test_bad_lengths_and_headers_are_protocol_errors(self):
        cases = [
            struct.pack(">II", 0, 0),
            struct.pack(">II", frames.MAX_HEADER + 1, 0),
            struct.pack(">II", 5, frames.MAX_BODY + 1) + b"{}",
            struct.pack(">II", 4, 0) + b"nope",
            struct.pack(">II", 2, 0) + b"[]",
            struct.pack(">II", 9, 0) + b'{"t": 1}',
        ]
        for data in cases:
            with self.assertRaises(frames.ProtocolError, msg=repr(data[:12])):
                frames.read_frame(io.BytesIO(data))


if __name__ == "__main__":
    unittest.main()
