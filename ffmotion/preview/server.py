"""The preview's HTTP server: a fixed set of routes, every one behind a random token.

The standard library's :class:`http.server.ThreadingHTTPServer` suffices: one local user, a
handful of concurrent requests (a frame, the energy poll, a render poll, a playback stream),
no websockets (playback is one streamed response, progress is polled). A web framework would
add a dependency and nothing the page uses.

Safety, in the order a request meets it:

* binds 127.0.0.1 unless told otherwise; at most :data:`MAX_CONNECTIONS` connections are
  served at once (more wait in a listen queue of :data:`BACKLOG`);
* the request line and headers are read within :data:`HEAD_LIMIT` bytes and
  :data:`REQUEST_DEADLINE` seconds (:class:`Deadlines` closes a connection that dawdles), any
  one read or write within :data:`SOCKET_TIMEOUT`;
* then, from the headers alone and before a byte of any body is read (:meth:`Handler.admit`):
  the token (``t=<token>``, ``secrets.token_urlsafe``, compared in constant time), the
  ``Host`` (:func:`host_allowed`: a page on another name, DNS rebinding, gets nothing even
  with the token) and the ``Origin`` when sent (the page's own); then the body's length
  (one plain ``Content-Length`` of at most :data:`BODY_LIMIT`; anything else is refused and
  the connection closed, so no body is ever read as the next request);
* then every query parameter (:func:`ffmotion.preview.query.parse`): one 400 with the reason;
* routes and static files are looked up in fixed tables, so no request parameter is ever part
  of a file path (renders are served by their number in this session);
* the session caps its ffmpeg processes and caches (:class:`~ffmotion.preview.session.Session`);
* the token never reaches a log line (:func:`redact`).
"""
from __future__ import annotations

import ipaddress
import json
import logging
import re
import secrets
import socket
import sys
import threading
import time
from http import HTTPStatus
from http.client import LineTooLong
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import Any, Callable, Optional
from urllib.parse import urlencode, urlsplit

from ffmotion.core.errors import FfmotionError, UsageError
from ffmotion.preview import query as params
from ffmotion.preview.session import Busy, Session
from ffmotion.run import runner, signals

log = logging.getLogger("ffmotion")

STATIC = {  # URL path -> (package file, content type)
    "/": ("index.html", "text/html; charset=utf-8"),
    "/app.js": ("app.js", "text/javascript; charset=utf-8"),
    "/rois.js": ("rois.js", "text/javascript; charset=utf-8"),  # regions for measure
    "/style.css": ("style.css", "text/css; charset=utf-8"),
}
STREAM_CHUNK = 1 << 20
# the page loads nothing but its own files, and no other site may frame it
CSP = ("default-src 'self'; img-src 'self' data:; script-src 'self'; style-src 'self'; "
       "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'")
HEAD_LIMIT = 64 * 1024  # request line and headers together
BODY_LIMIT = 64 * 1024  # the page sends no body; a small one is read and ignored
REQUEST_DEADLINE = 10.0  # seconds from waiting for a request to having read all of it
SOCKET_TIMEOUT = 30.0  # any one read or write (a reader that stops reading a stream)
MAX_CONNECTIONS = 64
BACKLOG = 256
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1")


def _static(name: str) -> bytes:
    return resources.files("ffmotion.preview").joinpath("static").joinpath(name).read_bytes()


