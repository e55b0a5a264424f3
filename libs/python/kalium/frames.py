"""The model process's wire format: one frame is an 8-byte prefix (the header's length and the body's
length, unsigned 32-bit big-endian), a UTF-8 JSON header, then the body's raw bytes.

Bodies travel as bytes, never inside the JSON, so binary and large payloads cost one copy, not a
base64 round trip.
"""
import json
import struct

PROTOCOL_VERSION = 1
PREFIX = struct.Struct(">II")
MAX_HEADER = 16 * 1024 * 1024
MAX_BODY = 1024 * 1024 * 1024


class ProtocolError(Exception):
    """The other side sent something that is not a frame of this protocol."""


def encode(header, body=b""):
    data = json.dumps(header, separators=(",", ":")).encode("utf-8")
    if len(data) > MAX_HEADER:
        raise ProtocolError("frame header of %d bytes is over the limit of %d" % (len(data), MAX_HEADER))
    if len(body) > MAX_BODY:
        raise ProtocolError("frame body of %d bytes is over the limit of %d" % (len(body), MAX_BODY))
    return PREFIX.pack(len(data), len(body)) + data + bytes(body)


def _read_exactly(stream, size):
    data = stream.read(size) if size else b""
    if data is None or len(data) < size:
        return None
    return data


def read_frame(stream):
    """Reads one frame from a binary stream: (header, body), or None at a clean end of stream."""
    prefix = stream.read(PREFIX.size)
    if not prefix:
        return None
    if len(prefix) < PREFIX.size:
        raise ProtocolError("stream ended inside a frame prefix")
    header_size, body_size = PREFIX.unpack(prefix)
    if header_size == 0 or header_size > MAX_HEADER:
        raise ProtocolError("frame header length %d is out of range" % header_size)
    if body_size > MAX_BODY:
        raise ProtocolError("frame body length %d is out of range" % body_size)
    raw = _read_exactly(stream, header_size)
    body = _read_exactly(stream, body_size)
    if raw is None or body is None:
        raise ProtocolError("stream ended inside a frame")
    try:
        header = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as error:
        raise ProtocolError("frame header is not JSON: %s" % error)
    if not isinstance(header, dict) or not isinstance(header.get("t"), str):
        raise ProtocolError("frame header has no message type")
    return header, body
