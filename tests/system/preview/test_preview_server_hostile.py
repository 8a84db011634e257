"""The preview server against hostile clients: raw sockets against a real server process.

The server runs as a user starts it (``ffmotion preview``, in a subprocess, on 127.0.0.1,
stopped by its PID), under an address-space limit so a regression fails instead of eating the
machine; its memory is read from ``/proc/PID/status`` (VmHWM: the peak resident size). Two of
its timeouts are shortened for the tests (the request deadline, the wait for an ffmpeg slot)
by setting the module constants before ``main`` runs; the mechanisms are the ones shipped.
"""
from __future__ import annotations

import json
import os
import re
import resource
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Iterator, Optional
from urllib.parse import quote

import pytest

from helpers import bundled_ffmpeg, make_clip

DEADLINE = 2.0  # the request deadline the test servers run with (REQUEST_DEADLINE)
SLOT_WAIT = 1.0  # FFMPEG_WAIT
MEMORY_LIMIT = 3 * 2**30  # RLIMIT_AS of the server (and its ffmpeg children)
LAUNCH = ("import sys; import ffmotion.preview.server as server, ffmotion.preview.session as s; "
          f"server.REQUEST_DEADLINE = {DEADLINE}; s.FFMPEG_WAIT = {SLOT_WAIT}; "
          "from ffmotion.cli import main; sys.exit(main(sys.argv[1:]))")


def _limits() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


class Running:
    def __init__(self, proc: subprocess.Popen, url: str, log: Path) -> None:  # type: ignore[type-arg]
        self.proc = proc
        self.url = url
        self.port = int(re.match(r"http://127\.0\.0\.1:(\d+)/", url).group(1))  # type: ignore[union-attr]
        self.token = url.split("t=", 1)[1]
        self.host = f"127.0.0.1:{self.port}"
        self.log = log

    def status(self, field: str) -> int:
        """A VmXXX line of /proc/PID/status, in bytes."""
        text = Path(f"/proc/{self.proc.pid}/status").read_text()
        return int(re.search(rf"^{field}:\s+(\d+) kB", text, re.M).group(1)) * 1024  # type: ignore[union-attr]

    def children(self, name: str = "ffmpeg") -> int:
        count = 0
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            comm = stat[stat.index("(") + 1:stat.rindex(")")]
            ppid = int(stat[stat.rindex(")") + 2:].split()[1])
            if ppid == self.proc.pid and comm.startswith(name):
                count += 1
        return count

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5)
            raise AssertionError("the preview server did not stop within 15 s of SIGTERM") from None


def start(src: Path, out: Path, log: Path, *extra: str) -> Running:
    env = {**os.environ, "FFMOTION_FFMPEG": bundled_ffmpeg()}
    with open(log, "wb") as err:
        proc = subprocess.Popen(
            [sys.executable, "-c", LAUNCH, "preview", str(src), "--no-browser", "--port", "0",
             "-o", str(out), *extra],
            stdout=subprocess.PIPE, stderr=err, env=env, preexec_fn=_limits)
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], 30)
    line = proc.stdout.readline().decode().strip() if ready else ""
    if not line.startswith("http://127.0.0.1:"):
        proc.kill()
        proc.wait(timeout=5)
        raise AssertionError(f"no URL from ffmotion preview: {line!r} {log.read_text()[-2000:]}")
    return Running(proc, line, log)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, gen_ffmpeg: str) -> Iterator[Running]:
    folder = tmp_path_factory.mktemp("hostile")
    # 320x240, 150 frames: a playback stream (17 MB) that a client not reading cannot drain
    clip = make_clip(gen_ffmpeg, folder / "clip.mp4", size=(320, 240), frames=150,
                     codec="libx264")
    out = folder / "out"
    out.mkdir()
    running = start(clip, out, folder / "server.log", "--width", "320", "-vv")
    try:
        status, _, _ = request(running, f"/api/frame?i=0&t={running.token}")
        assert status == 200  # the proxy is built: what follows measures the server alone
        yield running
    finally:
        running.stop()


