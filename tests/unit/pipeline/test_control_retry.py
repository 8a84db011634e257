"""A change sent while ffmpeg's zmq socket is made again (ffmpeg configuring its graph once
more at its first frame closes the connection before answering) is sent again, not failed:
every command sets a value, so one sent twice does what it does once. A fake REP peer on a
Unix socket (no ffmpeg) closes the first connection and answers the second."""
from __future__ import annotations

import socket
import struct
import threading

from ffmotion.pipeline import control


def _exactly(conn: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = conn.recv(size - len(data))
        assert chunk, "the client went away"
        data += chunk
    return data


def _frame(conn: socket.socket) -> tuple[int, bytes]:
    flags = _exactly(conn, 1)[0]
    size = struct.unpack(">Q", _exactly(conn, 8))[0] if flags & 2 else _exactly(conn, 1)[0]
    return flags, _exactly(conn, size)


def _answer(conn: socket.socket, count: int) -> list[str]:
    conn.sendall(b"\xff" + b"\x00" * 8 + b"\x7f" + bytes([3, 0]) + b"NULL".ljust(20, b"\x00")
                 + b"\x00" * 32)
    _exactly(conn, 64)
    _frame(conn)  # the client's READY
    name, kind = b"Socket-Type", b"REP"
    ready = b"\x05READY" + bytes([len(name)]) + name + struct.pack(">I", len(kind)) + kind
    conn.sendall(bytes([4, len(ready)]) + ready)
    got = []
    while len(got) < count:
        flags, body = _frame(conn)
        if body:
            got.append(body.decode())
    for _ in got:
        conn.sendall(bytes([1, 0]) + bytes([0, 10]) + b"0 Success\n"[:10])
    return got


def test_a_closed_connection_is_tried_again(tmp_path):
    path = tmp_path / "zmq.sock"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(path))
    listener.listen(2)
    received: list[list[str]] = []

    def peer() -> None:
        first, _ = listener.accept()
        _exactly(first, 64)  # the client's greeting read, then closed before any answer:
        first.close()  # ffmpeg making its zmq filter again
        second, _ = listener.accept()
        with second:
            received.append(_answer(second, 2))

    thread = threading.Thread(target=peer, daemon=True)
    thread.start()
    try:
        answers = control._request(f"ipc://{path}", ["lut@ffm_gain c0 x", "lut@ffm_gain c1 y"])
    finally:
        thread.join(timeout=10)
        listener.close()
    assert received == [["lut@ffm_gain c0 x", "lut@ffm_gain c1 y"]]
    assert len(answers) == 2 and all(a.startswith("0 Success") for a in answers)
