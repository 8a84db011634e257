"""A ZeroMQ REQ client, just enough to talk to ffmpeg's ``zmq`` filter (no pyzmq needed).

ffmpeg's ``zmq`` filter binds a REP socket and, for every frame it sees, takes the commands
waiting there (``TARGET COMMAND ARG``, e.g. ``lut@ffm_gain c0 clip(...)``), sends them to
the filter graph and answers each with ``RET TEXT`` (``0 Success``). This module speaks the
ZMTP 3.0 wire protocol (rfc.zeromq.org/spec/23, NULL security) as a DEALER over a Unix socket
(``ipc://PATH``) or TCP (``tcp://127.0.0.1:PORT``): the 64-byte greeting, the READY command
naming the socket type, then each request as an empty delimiter frame and one body frame
(the envelope a REP socket expects).
One connection per request, so a run that restarts its ffmpeg needs nothing reset here.
"""
from __future__ import annotations

import socket
import struct
from typing import Sequence

GREETING = (b"\xff" + b"\x00" * 8 + b"\x7f" + bytes([3, 0]) + b"NULL".ljust(20, b"\x00")
            + b"\x00" + b"\x00" * 31)
_MORE, _LONG, _COMMAND = 1, 2, 4


class ZmtpError(OSError):
    """The peer is not there, or did not speak ZMTP 3."""


class ZmtpClosed(ZmtpError):
    """The peer closed the connection before it answered (ffmpeg's zmq filter is made again
    when ffmpeg configures its graph once more, as it can at its first frame)."""


def _connect(address: str, timeout: float) -> socket.socket:
    scheme, _, rest = address.partition("://")
    if scheme == "ipc":
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        target: "str | tuple[str, int]" = rest
    elif scheme == "tcp":
        host, _, port = rest.rpartition(":")
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        target = (host, int(port))
    else:
        raise ValueError(f"not a ZeroMQ address: {address!r}")
    sock.settimeout(timeout)
    try:
        sock.connect(target)
    except OSError:
        sock.close()
        raise
    return sock


def _exactly(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise ZmtpClosed("the ZeroMQ peer closed the connection")
        data += chunk
    return data


def _frame(body: bytes, flags: int = 0) -> bytes:
    if len(body) > 255:
        return bytes([flags | _LONG]) + struct.pack(">Q", len(body)) + body
    return bytes([flags, len(body)]) + body


def _read_frame(sock: socket.socket) -> tuple[int, bytes]:
    flags = _exactly(sock, 1)[0]
    if flags & _LONG:
        size = struct.unpack(">Q", _exactly(sock, 8))[0]
    else:
        size = _exactly(sock, 1)[0]
    if size > 1 << 20:
        raise ZmtpError("a ZeroMQ frame over 1 MiB: not ffmpeg's zmq filter")
    return flags, _exactly(sock, size)


def _ready(socket_type: bytes) -> bytes:
    name = b"Socket-Type"
    return (bytes([5]) + b"READY" + bytes([len(name)]) + name
            + struct.pack(">I", len(socket_type)) + socket_type)


def request(address: str, messages: Sequence[str], timeout: float = 5.0) -> list[str]:
    """Send ``messages`` to the REP socket at ``address`` in one write; return its answers.

    The socket is a DEALER (a REQ would wait for each answer before sending the next): all
    requests reach ffmpeg in one read, and its ``zmq`` filter handles every request waiting
    when a frame passes before it lets the frame go on, so the commands of one change take
    effect on the same frame. ``timeout`` bounds each wait; ffmpeg answers when its next
    frame passes, so a timeout shorter than a frame interval fails on a slow stream.
    """
    with _connect(address, timeout) as sock:
        sock.sendall(GREETING)
        peer = _exactly(sock, 64)
        if peer[0] != 0xFF or peer[9] != 0x7F or peer[10] < 3:
            raise ZmtpError("the peer does not speak ZMTP 3")
        sock.sendall(_frame(_ready(b"DEALER"), _COMMAND))
        flags, body = _read_frame(sock)
        if not flags & _COMMAND or not body.startswith(b"\x05READY"):
            raise ZmtpError("the ZeroMQ peer did not answer READY")
        sock.sendall(b"".join(_frame(b"", _MORE) + _frame(m.encode()) for m in messages))
        answers: list[str] = []
        while len(answers) < len(messages):
            parts: list[bytes] = []
            while True:
                flags, body = _read_frame(sock)
                if flags & _COMMAND:
                    continue
                parts.append(body)
                if not flags & _MORE:
                    break
            answers.append(parts[-1].decode(errors="replace"))
        return answers


__all__ = ["ZmtpError", "request"]