# -- raw HTTP ------------------------------------------------------------------------------------

def talk(port: int, data: bytes, timeout: float = 5.0,
         rcvbuf: Optional[int] = None) -> tuple[bytes, bool]:
    """Send ``data``, read until the server closes or ``timeout``; (bytes, closed by server)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        if rcvbuf:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        sock.settimeout(timeout)
        sock.connect(("127.0.0.1", port))
        try:
            sock.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # refused before it was all sent: what is answered is read below
        chunks: list[bytes] = []
        end = time.monotonic() + timeout
        while (left := end - time.monotonic()) > 0:
            sock.settimeout(left)
            try:
                chunk = sock.recv(65536)
            except socket.timeout:
                return b"".join(chunks), False
            except ConnectionResetError:
                return b"".join(chunks), True
            if not chunk:
                return b"".join(chunks), True
            chunks.append(chunk)
        return b"".join(chunks), False


def responses(raw: bytes) -> list[tuple[int, dict[str, str], bytes]]:
    """The HTTP responses in ``raw``, in order."""
    out = []
    while raw:
        head, sep, rest = raw.partition(b"\r\n\r\n")
        if not sep:
            break
        lines = head.decode("latin-1").split("\r\n")
        headers = {k.strip().lower(): v.strip() for k, v in
                   (line.split(":", 1) for line in lines[1:] if ":" in line)}
        size = int(headers.get("content-length", len(rest)))
        out.append((int(lines[0].split()[1]), headers, rest[:size]))
        raw = rest[size:]
    return out


def request(server: Running, target: str, method: str = "GET", host: Optional[str] = None,
            extra: str = "", body: bytes = b"", timeout: float = 30.0
            ) -> tuple[int, dict[str, str], bytes]:
    """One request on its own connection (``Connection: close``); its one response."""
    head = (f"{method} {target} HTTP/1.1\r\nHost: {server.host if host is None else host}\r\n"
            f"Connection: close\r\n{extra}\r\n").encode()
    raw, closed = talk(server.port, head + body, timeout)
    got = responses(raw)
    assert closed and len(got) == 1, (target, raw[:300])
    return got[0]


def error_of(body: bytes) -> str:
    return str(json.loads(body)["error"])


# -- the body: never read before the token and Host, never past its cap --------------------------

def test_a_negative_content_length_is_refused_without_reading(server: Running) -> None:
    before = server.status("VmHWM")
    target = f"/api/render?t={server.token}"
    head = (f"POST {target} HTTP/1.1\r\nHost: {server.host}\r\nContent-Length: -1\r\n\r\n").encode()
    started = time.monotonic()
    # nothing of the body is sent: the answer must come without waiting for one
    raw, closed = talk(server.port, head, timeout=5)
    got = responses(raw)
    assert closed and [s for s, _, _ in got] == [400], raw[:300]
    assert "Content-Length" in error_of(got[0][2])
    assert time.monotonic() - started < 3
    # and 64 MiB pushed after such a head are not buffered
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(head)
        sent = 0
        try:
            while sent < 64 * 2**20:
                sent += sock.send(b"x" * 2**20)
        except (BrokenPipeError, ConnectionResetError, socket.timeout):
            pass
    assert server.status("VmHWM") - before < 16 * 2**20


@pytest.mark.parametrize("lengths, why", [
    (["abc"], "Content-Length"), (["1e3"], "Content-Length"), ([" +5"], "Content-Length"),
    (["5", "5"], "twice"), (["5", "70000"], "twice")])
def test_bad_content_lengths_get_400(server: Running, lengths: list[str], why: str) -> None:
    extra = "".join(f"Content-Length: {n}\r\n" for n in lengths)
    status, headers, body = request(server, f"/api/render?t={server.token}", "POST",
                                    extra=extra, body=b"hello", timeout=5)
    assert status == 400 and why in error_of(body)
    assert headers.get("connection") == "close"


def test_chunked_bodies_are_refused(server: Running) -> None:
    status, _, body = request(server, f"/api/render?t={server.token}", "POST",
                              extra="Transfer-Encoding: chunked\r\n",
                              body=b"5\r\nhello\r\n0\r\n\r\n", timeout=5)
    assert status == 400 and "Transfer-Encoding" in error_of(body)


def test_a_body_over_the_cap_never_becomes_the_next_request(server: Running) -> None:
    """Over 64 KiB: 413 and the connection closed; the bytes past the cap (here a second,
    well-formed request) are never read as a request."""
    smuggled = (f"GET /api/info?t={server.token} HTTP/1.1\r\nHost: {server.host}\r\n\r\n").encode()
    body = b"A" * 65536 + smuggled
    head = (f"POST /api/render?t={server.token} HTTP/1.1\r\nHost: {server.host}\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode()
    raw, closed = talk(server.port, head + body, timeout=5)
    got = responses(raw)
    assert closed and [s for s, _, _ in got] == [413], [s for s, _, _ in got]
    assert list((server.log.parent / "out").iterdir()) == []  # nothing was rendered


def test_a_wrong_token_is_refused_before_the_body(server: Running) -> None:
    smuggled = (f"GET /api/info?t={server.token} HTTP/1.1\r\nHost: {server.host}\r\n\r\n").encode()
    head = (f"POST /api/render?t=wrong HTTP/1.1\r\nHost: {server.host}\r\n"
            f"Content-Length: {len(smuggled)}\r\n\r\n").encode()
    raw, closed = talk(server.port, head + smuggled, timeout=5)
    got = responses(raw)
    assert closed and [s for s, _, _ in got] == [403]


def test_a_small_body_is_read_and_the_connection_kept(server: Running) -> None:
    """Within the cap a body is read whole (and ignored): the next request on the same
    connection is answered as itself."""
    first = (f"POST /api/render?offset=zz&t={server.token} HTTP/1.1\r\nHost: {server.host}\r\n"
             "Content-Length: 5\r\n\r\nhello").encode()
    second = (f"GET /api/info?t={server.token} HTTP/1.1\r\nHost: {server.host}\r\n"
              "Connection: close\r\n\r\n").encode()
    raw, closed = talk(server.port, first + second, timeout=10)
    got = responses(raw)
    assert closed and [s for s, _, _ in got] == [400, 200], raw[:300]
    assert json.loads(got[1][2])["frames"] == 150


# -- Host and Origin: DNS rebinding ---------------------------------------------------------------

@pytest.mark.parametrize("host", ["evil.example:{port}", "evil.example", "127.0.0.1:1",
                                  "127.0.0.1.nip.io:{port}", "localhost.:{port}",
                                  "10.0.0.1:{port}", "[::2]:{port}", "", "127.0.0.1:{port} x"])
def test_another_host_is_refused_even_with_the_token(server: Running, host: str) -> None:
    status, _, body = request(server, f"/api/info?t={server.token}",
                              host=host.format(port=server.port), timeout=5)
    assert status == 403 and "Host" in error_of(body)


@pytest.mark.parametrize("host", ["127.0.0.1:{port}", "localhost:{port}", "[::1]:{port}",
                                  "LOCALHOST:{port}"])
def test_the_loopback_names_are_served(server: Running, host: str) -> None:
    status, _, _ = request(server, f"/api/info?t={server.token}",
                           host=host.format(port=server.port), timeout=10)
    assert status == 200


def test_the_host_header_must_be_there_and_once(server: Running) -> None:
    for head in (f"GET /api/info?t={server.token} HTTP/1.1\r\nConnection: close\r\n\r\n",
                 f"GET /api/info?t={server.token} HTTP/1.1\r\nHost: {server.host}\r\n"
                 f"Host: evil.example\r\nConnection: close\r\n\r\n"):
        raw, closed = talk(server.port, head.encode(), timeout=5)
        assert closed and [s for s, _, _ in responses(raw)] == [403]


@pytest.mark.parametrize("origin, status", [
    ("http://evil.example", 403), ("null", 403), ("http://localhost:{port}", 403),
    ("https://127.0.0.1:{port}", 403), ("http://127.0.0.1:{port}", 200)])
def test_the_origin_when_sent_must_be_the_pages(server: Running, origin: str,
                                                status: int) -> None:
    got, _, _ = request(server, f"/api/info?t={server.token}",
                        extra=f"Origin: {origin.format(port=server.port)}\r\n", timeout=10)
    assert got == status


@pytest.mark.parametrize("header, bind, port, allowed", [
    ("127.0.0.1:8000", "127.0.0.1", 8000, True),
    ("localhost:8000", "127.0.0.1", 8000, True),
    ("[::1]:8000", "::1", 8000, True),
    ("127.0.0.1", "127.0.0.1", 80, True),  # a browser leaves out port 80
    ("127.0.0.1", "127.0.0.1", 8000, False),
    ("127.0.0.1:8001", "127.0.0.1", 8000, False),
    ("evil.example:8000", "127.0.0.1", 8000, False),
    ("192.168.1.5:8000", "127.0.0.1", 8000, False),  # loopback bound: loopback names only
    # --host elsewhere: that host as given, and addresses typed as digits; never a name
    ("192.168.1.5:8000", "192.168.1.5", 8000, True),
    ("192.168.1.5:8000", "0.0.0.0", 8000, True),
    ("[fe80::1]:8000", "::", 8000, True),
    ("fe80::1:8000", "::", 8000, False),
    ("mybox.lan:8000", "mybox.lan", 8000, True),
    ("evil.example:8000", "0.0.0.0", 8000, False),
    ("evil.example:8000", "mybox.lan", 8000, False),
    ("mybox.lan:8000", "0.0.0.0", 8000, False),
])
def test_the_host_rule(header: str, bind: str, port: int, allowed: bool) -> None:
    from ffmotion.preview.server import host_allowed

    assert host_allowed(header, bind, port) is allowed


# -- slow clients, bursts, concurrency -------------------------------------------------------------

def test_slow_and_half_sent_requests_are_closed(server: Running) -> None:
    """60 connections that never finish their request (half of them sending a byte every
    0.3 s, which a socket timeout alone never ends) are closed by the server within its
    deadline, and a real request is answered meanwhile."""
    head = f"GET /api/info?t={server.token} HTTP/1.1\r\nHost: {server.host}\r\n"
    socks = []
    for n in range(60):
        sock = socket.create_connection(("127.0.0.1", server.port), timeout=5)
        sock.sendall(head[:20 + n % 30].encode())
        socks.append(sock)
    opened = time.monotonic()
    status, _, _ = request(server, f"/api/info?t={server.token}", timeout=10)
    assert status == 200
    drips = {sock: 20 + n % 30 for n, sock in enumerate(socks) if n % 2}
    closed: set[socket.socket] = set()
    try:
        while len(closed) < len(socks) and time.monotonic() - opened < DEADLINE + 8:
            for sock, at in list(drips.items()):
                if sock not in closed and at < len(head):
                    try:
                        sock.send(head[at:at + 1].encode())
                        drips[sock] = at + 1
                    except OSError:
                        closed.add(sock)
            ready, _, _ = select.select([s for s in socks if s not in closed], [], [], 0.3)
            for sock in ready:
                try:
                    if not sock.recv(4096):
                        closed.add(sock)
                except OSError:
                    closed.add(sock)
        assert len(closed) == len(socks), f"{len(socks) - len(closed)} still open"
        assert time.monotonic() - opened < DEADLINE + 8
    finally:
        for sock in socks:
            sock.close()


def test_a_burst_of_200_requests_is_served(server: Running) -> None:
    """Speed is benchmarked, not tested: here only that the burst does not hang (the listen
    queue of 5 made it take 28 s)."""
    barrier = threading.Barrier(200)

    def one(_: int) -> int:
        barrier.wait(timeout=30)
        return request(server, f"/style.css?t={server.token}", timeout=30)[0]

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=200) as pool:
        statuses = list(pool.map(one, range(200)))
    seconds = time.monotonic() - started
    print(f"200 concurrent requests: {seconds:.2f} s")
    assert statuses == [200] * 200
    assert seconds < 20


def test_ffmpeg_processes_are_capped(server: Running) -> None:
    """Ten playback streams whose client does not read: at most FFMPEG_LIMIT ffmpeg run;
    the others get 503 once the slot wait is over; all end when the clients go."""
    from ffmotion.preview.session import FFMPEG_LIMIT

    socks = []
    try:
        for n in range(10):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            sock.settimeout(10)
            sock.connect(("127.0.0.1", server.port))
            sock.sendall((f"GET /api/play?i=0&gain={n + 1}&t={server.token} HTTP/1.1\r\n"
                          f"Host: {server.host}\r\n\r\n").encode())
            socks.append(sock)
        most = 0
        end = time.monotonic() + SLOT_WAIT + 3
        while time.monotonic() < end:
            most = max(most, server.children())
            time.sleep(0.05)
        assert 0 < most <= FFMPEG_LIMIT
        busy = 0
        for sock in socks:
            first = sock.recv(64)
            busy += first.startswith(b"HTTP/1.1 503")
        assert busy >= 10 - FFMPEG_LIMIT
    finally:
        for sock in socks:
            sock.close()
    end = time.monotonic() + 15
    while server.children() and time.monotonic() < end:
        time.sleep(0.1)
    assert server.children() == 0


def test_cached_plans_are_capped(tmp_path: Path, gen_ffmpeg: str) -> None:
    from ffmotion.preview import session as sessions
    from ffmotion.run import runner

    clip = make_clip(gen_ffmpeg, tmp_path / "clip.mkv", size=(64, 48), frames=12)
    session = sessions.Session(clip, runner.tools(gen_ffmpeg), width=32)
    try:
        for n in range(sessions.PLAN_CACHE + 40):
            session.plan(session.settings({"gain": f"1.{n:03d}"}))
        assert len(session._plans) == sessions.PLAN_CACHE
    finally:
        session.close()


# -- parameters and logs ---------------------------------------------------------------------------

@pytest.mark.parametrize("query, what", [
    ("i=%C2%B2", "i must be printable ASCII"),  # ²: isdigit() but not int()
    ("i=%D9%A1", "must be printable ASCII"),  # Arabic-Indic 1
    ("i=99999999999999999999", "i must be a whole number"),
    ("i=0&start=%EF%BC%91", "must be printable ASCII"),  # fullwidth 1
    ("i=0&trail=NaN", "--trail must be a number"),
    ("i=0&glow=inf", "--glow must be a number"),
    ("i=0&overlay=1e999", "--overlay must be a number"),
    ("i=0&blur=%C2%B2", "must be printable ASCII"),
    ("i=0&gain=1e99999", "--gain"),
    ("i=0&offset=" + "9" * 100, "at most 64 characters"),
    ("i=0&offset=1%00", "printable ASCII"),
    ("i=0&i=1", "given twice"),
    ("i=0&nonsense=1", "unknown parameter"),
    ("i=0&" + "&".join(f"gain={n}" for n in range(70)), "too many query parameters"),
])
def test_every_bad_parameter_is_one_400(server: Running, query: str, what: str) -> None:
    status, _, body = request(server, f"/api/frame?{query}&t={server.token}", timeout=10)
    assert status == 400 and what in error_of(body), (status, body[:200])


def test_the_token_never_reaches_the_log(server: Running) -> None:
    encoded = "".join(f"%{ord(c):02X}" for c in server.token)
    for target in (f"/api/info?t={server.token}", f"/api/frame?t={encoded}&i=0",
                   f"/nothing?t={server.token}", f"/api/frame?i=x&t={server.token}"):
        request(server, target, timeout=10)
    talk(server.port, f"BAD {server.token} NONSENSE\r\n\r\n".encode(), timeout=3)
    time.sleep(0.3)
    text = server.log.read_text()
    assert "GET /api/info" in text  # -vv logs every request...
    assert server.token not in text and encoded not in text  # ...without the token
    assert quote(server.token) not in text
