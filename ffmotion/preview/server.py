"""The preview's HTTP server: a fixed set of routes, every one behind a random token.

The standard library's :class:`http.server.ThreadingHTTPServer` suffices: one local user, a
handful of concurrent requests (a frame, the energy poll, a render poll, a playback stream),
no websockets (playback is one streamed response, progress is polled). A web framework would
add a dependency and nothing the page uses.

Safety: binds 127.0.0.1 unless told otherwise; every request needs ``t=<token>``
(``secrets.token_urlsafe``), compared in constant time, or gets 403 before anything else is
looked at; routes and static files are looked up in fixed tables, so no request parameter is
ever part of a file path (renders are served by their number in this session).
"""
from __future__ import annotations

import json
import logging
import secrets
import sys
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import Any, Callable, Optional
from urllib.parse import parse_qsl, urlsplit

from ..run import runner
from ..errors import FfmotionError, UsageError
from .session import Session

log = logging.getLogger("ffmotion")

STATIC = {  # URL path -> (package file, content type)
    "/": ("index.html", "text/html; charset=utf-8"),
    "/app.js": ("app.js", "text/javascript; charset=utf-8"),
    "/style.css": ("style.css", "text/css; charset=utf-8"),
}
STREAM_CHUNK = 1 << 20
# the page loads nothing but its own files, and no other site may frame it
CSP = ("default-src 'self'; img-src 'self' data:; script-src 'self'; style-src 'self'; "
       "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'")


def _static(name: str) -> bytes:
    return resources.files("ffmotion.preview").joinpath("static", name).read_bytes()


class PreviewServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], session: Session, token: str) -> None:
        super().__init__(address, Handler)
        self.session = session
        self.token = token
        self.files = {path: (_static(name).replace(b"__TOKEN__", token.encode()), kind)
                      for path, (name, kind) in STATIC.items()}

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        shown = "127.0.0.1" if host in ("0.0.0.0", "") else host
        if ":" in str(shown):
            shown = f"[{shown}]"
        return f"http://{shown}:{port}/?t={self.token}"


class Handler(BaseHTTPRequestHandler):
    server: PreviewServer
    protocol_version = "HTTP/1.1"
    # headers and body are two writes: with Nagle's algorithm the second waits for the
    # browser's delayed ACK (~40 ms measured on every small JSON answer)
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base's name
        log.debug("preview: %s %s", self.address_string(), format % args)

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
        parts = urlsplit(self.path)
        try:
            query = dict(parse_qsl(parts.query, keep_blank_values=True, max_num_fields=64))
        except ValueError:
            query = {}
        token = query.pop("t", "")
        if not secrets.compare_digest(token.encode("utf-8", "replace"),
                                      self.server.token.encode()):
            self._error(HTTPStatus.FORBIDDEN, "missing or wrong token: open the URL ffmotion "
                                              "preview printed")
            return
        handler = table.get(parts.path)
        if handler is None:
            self._error(HTTPStatus.NOT_FOUND, "no such page")
            return
        try:
            handler(query)
        except UsageError as exc:
            self._error(HTTPStatus.BAD_REQUEST, str(exc))
        except FfmotionError as exc:
            self._error(HTTPStatus.INTERNAL_SERVER_ERROR, str(exc))
        except (BrokenPipeError, ConnectionResetError):
            pass

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
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(min(length, 1 << 16))
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
        text = query.get(name, "0")
        if not text.isdigit() or len(text) > 9:
            raise UsageError(f"{name} must be a frame number, not {text!r}")
        return int(text)

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
        argv, skip, fmt = self.server.session.stream(self.server.session.settings(query), i)
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("X-Format", json.dumps(fmt))
        self.send_header("Cache-Control", "no-store")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        if self.command == "HEAD":
            return
        dropped = skip * fmt["frame_bytes"]
        session = self.server.session
        session.touch(+1)
        try:
            self._stream(argv, dropped)
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