def is_loopback(host: str) -> bool:
    """Whether ``--host`` names this machine only."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def host_allowed(header: str, bind: str, port: int) -> bool:
    """Whether a request's ``Host`` header names this server.

    Always: 127.0.0.1, localhost or [::1] with the server's port. Bound elsewhere
    (``--host``): also the ``--host`` as given, and, bound to a non-loopback address or to all
    of them (``0.0.0.0``, ``::``), any IP address literal with the port. Never another name:
    a browser sends the name in its address bar, so a page of another site whose name was
    made to point here (DNS rebinding) is refused even when it knows the token, while an
    address typed as digits cannot be another site's.
    """
    text = header.strip().lower()
    match = re.fullmatch(r"(\[[0-9a-f:.]+\]|[^\[\]:]+)(?::([0-9]{1,5}))?", text)
    if match is None:
        return False
    name, given = match.group(1), match.group(2)
    if (int(given) if given else 80) != port:
        return False
    bare = name.strip("[]")
    if bare in LOOPBACK_NAMES:
        return True
    wanted = bind.strip().lower().strip("[]")
    if is_loopback(wanted):
        return False
    if bare == wanted:
        return True
    try:
        ipaddress.ip_address(bare)
    except ValueError:
        return False
    return name.startswith("[") == (":" in bare)  # an IPv6 literal only in brackets


def redact(text: str, token: str) -> str:
    """``text`` (a log line) with the token, and the value of any ``t`` parameter however
    it is spelt, replaced."""
    def clean(match: re.Match[str]) -> str:
        try:
            found = params.pairs(match.group(1))
        except UsageError:
            return "?(query)"
        return "?" + urlencode([(k, "REDACTED" if k == params.TOKEN else v) for k, v in found])
    text = re.sub(r"\?([^\s\"]*)", clean, text)
    return text.replace(token, "REDACTED") if token else text


class Deadlines:
    """Closes connections that have not sent a whole request in time: one thread for all,
    so a client that sends a byte now and then cannot hold a connection for ever (a socket
    timeout alone restarts with every byte)."""

    def __init__(self) -> None:
        self._due: dict[int, tuple[float, socket.socket]] = {}
        self._wake = threading.Condition()
        self._next = 0
        threading.Thread(target=self._loop, daemon=True, name="preview-deadlines").start()

    def arm(self, sock: socket.socket, seconds: float) -> int:
        with self._wake:
            self._next += 1
            self._due[self._next] = (time.monotonic() + seconds, sock)
            self._wake.notify()
            return self._next

    def disarm(self, ticket: int) -> bool:
        """False when the deadline had passed (the connection is being closed)."""
        with self._wake:
            return self._due.pop(ticket, None) is not None

    def _loop(self) -> None:
        with self._wake:
            while True:
                now = time.monotonic()
                for ticket in [t for t, (at, _) in self._due.items() if at <= now]:
                    _, sock = self._due.pop(ticket)
                    try:
                        sock.shutdown(socket.SHUT_RDWR)  # wakes the thread reading it
                    except OSError:
                        pass
                soonest = min((at for at, _ in self._due.values()), default=None)
                self._wake.wait(None if soonest is None else soonest - now)


class _Budget:
    """The connection's reader, giving the request line and headers at most ``limit`` bytes
    between :meth:`reset` calls (the standard library allows 100 lines of 64 KiB)."""

    def __init__(self, raw: Any) -> None:
        self.raw = raw
        self.left = HEAD_LIMIT

    def reset(self) -> None:
        self.left = HEAD_LIMIT

    def readline(self, size: int = -1) -> bytes:
        want = self.left + 1 if size < 0 else min(size, self.left + 1)
        line = self.raw.readline(want)
        self.left -= len(line)
        if self.left < 0:
            raise LineTooLong(f"request head over {HEAD_LIMIT} bytes")
        return line

    def read(self, size: int) -> bytes:
        return self.raw.read(size)


class PreviewServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = BACKLOG

    def __init__(self, address: tuple[str, int], session: Session, token: str) -> None:
        if ":" in address[0]:  # an IPv6 address (--host ::1)
            self.address_family = socket.AF_INET6
        super().__init__(address, Handler)
        self.session = session
        self.token = token
        self.bind_host = address[0]
        self.files = {path: (_static(name).replace(b"__TOKEN__", token.encode()), kind)
                      for path, (name, kind) in STATIC.items()}
        self.deadlines = Deadlines()
        self._slots = threading.BoundedSemaphore(MAX_CONNECTIONS)

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        if isinstance(host, bytes):  # a socket family that names hosts in bytes: not ours
            host = host.decode("ascii", "replace")
        shown = "127.0.0.1" if host in ("0.0.0.0", "", "::") else host
        if ":" in str(shown):
            shown = f"[{shown}]"
        return f"http://{shown}:{port}/?t={self.token}"

    def process_request(self, request: Any, client_address: Any) -> None:
        """One thread per connection, at most :data:`MAX_CONNECTIONS`: past that the accept
        loop waits, and new connections wait in the listen queue."""
        while not self._slots.acquire(timeout=0.5):
            pass
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._slots.release()
            raise

    def service_actions(self) -> None:
        """Between two polls of the accept loop: a stop signal stops the server even where
        its KeyboardInterrupt was lost (one that lands while a request's thread is being
        started was seen to leave the server running, deaf to further signals)."""
        if signals.received():
            raise KeyboardInterrupt

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A connection that broke (the browser went away): one debug line, no traceback."""
        error = sys.exc_info()[1]
        log.debug("preview: %s: connection ended: %s", client_address[0],
                  redact(f"{type(error).__name__}: {error}", self.token))


