"""``ffmotion preview <live source>``: a page that shows a camera's motion as it happens and
steers it.

*Frames.* The live run (a steerable plan, :mod:`ffmotion.pipeline.control`) writes JPEG
frames (``-f mpjpeg``, slice-threaded: no frame waits in the encoder) to a Unix socket in the
user's private runtime folder; :class:`Feed` keeps the latest one and each page gets them as
MJPEG over HTTP (``multipart/x-mixed-replace``): compressed frames passed on, never decoded
here. A slow page gets the latest frame, never a backlog, so memory stays at one frame per
reader. The page reads that stream with ``fetch()``, decodes each JPEG off its main thread
(``createImageBitmap``) and draws it on a canvas, every one in order while it is at most 8
frames behind, the oldest dropped beyond (:data:`FRAMES_JS`; measured
against an ``<img>`` and MSE: docs/live.md).

*Controls.* The page posts ``gain=4`` to ``/control``, which goes through the same
:class:`~ffmotion.pipeline.control.Steering` as ``ffmotion control``: look changes on the next
frame, the offset and the look presets by a restart of ffmpeg.

*Access.* Like the file preview (:mod:`ffmotion.preview.server`): every route needs the
page's token (``t=``, compared in constant time) and a ``Host`` that names this server
(:func:`~ffmotion.preview.server.host_allowed`), both checked before anything is read.
"""
from __future__ import annotations

import contextlib
import hmac
import json
import os
import secrets
import shlex
import socket
import sys
import threading
import time
import webbrowser
from collections import deque
from dataclasses import replace
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Optional
from urllib.parse import parse_qs, parse_qsl, urlsplit

from ffmotion.core.errors import UsageError
from ffmotion.core.looks import PRESETS
from ffmotion.pipeline import control, record, resolve
from ffmotion.pipeline.controller import prepare
from ffmotion.preview.server import host_allowed
from ffmotion.run import runner, runtime

MAX_FRAME = 32 * 2**20
ARRIVALS = 256  # the arrival times kept for `GET /state?arrivals=1` (about 8 s at 30 fps)
FRAME_WAIT = 5.0  # seconds a page's stream waits for the next frame before it checks again


class Feed:
    """The latest JPEG of the live run's ``mpjpeg`` output, read from a Unix socket that
    ffmpeg connects to (again after each restart)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(str(path))
        self.listener.listen(2)
        self.ready = threading.Condition()
        self.frame: Optional[bytes] = None
        self.count = 0
        self.bytes = 0  # of every JPEG received (the mean frame size, in /state)
        # (frame number, wall-clock ms) of the latest frames: where the latency goes
        self.arrivals: deque[tuple[int, float]] = deque(maxlen=ARRIVALS)
        self.relayed = 0  # frames written to pages (all pages together)
        self.skipped = 0  # frames a page fell too far behind to get
        self.closed = False
        self.recorder: Optional[record.Recorder] = None  # gets every frame while it records

    def serve(self) -> None:
        while not self.closed:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            with conn, conn.makefile("rb") as stream:
                with contextlib.suppress(OSError, ValueError):
                    self._read(stream)

    def _read(self, stream: Any) -> None:
        size: Optional[int] = None
        while True:
            line = stream.readline(1024)
            if not line:
                return
            key, _, value = line.decode("latin-1").strip().partition(":")
            if key.lower() == "content-length":
                size = int(value)
            elif not line.strip() and size is not None:  # the end of a part's headers
                if not 0 < size <= MAX_FRAME:
                    return
                data = stream.read(size)
                if len(data) < size:
                    return
                with self.ready:
                    self.frame, self.count = data, self.count + 1
                    self.bytes += size
                    self.arrivals.append((self.count, time.time() * 1000))
                    self.ready.notify_all()
                if self.recorder is not None:
                    self.recorder.put(data)
                size = None

    def next_after(self, count: int) -> tuple[int, Optional[bytes]]:
        """The latest frame after frame number ``count`` (waits up to :data:`FRAME_WAIT`); a
        page that fell behind skips to it (counted), so memory stays at one frame."""
        with self.ready:
            self.ready.wait_for(lambda: self.count > count or self.closed, FRAME_WAIT)
            if self.count <= count or self.frame is None:
                return self.count, None
            if count:  # frames this page did not get (none before its first)
                self.skipped += self.count - count - 1
            self.relayed += 1
            return self.count, self.frame

    def close(self) -> None:
        with self.ready:
            self.closed = True
            self.ready.notify_all()
        with contextlib.suppress(OSError):
            self.listener.shutdown(socket.SHUT_RDWR)
        self.listener.close()
        runtime.remove(self.path)


class LiveServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], steering: control.Steering, feed: Feed,
                 token: str, source: str = "") -> None:
        self.steering = steering
        self.source = source
        self.feed = feed
        self.token = token
        self.bind_host = address[0]
        super().__init__(address, _Handler)

    @property
    def url(self) -> str:
        return f"http://{self.bind_host}:{self.server_address[1]}/?t={self.token}"


class _Handler(BaseHTTPRequestHandler):
    server: LiveServer
    protocol_version = "HTTP/1.1"
    timeout = 10.0  # any one read or write (a page that stops reading its stream)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        return  # the URL holds the token

    def _send(self, status: HTTPStatus, body: bytes, kind: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.end_headers()
        self.wfile.write(body)

    def _json(self, status: HTTPStatus, body: dict[str, Any]) -> None:
        self._send(status, json.dumps(body).encode(), "application/json")

    def _admitted(self) -> Optional[str]:
        """The route, once the token and the Host are right (from the request line and the
        headers alone); None when refused (answered)."""
        parts = urlsplit(self.path)
        given = parse_qs(parts.query).get("t", [""])
        hosts = self.headers.get_all("Host") or []
        if len(given) != 1 or not hmac.compare_digest(given[0].encode("utf-8", "replace"),
                                                      self.server.token.encode()):
            refusal = "missing or wrong token: open the URL ffmotion printed"
        elif len(hosts) != 1 or not host_allowed(hosts[0], self.server.bind_host,
                                                 self.server.server_address[1]):
            refusal = "wrong Host header: open the URL ffmotion printed"
        else:
            return parts.path
        self.close_connection = True
        self._json(HTTPStatus.FORBIDDEN, {"error": refusal})
        return None

    def do_GET(self) -> None:  # noqa: N802
        route = self._admitted()
        if route == "/":
            page = PAGE.replace("__TOKEN__", self.server.token).replace(
                "__OFFSET__", str(self.server.steering.plan.k))
            self._send(HTTPStatus.OK, page.encode(), "text/html; charset=utf-8")
        elif route == "/state":
            state = self._state(self.server.steering.state())
            if "arrivals" in parse_qs(urlsplit(self.path).query):
                with self.server.feed.ready:
                    state["arrivals"] = list(self.server.feed.arrivals)
            self._json(HTTPStatus.OK, state)
        elif route == "/frames.mjpeg":
            self._stream()
        elif route is not None:
            self._json(HTTPStatus.NOT_FOUND, {"error": "no such page"})

    def _state(self, state: dict[str, Any]) -> dict[str, Any]:
        """``state`` with the frames shown so far and the command that runs this look."""
        mode = "--freeze" if state.get("mode") == "freeze" else "-k"
        words = ["ffmotion", "live", self.server.source, "OUT", mode, str(state["offset"]),
                 *state["flags"]]
        feed = self.server.feed
        return {**state, "frames": feed.count, "bytes": feed.bytes, "relayed": feed.relayed,
                "skipped": feed.skipped,
                "command": " ".join(shlex.quote(word) for word in words)}

    def _stream(self) -> None:
        self.close_connection = True
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", "multipart/x-mixed-replace; boundary=frame")
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        seen = 0
        feed = self.server.feed
        while not feed.closed:
            seen, frame = feed.next_after(seen)
            if frame is None:
                continue
            try:
                self.wfile.write(b"--frame\r\nContent-Type: image/jpeg\r\nContent-Length: "
                                 + str(len(frame)).encode() + b"\r\n\r\n" + frame + b"\r\n")
                self.wfile.flush()
            except OSError:
                return

    def do_POST(self) -> None:  # noqa: N802
        route = self._admitted()
        if route is None:
            return
        if route in ("/record", "/record/stop"):  # no body: none is read
            if self.headers.get("Content-Length", "0") != "0":
                self.close_connection = True
            self._record(route == "/record")
            return
        try:
            size = int(self.headers.get("Content-Length", ""))
        except ValueError:
            size = -1
        if route != "/control" or not 0 <= size <= control.MAX_BODY:
            self.close_connection = True
            self._json(HTTPStatus.BAD_REQUEST, {"error": "POST /control, a small form body"})
            return
        try:
            pairs = parse_qsl(self.rfile.read(size).decode("utf-8"), keep_blank_values=True,
                              max_num_fields=64)
            self._json(HTTPStatus.OK, self._state(self.server.steering.change(pairs)))
        except control.NeedsRestart as exc:
            self._json(HTTPStatus.CONFLICT, {"error": str(exc)})
        except (UsageError, ValueError, UnicodeDecodeError) as exc:
            self._json(HTTPStatus.BAD_REQUEST, {"error": str(exc)})
        except OSError as exc:
            self._json(HTTPStatus.BAD_GATEWAY, {"error": f"ffmpeg did not take it: {exc}"})


    def _record(self, start: bool) -> None:
        recorder = self.server.feed.recorder
        try:
            if recorder is None:
                raise UsageError("this page does not record")
            if start:
                path = recorder.start()
                self._json(HTTPStatus.OK, {"recording": path.name, "folder": str(path.parent)})
            else:
                self._json(HTTPStatus.OK, recorder.stop())
        except record.Busy as exc:
            self._json(HTTPStatus.CONFLICT, {"error": str(exc)})
        except UsageError as exc:
            self._json(HTTPStatus.BAD_REQUEST, {"error": str(exc)})


def is_live(text: str) -> bool:
    """Whether ``ffmotion preview``'s input names a live source rather than a file."""
    from ffmotion.media.stream import url_scheme

    return text == "-" or text.startswith(("lavfi:", "v4l2:", "/dev/video", "avfoundation:",
                                           "dshow:")) or url_scheme(text) is not None