class Handler(BaseHTTPRequestHandler):
    server: PreviewServer
    protocol_version = "HTTP/1.1"
    timeout = SOCKET_TIMEOUT
    # headers and body are two writes: with Nagle's algorithm the second waits for the
    # browser's delayed ACK (~40 ms measured on every small JSON answer)
    disable_nagle_algorithm = True
    query: dict[str, str]

    def setup(self) -> None:
        super().setup()
        self.rfile = _Budget(self.rfile)  # type: ignore[assignment]

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base's name
        log.debug("preview: %s %s", self.address_string(),
                  redact(format % args, self.server.token))

    def handle_one_request(self) -> None:
        """One request, read whole within :data:`REQUEST_DEADLINE` (see :meth:`admit`)."""
        self.rfile.reset()  # type: ignore[attr-defined]
        self._ticket: Optional[int] = self.server.deadlines.arm(self.connection,
                                                                 REQUEST_DEADLINE)
        try:
            super().handle_one_request()
        except LineTooLong:  # the request line took the whole budget
            self.close_connection = True
            self.command, self.request_version, self.requestline = "", "HTTP/1.1", ""
            self._error(HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE,
                        f"request head over {HEAD_LIMIT} bytes")
        finally:
            self._read_all()

    def _read_all(self) -> bool:
        """The request is read: stop its deadline. False when it had passed."""
        ticket, self._ticket = self._ticket, None
        if ticket is not None and not self.server.deadlines.disarm(ticket):
            self.close_connection = True
            return False
        return True

    def handle_expect_100(self) -> bool:
        return True  # answered by admit, after the token and Host were checked

    raw_requestline: bytes  # set by BaseHTTPRequestHandler.handle_one_request

    def parse_request(self) -> bool:
        if not self.raw_requestline.endswith(b"\n"):  # cut short: closed or timed out
            self.close_connection = True
            return False
        try:
            if not super().parse_request():
                return False
        except LineTooLong:  # raised by _Budget while the request line is split
            self.close_connection = True
            return False
        return self.admit()

    # -- the gate -------------------------------------------------------------------------

    def _refuse(self, status: int, message: str) -> bool:
        self.close_connection = True  # an unread body must never become the next request
        self._error(status, message)
        return False

    def admit(self) -> bool:
        """Token, Host and Origin from the headers alone; then the body's length, the body
        (read and ignored), the query. False: refused, answered, connection closed."""
        try:
            found = params.pairs(urlsplit(self.path).query)
        except UsageError as exc:  # the token cannot be looked for
            return self._refuse(HTTPStatus.BAD_REQUEST, str(exc))
        given = params.tokens(found)
        if len(given) != 1 or not secrets.compare_digest(
                given[0].encode("utf-8", "replace"), self.server.token.encode()):
            return self._refuse(HTTPStatus.FORBIDDEN, "missing or wrong token: open the URL "
                                                      "ffmotion preview printed")
        hosts = self.headers.get_all("Host") or []
        if len(hosts) != 1 or not host_allowed(hosts[0], self.server.bind_host,
                                                self.server.port):
            return self._refuse(HTTPStatus.FORBIDDEN, "this page is served as "
                                f"{self.server.url.split('/?')[0]} only (Host header "
                                f"{', '.join(hosts) or 'missing'}): open the URL ffmotion "
                                "preview printed")
        origins = self.headers.get_all("Origin") or []
        if origins and (len(origins) != 1
                        or origins[0].strip().lower() != f"http://{hosts[0].strip().lower()}"):
            return self._refuse(HTTPStatus.FORBIDDEN, "requests from other pages are refused "
                                                      "(Origin header)")
        if not self._body():
            return False
        if not self._read_all():
            return False
        try:
            self.query = params.parse(found)
        except UsageError as exc:
            self._error(HTTPStatus.BAD_REQUEST, str(exc))
            return False
        return True

    def _body(self) -> bool:
        """Read the body if it is one plain Content-Length within :data:`BODY_LIMIT`."""
        if self.headers.get_all("Transfer-Encoding"):
            return self._refuse(HTTPStatus.BAD_REQUEST, "Transfer-Encoding is not accepted: "
                                                        "send no body")
        lengths = self.headers.get_all("Content-Length") or []
        if len(lengths) > 1:
            return self._refuse(HTTPStatus.BAD_REQUEST, "Content-Length is given twice")
        text = lengths[0].strip() if lengths else "0"
        if not re.fullmatch(r"[0-9]{1,18}", text):
            return self._refuse(HTTPStatus.BAD_REQUEST, "Content-Length must be a whole "
                                f"number of bytes, not {text[:20]!r}")
        length = int(text)
        if length > BODY_LIMIT:
            return self._refuse(HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                                f"request body over {BODY_LIMIT} bytes: send no body")
        if length and self.headers.get("Expect", "").lower() == "100-continue":
            self.send_response_only(HTTPStatus.CONTINUE)
            self.end_headers()
        if length and len(self.rfile.read(length)) != length:
            self.close_connection = True  # the client went away mid-body
            return False
        return True

    # -- plumbing -------------------------------------------------------------------------

    def _send(self, status: int, body: bytes, kind: str,
              headers: Optional[dict[str, str]] = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        if kind.startswith("text/html"):
            self.send_header("Content-Security-Policy", CSP)
        if self.close_connection:
            self.send_header("Connection", "close")
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, status: int, value: Any) -> None:
        self._send(status, json.dumps(value).encode(), "application/json")

    def _error(self, status: int, message: str) -> None:
        self._json(status, {"error": message})

    def _route(self, table: dict[str, Callable[[dict[str, str]], None]]) -> None:
        handler = table.get(urlsplit(self.path).path)
        if handler is None:
            self._error(HTTPStatus.NOT_FOUND, "no such page")
            return
        try:
            handler(self.query)
        except UsageError as exc:
            self._error(HTTPStatus.BAD_REQUEST, str(exc))
        except Busy as exc:
            self._error(HTTPStatus.SERVICE_UNAVAILABLE, str(exc))
        except FfmotionError as exc:
            self._error(HTTPStatus.INTERNAL_SERVER_ERROR, str(exc))
        except (BrokenPipeError, ConnectionResetError, TimeoutError):
            self.close_connection = True

    def do_GET(self) -> None:  # noqa: N802 - the base's name
        self._route({
            **{path: self._file(path) for path in self.server.files},
            "/api/info": self._info,
            "/api/describe": self._describe,
            "/api/frame": self._frame,
            "/api/original": self._original,
            "/api/play": self._play,
            "/api/energy": self._energy,
            "/api/render": self._render_status,
            "/api/render/file": self._render_file,
        })

    def do_HEAD(self) -> None:  # noqa: N802
        self.do_GET()

    def do_POST(self) -> None:  # noqa: N802
        self._route({"/api/render": self._render_start})

    # -- routes ---------------------------------------------------------------------------

    def _file(self, path: str) -> Callable[[dict[str, str]], None]:
        def send(query: dict[str, str]) -> None:
            body, kind = self.server.files[path]
            self._send(HTTPStatus.OK, body, kind)
        return send

    def _info(self, query: dict[str, str]) -> None:
        session = self.server.session
        self._json(HTTPStatus.OK, session.info_json() | {"proxy": session.proxy_status()})

    def _describe(self, query: dict[str, str]) -> None:
        settings = self.server.session.settings(query)
        self._json(HTTPStatus.OK, self.server.session.describe(settings,
                                                               query.get("overwrite") == "1"))

    def _index(self, query: dict[str, str], name: str = "i") -> int:
        return params.frame_number(query, name, default=0) or 0

    def _raw(self, data: bytes, fmt: dict[str, Any], i: int, exact: str) -> None:
        self._send(HTTPStatus.OK, data, "application/octet-stream",
                   {"X-Frame": str(i), "X-Format": json.dumps(fmt), "X-Exact": exact})

    def _frame(self, query: dict[str, str]) -> None:
        i = self._index(query)
        data, fmt = self.server.session.frame(self.server.session.settings(query), i)
        self._raw(data, fmt, i, "exact")

    def _original(self, query: dict[str, str]) -> None:
        i = self._index(query)
        data, fmt = self.server.session.original(self.server.session.settings(query), i)
        self._raw(data, fmt, i, "input")

    def _play(self, query: dict[str, str]) -> None:
        """Exact frames from ``i`` to the end of the range, as one raw stream."""
        i = self._index(query)
        session = self.server.session
        argv, skip, fmt = session.stream(session.settings(query), i)
        with session.ffmpeg_slot(interactive=True):  # before the answer: a 503 can be sent
            self.send_response(HTTPStatus.OK)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("X-Format", json.dumps(fmt))
            self.send_header("Cache-Control", "no-store")
            self.send_header("Connection", "close")
            self.end_headers()
            self.close_connection = True
            if self.command == "HEAD":
                return
            session.touch(+1)
            try:
                self._stream(argv, skip * fmt["frame_bytes"])
            finally:
                session.touch(-1)

    def _stream(self, argv: list[str], dropped: int) -> None:
        with runner.reading(argv) as out:
            while True:
                chunk = out.read1(STREAM_CHUNK) if hasattr(out, "read1") else out.read(STREAM_CHUNK)
                if not chunk:
                    break
                if dropped:
                    cut = min(dropped, len(chunk))
                    chunk, dropped = chunk[cut:], dropped - cut
                if chunk:
                    self.wfile.write(chunk)

    def _energy(self, query: dict[str, str]) -> None:
        self._json(HTTPStatus.OK, self.server.session.energy(self.server.session.settings(query)))

    def _render_start(self, query: dict[str, str]) -> None:
        job = self.server.session.render(self.server.session.settings(query), query.get("overwrite") == "1")
        self._json(HTTPStatus.OK, _job_json(job, self.server.token))

    def _render_status(self, query: dict[str, str]) -> None:
        job = self.server.session.renders.get(self._index(query, "id"))
        if job is None:
            self._error(HTTPStatus.NOT_FOUND, "no such render")
            return
        self._json(HTTPStatus.OK, _job_json(job, self.server.token))

    def _render_file(self, query: dict[str, str]) -> None:
        job = self.server.session.renders.get(self._index(query, "id"))
        if job is None or job.state != "done" or not job.output.is_file():
            self._error(HTTPStatus.NOT_FOUND, "no such render")
            return
        size = job.output.stat().st_size
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", "video/mp4")
        self.send_header("Content-Length", str(size))
        self.send_header("Content-Disposition", f'inline; filename="{_ascii(job.output.name)}"')
        self.end_headers()
        if self.command == "HEAD":
            return
        with open(job.output, "rb") as f:
            while True:
                chunk = f.read(STREAM_CHUNK)
                if not chunk:
                    break
                self.wfile.write(chunk)


def _ascii(name: str) -> str:
    return "".join(c if 32 <= ord(c) < 127 and c not in '"\\' else "_" for c in name)


def _job_json(job: Any, token: str) -> dict[str, Any]:
    return {"id": job.ident, "state": job.state, "frames": job.frames, "total": job.total,
            "error": job.error, "output": str(job.output), "seconds": round(job.seconds, 2),
            "url": f"/api/render/file?id={job.ident}&t={token}" if job.state == "done" else ""}


def serve(session: Session, host: str = "127.0.0.1", port: int = 0,
          open_browser: bool = True, on_ready: Optional[Callable[[str], None]] = None) -> None:
    """Serve until Ctrl-C / SIGTERM (a KeyboardInterrupt in the main thread); then stop every
    ffmpeg in flight and remove the session's temporary files."""
    token = secrets.token_urlsafe(24)
    try:
        server = PreviewServer((host, port), session, token)
    except OSError:
        session.close()
        raise
    try:
        url = server.url
        print(url, flush=True)
        if on_ready is not None:
            on_ready(url)
        if open_browser:
            import webbrowser

            webbrowser.open(url)
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()
        session.close()
        print("ffmotion preview: stopped", file=sys.stderr)