def serve_live(text: str, tools: runner.Tools, host: str = "127.0.0.1", port: int = 0,
               open_browser: bool = True, offset: str = "2") -> None:
    """Run the live preview of ``text`` until Ctrl-C; the page's URL goes to stdout."""
    from ffmotion.media.live import live_source

    place = runtime.folder()
    frames = place / f"frames-{os.getpid()}-{secrets.token_hex(8)}.sock"
    source = live_source(text)
    request = resolve.request(text, f"unix://{frames}", offset, source=source,
                              format="mpjpeg", audio=False)
    plan = replace(prepare(request, tools), beside=True)  # the original left of the motion
    steering = control.make_steering(plan, tools, place)
    feed = Feed(frames)
    inputs = tuple(Path(name) for name in [text] if Path(name).is_file())
    feed.recorder = record.Recorder(tools.ffmpeg, plan.info.fps, Path.cwd(), inputs)
    server: Optional[LiveServer] = None
    try:
        try:
            server = LiveServer((host, port), steering, feed, secrets.token_urlsafe(24), text)
        except OSError as exc:
            raise UsageError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
        for thread in (threading.Thread(target=feed.serve, daemon=True, name="ffmotion-feed"),
                       threading.Thread(target=server.serve_forever, daemon=True,
                                        name="ffmotion-live")):
            thread.start()
        print(server.url, flush=True)
        print(f"ffmotion preview: {text}: live, offset {plan.k}; Ctrl-C stops", file=sys.stderr)
        if open_browser:
            with contextlib.suppress(Exception):
                webbrowser.open(server.url)
        control.run(steering, tools)
    finally:  # each step whatever the one before did (a second Ctrl-C included)
        try:
            steering.finish()
            if server is not None:
                server.shutdown()
                server.server_close()
            if feed.recorder is not None and feed.recorder.recording:
                saved = feed.recorder.stop()  # the frames so far, finalized
                print(f"ffmotion preview: recorded {saved['saved']}", file=sys.stderr)
        finally:
            feed.close()
            runtime.remove(control.socket_path(steering))


# The page's frame path: the MJPEG stream read by fetch(), each JPEG decoded off the main
# thread (createImageBitmap) and drawn on the canvas; newest only: a frame that arrives while
# one decodes replaces the one waiting (memory: the frame in decode and one waiting).
# `?view=img` shows the same stream in an <img> instead (measured against it: docs/live.md).
FRAMES_JS = r"""
const picture = document.getElementById("live");
window.framesShown = 0;
function showImg() {
  const img = document.createElement("img");
  img.id = "live"; img.alt = picture.getAttribute("aria-label");
  img.src = "/frames.mjpeg?t=" + token;
  picture.replaceWith(img);
}
function showFrames() {
  const g = picture.getContext("2d");
  const waiting = [];  // in order; a page held up (a busy machine) catches up, up to 8 behind
  let busy = false;
  const draw = async () => {
    busy = true;
    while (waiting.length) {
      const blob = waiting.shift();
      try {
        const bitmap = await createImageBitmap(blob);
        if (picture.width !== bitmap.width || picture.height !== bitmap.height) {
          picture.width = bitmap.width; picture.height = bitmap.height;
        }
        g.drawImage(bitmap, 0, 0);
        bitmap.close();
        window.framesShown++;
      } catch (e) { /* a broken frame: the next one */ }
    }
    busy = false;
  };
  const take = (blob) => {
    waiting.push(blob);
    if (waiting.length > 8) waiting.shift();  // further behind: the oldest go
    if (!busy) draw();
  };
  const read = async () => {
    for (;;) {  // again after the stream ends (the server stopping): every second
      try {
        const answer = await fetch("/frames.mjpeg?t=" + token, {cache: "no-store"});
        if (answer.ok) await parts(answer.body.getReader(), take);
      } catch (e) { /* gone: try again */ }
      await new Promise((ok) => setTimeout(ok, 1000));
    }
  };
  read();
}
async function parts(reader, take) {  // multipart/x-mixed-replace, parts with Content-Length
  let buffer = new Uint8Array(1 << 20), used = 0;
  const text = new TextDecoder("latin1");
  for (;;) {
    const {done, value} = await reader.read();
    if (done) return;
    if (used + value.length > buffer.length) {
      const bigger = new Uint8Array(Math.max(2 * buffer.length, used + value.length));
      bigger.set(buffer.subarray(0, used)); buffer = bigger;
    }
    buffer.set(value, used); used += value.length;
    let start = 0;
    for (;;) {
      let end = -1;
      for (let i = start; i + 3 < used; i++) {
        if (buffer[i] === 13 && buffer[i + 1] === 10 && buffer[i + 2] === 13
            && buffer[i + 3] === 10) { end = i; break; }
      }
      if (end < 0) break;
      const size = /content-length:\s*(\d+)/i.exec(text.decode(buffer.subarray(start, end)));
      if (!size) throw new Error("a part without Content-Length");
      const from = end + 4, to = from + Number(size[1]);
      if (used < to + 2) break;
      take(new Blob([buffer.slice(from, to)], {type: "image/jpeg"}));
      start = to + 2;
    }
    buffer.copyWithin(0, start, used); used -= start;
  }
}
if (new URLSearchParams(location.search).get("view") === "img") showImg(); else showFrames();
"""

PRESET_OPTIONS = "".join(f'<option value="{name}">{name}</option>' for name in PRESETS)
PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>ffmotion live</title>
<style>body{font:14px sans-serif;margin:1em;background:#222;color:#eee}
#live{max-width:100%;background:#000}label{margin-right:1em}#status{color:#9c9}</style>
</head><body>
<h1>ffmotion live</h1>
<canvas id="live" width="0" height="0"
 aria-label="the camera's picture (left) and its motion (right)"></canvas>
<form id="controls">
<label>gain <input id="gain" name="gain" type="number" min="0.5" max="100" step="0.5"
 value="1"></label>
<label>blur <input id="blur" name="blur" type="number" min="0" max="64" step="1" value="0"></label>
<label>offset <input id="offset" name="offset" type="number" min="1" max="300" step="1"
 value="__OFFSET__"></label>
<button type="button" id="freeze">freeze</button>
<button type="button" id="record">record</button>
<label>look <select id="look" name="look"><option value="">(keep)</option>__PRESETS__</select>
</label>
</form>
<p id="status"></p>
<p id="recording"></p>
<p>the same from a terminal: <code id="command"></code></p>
<script>
const token = "__TOKEN__";
__FRAMES__
async function send(name, value) {
  const body = new URLSearchParams([[name, value]]);
  const r = await fetch("/control?t=" + token, {method: "POST", body});
  const a = await r.json();
  document.getElementById("status").textContent =
    r.ok ? a.applied + ": " + a.look + ", offset " + a.offset : a.error;
  if (r.ok) document.getElementById("command").textContent = a.command;
}
fetch("/state?t=" + token).then(r => r.json()).then(a => {
  document.getElementById("command").textContent = a.command;
});
let recording = false;
document.getElementById("record").addEventListener("click", async () => {
  const button = document.getElementById("record");
  button.disabled = true;
  const r = await fetch((recording ? "/record/stop?t=" : "/record?t=") + token,
                        {method: "POST"});
  const a = await r.json();
  const line = document.getElementById("recording");
  if (r.ok && !recording) {
    recording = true; button.textContent = "stop";
    line.textContent = "recording to " + a.recording + " (in " + a.folder + ")";
  } else if (r.ok) {
    recording = false; button.textContent = "record";
    line.textContent = "saved " + a.saved + ": " + a.frames + " frames";
  } else line.textContent = a.error;
  button.disabled = false;
});
document.getElementById("freeze").addEventListener("click", () => send("freeze", "now"));
for (const el of document.querySelectorAll("#controls input, #controls select")) {
  el.addEventListener("change", () => { if (el.value !== "") send(el.name, el.value); });
}
</script></body></html>
""".replace("__PRESETS__", PRESET_OPTIONS).replace("__FRAMES__", FRAMES_JS)


__all__ = ["Feed", "LiveServer", "is_live", "serve_live"]
