"""Steering a running live job: ``ffmotion live ... --control 127.0.0.1:PORT`` and
``ffmotion control 127.0.0.1:PORT gain=4 blur=2``.

*The channel.* The job listens on a loopback address only (127.0.0.0/8; anything else is
refused before a socket is opened) with a small HTTP server (:class:`ControlServer`):
``POST /control`` with a form body ``gain=4&blur=2`` and ``Authorization: Bearer TOKEN``;
``GET /state`` says the look now. The token (``secrets.token_urlsafe``, compared in constant
time) and the ``Host`` header (the address itself, or ``localhost:PORT``: a web page on
another name, DNS rebinding, gets nothing) are checked before the body is read; a body is
at most 4 KiB. The token is written to ``control-PORT.token`` in the user's private
runtime folder (:mod:`ffmotion.run.runtime`: mode 0600 in a 0700 folder), where
``ffmotion control`` finds it; ``--token`` gives it by hand.

*Behind it.* ffmpeg's ``zmq`` filter takes commands without any authentication, so it never
listens on a network port: its socket is an ``ipc://`` path in the same private folder (a
random name; the folder's 0700 mode keeps other users from connecting). Only this process
talks to it (:mod:`ffmotion.run.zmtp`), with the commands :func:`ffmotion.graph.steer.commands`
computes: the changes a running graph can make land on one frame, with no restart. A change
of the graph's shape (the offset, the mode, a look preset...) is answered 409 with what to
restart.
"""
from __future__ import annotations

import contextlib
import hmac
import ipaddress
import json
import os
import secrets
import threading
import time
from dataclasses import replace
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable, Iterator, Optional
from urllib.parse import parse_qsl, urlencode

from ffmotion import graph
from ffmotion.core.errors import Interrupted, UsageError, field
from ffmotion.core.looks import FIELDS, Look, LookField
from ffmotion.core.looks import resolve as resolve_look
from ffmotion.core.request import MotionRequest
from ffmotion.core.units import FramesOrTime
from ffmotion.graph import handover, steer
from ffmotion.media.stream import HELD_NAME, STDIN_NAME
from ffmotion.pipeline import controller
from ffmotion.pipeline.streams import StreamRun
from ffmotion.run import held, runner, runtime, signals, zmtp

MAX_BODY = 4096
ZMQ_TIMEOUT = 5.0  # seconds for ffmpeg to answer (it answers when its next frame passes)
_KEYS: dict[str, LookField] = {}
for _spec in FIELDS:
    for _name in {_spec.name, _spec.key, _spec.query}:
        _KEYS[_name] = _spec


class NeedsRestart(UsageError):
    """The change alters the graph's shape: ffmpeg must start again with a new graph."""


def parse_address(text: str) -> tuple[str, int]:
    """``HOST:PORT`` (or ``:PORT``, ``PORT``) on a loopback address; PORT 0: any free one."""
    host, sep, port_text = text.rpartition(":")
    host = host.strip("[]") or "127.0.0.1"
    try:
        port = int(port_text)
        address = ipaddress.ip_address("127.0.0.1" if host == "localhost" else host)
    except ValueError:
        raise UsageError(f"{field('control')} takes HOST:PORT, e.g. 127.0.0.1:5555, not "
                         f"{text!r}") from None
    if not 0 <= port <= 65535:
        raise UsageError(f"{field('control')}: port {port} is not 0 to 65535")
    if address.version != 4 or not address.is_loopback:
        raise UsageError(f"{field('control')} listens on this machine only (127.0.0.1), not "
                         f"on {host}: steer from elsewhere through an SSH tunnel")
    return ("127.0.0.1" if host == "localhost" else host), port


def token_path(port: int, place: Optional[Path] = None) -> Path:
    """Where the job listening on ``port`` keeps its token."""
    return (place or runtime.folder()) / f"control-{port}.token"


FREEZE_NOW = "now"


def parse_changes(pairs: list[tuple[str, str]]) -> tuple[Optional[str], dict[str, str],
                                                         Optional[str]]:
    """``key=value`` pairs -> (look preset or None, look field overrides, offset or None).
    ``freeze=now`` (take the next frame as the reference) is the offset ``freeze``."""
    preset: Optional[str] = None
    offset: Optional[str] = None
    fields: dict[str, str] = {}
    for key, value in pairs:
        name = key.strip().lower().lstrip("-")
        if name == "look":
            preset = value
        elif name in ("offset", "k"):
            offset = value
        elif name == "freeze":
            if value.strip().lower() != FREEZE_NOW:
                raise UsageError("freeze takes now (the next frame becomes the reference)")
            offset = "freeze"
        elif name in _KEYS:
            fields[_KEYS[name].name] = value
        else:
            raise UsageError(f"unknown setting {key!r}: give offset, look or a look setting "
                             f"({', '.join(spec.key for spec in FIELDS)})")
    return preset, fields, offset


def reopenable(plan: graph.Plan) -> bool:
    """Whether a new ffmpeg can open the input again: not stdin, whose bytes the first ffmpeg
    read up to a point no new one can start from."""
    return plan.info.input.name not in (STDIN_NAME, HELD_NAME)


def holds(plan: graph.Plan) -> bool:
    """Whether the run keeps one output ffmpeg across restarts (:mod:`ffmotion.graph.handover`):
    a steered run whose output can be held, and whose input can be opened again or is read
    once by a capture (stdin too)."""
    if handover.why_not_held(plan) is not None:
        return False
    return reopenable(plan) or (plan.info.input.name == STDIN_NAME
                                and handover.capture_pix_fmt(plan) is not None)


def captures(plan: graph.Plan) -> bool:
    """Whether a steered run not held (the page's feed) reads stdin through a capture that
    lives for the whole job (:mod:`ffmotion.graph.handover`), so that its graph can restart."""
    return (plan.steer is not None and plan.info.input.name == STDIN_NAME
            and not holds(plan) and handover.capture_pix_fmt(plan) is not None)


def restartable(plan: graph.Plan) -> bool:
    """Whether a new ffmpeg can take over the output: one held across restarts
    (:func:`holds`); else, written by each ffmpeg itself, a stream sent to a URL, or MPEG-TS
    on stdout (a reader takes a new TS start as a discontinuity); a file or another stdout
    muxer would get a second header. And the input can be opened again (:func:`reopenable`)."""
    if holds(plan):
        return True
    if not (reopenable(plan) or captures(plan)):
        return False
    sink = plan.request.output.sink if plan.request.output is not None else None
    return sink is not None and (sink.kind == "url" or (
        sink.kind == "stdout" and sink.format == "mpegts"))


class Steering:
    """A running steerable plan's look, changed through its ffmpeg's ``zmq`` socket, or by
    a new ffmpeg (:meth:`change`); ``planner`` plans a changed request on the same input."""

    def __init__(self, plan: graph.Plan,
                 planner: Optional[Callable[[MotionRequest], graph.Plan]] = None) -> None:
        if plan.steer is None:
            raise ValueError("the plan is not steerable")
        self.plan = plan
        self.look: Look = plan.motion.look
        self.lock = threading.Lock()  # the state: plan, look, stopper, output
        self.changing = threading.Lock()  # one change at a time, a zmq exchange included
        self.changes = 0
        self.restarts = 0
        self.planner = planner
        self.stopper = runner.Stopper()
        self.finished = False
        self.output: Optional[held.HeldOutput] = None  # the output a restart holds (run)
        self.first: Optional[graph.Plan] = None  # the plan the held output was set up for

    def finish(self) -> None:
        """End the run for good (from another thread): ffmpeg finishes, no restart."""
        with self.lock:
            self.finished = True
            self.stopper.stop()

    def state(self) -> dict[str, Any]:
        return {"look": self.look.describe(), "flags": self.look.flags(), "offset": self.plan.k,
                "mode": self.plan.mode, "changes": self.changes, "restarts": self.restarts}

    def change(self, pairs: list[tuple[str, str]]) -> dict[str, Any]:
        """Apply ``pairs`` to the running graph, or restart it with a new one (a stream
        output only); :class:`NeedsRestart` when neither can be done."""
        preset, fields, offset = parse_changes(pairs)
        # one change at a time; the state lock is held only briefly, never while ffmpeg's
        # socket is awaited: the run loop takes it to start the graph a restart asked for
        with self.changing:
            with self.lock:
                new = resolve_look(preset, **fields) if preset else self.look.replaced(**fields)
                k, mode = self.plan.k, self.plan.mode
                if offset == "freeze":
                    k, mode = 0, "freeze"
                elif offset is not None:
                    k = FramesOrTime.offset(offset.strip(), "offset").to_frames(
                        self.plan.info.fps)
                    mode = "offset"
                sent = steer.commands(self.look, new, self.plan.working_pix_fmt)
                if sent is None or (k, mode) != (self.plan.k, self.plan.mode):
                    return self._restart(new, offset if (k, mode) != (self.plan.k,
                                                                       self.plan.mode) else None)
                address = self.plan.steer
            if sent:
                assert address is not None
                answers = _request(address, sent)
                failed = [(m, a) for m, a in zip(sent, answers) if not a.startswith("0 ")]
                if failed:
                    raise OSError(f"ffmpeg refused {failed[0][0]!r}: {failed[0][1]}")
            with self.lock:
                self.look = new
                self.changes += 1
                return {"applied": "running", "commands": len(sent), **self.state()}

    def _restart(self, look: Look, offset: Optional[str]) -> dict[str, Any]:
        what = ("the offset is the graph's shape (trim)" if offset is not None else
                f"{look.describe()} changes the graph's shape (mode, preset, denoise, gray, "
                "colour offsets, or a strength from or to 0)")
        if self.plan.out_frames:
            raise NeedsRestart(f"{what}: it needs a new ffmpeg, and this job reads a counted "
                               f"part of the stream ({field('duration')}/{field('end')}), "
                               "which a new one would count again: stop the job and start it "
                               "with the new settings")
        if self.planner is None or not restartable(self.plan):
            raise NeedsRestart(f"{what}: it needs a new ffmpeg, and this job's input (stdin) or "
                               "output (a file, or stdout other than mpegts) would not survive "
                               "one: stop the job and start it with the new settings")
        motion: dict[str, Any] = {"look": look}
        if offset == "freeze":  # the new ffmpeg's first frame: the frame after this request
            motion.update(mode="freeze", offset=FramesOrTime.offset(0, "freeze"))
        elif offset is not None:
            motion.update(mode="offset", offset=FramesOrTime.offset(offset.strip(), "offset"))
        # a socket of its own: a change sent while the old ffmpeg ends must reach the new one
        plan = replace(self.planner(self.plan.request.with_motion(**motion)),
                       steer=fresh_address(address_path(self.plan.steer).parent),
                       beside=self.plan.beside)
        if self.output is not None and self.first is not None:
            why = handover.why_not_held_after(plan, self.first)
            if why is not None:
                raise NeedsRestart(f"{what}, and {why}: stop the job and start it with the new "
                                   "settings")
        self.plan, self.look = plan, look
        self.restarts += 1
        if self.output is not None:  # the sink repeats the last frame until the new graph's
            self.output.hold()  # first
        # the run loop (run) starts the new plan when this one ends: at once where nothing
        # waits for the old one's last frames (a held output drops them; the page shows
        # frames as they come, each whole)
        sink = self.plan.output.sink
        self.stopper.stop(now=self.output is not None or (
            sink is not None and sink.format == "mpjpeg"))
        return {"applied": "restart", "commands": 0, **self.state()}


def address_path(address: Optional[str]) -> Path:
    """The socket file of a graph's ``ipc://`` address."""
    assert address is not None and address.startswith("ipc://"), address
    return Path(address.removeprefix("ipc://"))


def fresh_address(place: Path) -> str:
    """A new ``ipc://`` address in the private folder ``place``."""
    return f"ipc://{place / f'zmq-{os.getpid()}-{secrets.token_hex(8)}.sock'}"


def _ended(steering: Steering, plan: graph.Plan) -> None:
    """A graph replaced by a restart has ended: its socket goes (a killed ffmpeg leaves it)."""
    with steering.lock:
        current = steering.plan.steer
    if plan.steer is not None and plan.steer != current:
        runtime.remove(address_path(plan.steer))


def run(steering: Steering, tools: runner.Tools, progress: bool = False) -> StreamRun:
    """Run the steered plan, and each plan a restart put in its place, until the stream ends
    or is stopped; the frames are those of every run together."""
    from ffmotion.pipeline import streams

    if holds(steering.plan) and steering.planner is not None:
        return _run_held(steering, tools, progress)
    if captures(steering.plan) and steering.planner is not None:
        return _run_captured(steering, tools, progress)
    frames = 0
    while True:
        with steering.lock:
            plan, stopper = steering.plan, steering.stopper
        done = streams.run_plan(plan, tools, progress=progress, stopper=stopper)
        _ended(steering, plan)
        frames += done.frames
        with steering.lock:
            if done.stopped != "restart" or steering.finished:
                return replace(done, frames=frames)
            steering.stopper = runner.Stopper()


def _run_held(steering: Steering, tools: runner.Tools, progress: bool) -> StreamRun:
    """:func:`run` with one output ffmpeg for the whole job, and where the source allows it
    one capture ffmpeg too (:mod:`ffmotion.graph.handover`)."""
    from ffmotion.pipeline import streams

    first = steering.plan
    sink = first.output.sink

    def through(dst: Optional[Path]) -> tuple[int, Optional[str]]:
        capture = None
        if handover.capture_pix_fmt(first) is not None:
            capture = held.HeldInput(handover.capture_command(first, tools.ffmpeg),
                                     keep_frames(first), handover.capture_pix_fmt(first) or "",
                                     stdin=first.info.input.name == STDIN_NAME)
        try:
            output = held.HeldOutput(handover.sink_command(first, tools.ffmpeg, dst,
                                                           overwrite=True),
                                     to_stdout=sink is not None and sink.kind == "stdout",
                                     on_failure=steering.finish)
        except BaseException:
            if capture is not None:
                capture.close()
            raise
        try:
            with steering.lock:
                steering.output, steering.first = output, first
            stopped = _graphs(steering, tools, output, capture, progress)
        except BaseException:
            _close(steering, capture, output, quietly=True)  # the first error is the one told
            raise
        _close(steering, capture, output)
        if stopped is not None and output.sent == 0:  # as one ffmpeg stopped so early says
            raise Interrupted("interrupted before the first frame was written: nothing written")
        with steering.lock:
            last = steering.plan
        streams.check_frames(last, output.written, None)
        return output.written, stopped

    if sink is None:  # a file: written under a temporary name, moved into place at the end
        with runner.atomic_output(first.output.path, first.output.overwrite) as tmp:
            frames, stopped = through(tmp)
        return StreamRun(first.output.path, frames, stopped)
    if sink.kind == "stdout":
        streams.check_stdout()
    frames, stopped = through(None)
    return StreamRun(Path(sink.shown), frames, stopped)


def _run_captured(steering: Steering, tools: runner.Tools, progress: bool) -> StreamRun:
    """:func:`run` for a graph that writes its own output (the page's feed) from stdin read
    once by a capture: each graph gets the K+1 frames up to now first, then the live ones."""
    from ffmotion.pipeline import streams

    first = steering.plan
    capture = held.HeldInput(handover.capture_command(first, tools.ffmpeg), keep_frames(first),
                             handover.capture_pix_fmt(first) or "", stdin=True)
    frames = 0
    stopped: Optional[str] = None
    try:
        while True:
            with steering.lock:
                plan, stopper = steering.plan, steering.stopper
            try:
                feed = capture.attach(_primed(plan, steering.restarts))
                try:
                    done = streams.run_plan(handover.piped_plan(plan, capture.pix_fmt), tools,
                                            progress=progress, stopper=stopper, stdin=feed)
                finally:
                    os.close(feed)
            except KeyboardInterrupt:  # between two graphs: the job stops as in one
                stopped = signals.received() or "SIGINT"
                break
            _ended(steering, plan)
            frames += done.frames
            with steering.lock:
                if done.stopped != "restart" or steering.finished:
                    stopped = None if done.stopped == "restart" else done.stopped
                    break
                steering.stopper = runner.Stopper()
    finally:
        capture.close()
    return StreamRun(Path(first.output.sink.shown if first.output.sink else first.output.path),
                     frames, stopped)


def _primed(plan: graph.Plan, restarts: int) -> Optional[int]:
    """The frames before now a graph is fed first: the first graph, every frame since the
    camera's first (as one ffmpeg would read them); a restart's, K+1 (frame i needs frame
    i+K, so its first frame is out at once), none in freeze mode (the next frame is the
    reference)."""
    if not restarts:
        return None
    k = max(plan.channel_ks) if plan.channel_ks else plan.k
    return k + 1 if plan.mode == "offset" else 0


def _graphs(steering: Steering, tools: runner.Tools, output: held.HeldOutput,
            capture: Optional[held.HeldInput], progress: bool) -> Optional[str]:
    """The graph ffmpegs of a held run, one after another, until one ends for good; the
    signal that stopped the job (None: the stream ended). The frames are checked as a whole
    afterwards: a graph started with the frames up to now blends from its first frame."""
    while True:
        with steering.lock:
            plan, stopper = steering.plan, steering.stopper
        try:
            done = _source_run(plan, tools, output, stopper, progress, capture,
                               steering.restarts)
        except KeyboardInterrupt:  # between two graphs: the job stops as in one
            return signals.received() or "SIGINT"
        _ended(steering, plan)
        with steering.lock:
            if done.stopped != "restart" or steering.finished:
                return None if done.stopped == "restart" else done.stopped
            steering.stopper = runner.Stopper()


def _close(steering: Steering, capture: Optional[held.HeldInput], output: held.HeldOutput,
           quietly: bool = False) -> None:
    """End the capture, then the output (finished; ``quietly``: its failure not raised)."""
    with steering.lock:
        steering.output = None
    try:
        if capture is not None:
            capture.close()
    finally:
        if quietly:
            with contextlib.suppress(Exception):
                output.close(quietly=True)
        else:
            output.close()


KEEP_SECONDS = 2  # the frames a capture keeps for the next graph: offsets up to 2 s start at once


def keep_frames(plan: graph.Plan) -> int:
    """How many of the capture's last frames to keep: enough for the offset now and any up to
    :data:`KEEP_SECONDS` (the capture bounds them by bytes too, :data:`held.KEEP_BYTES`)."""
    return max(plan.k + 1, int(plan.info.fps * KEEP_SECONDS) + 1)


def _source_run(plan: graph.Plan, tools: runner.Tools, output: held.HeldOutput,
                stopper: runner.Stopper, progress: bool,
                capture: Optional[held.HeldInput], restarts: int = 0) -> runner.Ran:
    """One graph ffmpeg of a held run: fed by ``capture`` (the K frames before "now" first)
    or reading the source itself; its frames passed to ``output`` by a thread."""
    read_end, write_end = os.pipe()
    failed: list[BaseException] = []

    def carry() -> None:
        with os.fdopen(read_end, "rb", buffering=1 << 20) as frames:
            try:
                output.take(frames)
            except Exception as exc:  # noqa: BLE001 (raised in the job's thread below)
                failed.append(exc)
                stopper.stop()
            with contextlib.suppress(OSError, ValueError):
                while frames.read(1 << 20):  # the rest, so the source never blocks
                    pass

    reader = threading.Thread(target=carry, name="ffmotion-held-source", daemon=True)
    reader.start()
    feed: Optional[int] = None
    try:
        if capture is not None:
            feed = capture.attach(_primed(plan, restarts))
        argv = handover.source_command(plan, tools.ffmpeg, piped=feed is not None,
                                       pix_fmt=capture.pix_fmt if capture is not None else None)
        ran = runner.run_ffmpeg(argv, progress=progress, stdin=feed, stdout=write_end,
                                stoppable=True, stopper=stopper, passing=True)
    finally:
        os.close(write_end)
        if feed is not None:
            os.close(feed)
        reader.join(timeout=held.FINISH_WAIT)
        if reader.is_alive():  # blocked writing to an output that takes nothing
            output.unstick()
            reader.join()
    if failed:
        raise failed[0]
    if capture is not None and ran.stopped is None:
        trouble = capture.failure()
        if trouble is not None:
            raise trouble
    return ran


def commands(plan: graph.Plan, ffmpeg: str) -> tuple[list[list[str]], str]:
    """The steered run's ffmpeg commands, and how a shell joins them: two joined by a pipe
    for a held output (the source, then the sink), else the one command."""
    if holds(plan):
        last = [handover.sink_command(plan, ffmpeg)]
        if handover.capture_pix_fmt(plan) is not None:
            return [handover.capture_command(plan, ffmpeg),
                    handover.source_command(plan, ffmpeg, piped=True), *last], " | "
        return [handover.source_command(plan, ffmpeg), *last], " | "
    return controller.commands(plan, ffmpeg), " && "


def _request(address: str, messages: list[str]) -> list[str]:
    """The zmq exchange, waiting for ffmpeg's socket while ffmpeg starts, and again where the
    socket closed before answering (ffmpeg configuring its graph once more): every command
    sets a value, so one sent twice does what it does once."""
    deadline = time.monotonic() + ZMQ_TIMEOUT
    while True:
        try:
            return zmtp.request(address, messages, timeout=ZMQ_TIMEOUT)
        except (FileNotFoundError, ConnectionRefusedError, ConnectionResetError,
                BrokenPipeError, zmtp.ZmtpClosed):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


class ControlServer(ThreadingHTTPServer):
    """The job's control listener (see the module docstring)."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], steering: Steering, token: str) -> None:
        self.steering = steering
        self.token = token
        super().__init__(address, _Handler)

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    def hosts(self) -> tuple[str, ...]:
        host = str(self.server_address[0])
        return (f"{host}:{self.port}", f"localhost:{self.port}")


class _Handler(BaseHTTPRequestHandler):
    server: ControlServer
    protocol_version = "HTTP/1.1"
    timeout = 10.0  # any one read or write: a client that stops midway holds nothing long

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (the base's name)
        return  # no request log (a header could hold the token)

    def _answer(self, status: HTTPStatus, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(data)

    def _admitted(self) -> bool:
        """Token and Host, from the headers alone."""
        given = self.headers.get("Authorization", "")
        scheme, _, token = given.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(
                token.strip().encode("utf-8", "replace"), self.server.token.encode()):
            self.close_connection = True
            self._answer(HTTPStatus.FORBIDDEN, {"error": "missing or wrong token"})
            return False
        hosts = self.headers.get_all("Host") or []
        if len(hosts) != 1 or hosts[0] not in self.server.hosts():
            self.close_connection = True
            self._answer(HTTPStatus.FORBIDDEN, {"error": "wrong Host header: "
                                                f"{self.server.hosts()[0]} only"})
            return False
        return True

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        if not self._admitted():
            return
        if self.path != "/state":
            self._answer(HTTPStatus.NOT_FOUND, {"error": "GET /state or POST /control"})
            return
        self._answer(HTTPStatus.OK, self.server.steering.state())

    def do_POST(self) -> None:  # noqa: N802
        if not self._admitted():
            return
        try:
            size = int(self.headers.get("Content-Length", ""))
        except ValueError:
            size = -1
        if self.path != "/control" or not 0 <= size <= MAX_BODY:
            self.close_connection = True
            self._answer(HTTPStatus.BAD_REQUEST, {"error": f"POST /control with a form body "
                                                  f"of at most {MAX_BODY} bytes"})
            return
        try:
            pairs = parse_qsl(self.rfile.read(size).decode("utf-8"), keep_blank_values=True,
                              strict_parsing=size > 0, max_num_fields=64)
            self._answer(HTTPStatus.OK, self.server.steering.change(pairs))
        except NeedsRestart as exc:
            self._answer(HTTPStatus.CONFLICT, {"error": str(exc), "applied": "restart needed"})
        except (UsageError, ValueError, UnicodeDecodeError) as exc:
            self._answer(HTTPStatus.BAD_REQUEST, {"error": str(exc)})
        except OSError as exc:
            self._answer(HTTPStatus.BAD_GATEWAY, {"error": f"ffmpeg did not take the change: "
                                                  f"{exc}"})


def make_steering(plan: graph.Plan, tools: runner.Tools, place: Path) -> Steering:
    """``plan`` made steerable on a fresh ``ipc://`` socket in ``place`` (a private folder),
    restarting with ``tools``; :func:`socket_path` names the socket to remove afterwards."""
    runtime.remove_stale(place)
    info = plan.info
    return Steering(replace(plan, steer=fresh_address(place)),
                    lambda request: controller.plan_for(request, info, tools))


def socket_path(steering: Steering) -> Path:
    """The socket of the graph running now (each restart's graph has its own; those of the
    graphs before are removed when they end)."""
    return address_path(steering.plan.steer)


@contextlib.contextmanager
def steered(plan: graph.Plan, control: str, tools: Optional[runner.Tools] = None,
            ) -> Iterator[tuple[Steering, ControlServer]]:
    """``plan`` made steerable, with its control listener running for the block (``tools``:
    what a restart plans with; None: no restart)."""
    address = parse_address(control)
    if tools is not None and not runner.caps(tools, with_filters=True).has_filter("zmq"):
        raise UsageError(f"{field('control')}: this ffmpeg ({tools.ffmpeg}) has no zmq filter, "
                         "which steering needs: the bundled ffmpeg has it (leave out "
                         f"{field('ffmpeg')}), or an ffmpeg built with --enable-libzmq")
    place = runtime.folder()
    runtime.remove_stale(place)
    plan = replace(plan, steer=fresh_address(place))
    try:
        planner = None
        if tools is not None:
            info = plan.info
            planner = lambda request: controller.plan_for(request, info, tools)  # noqa: E731
        steering = Steering(plan, planner)
        server = ControlServer(address, steering, secrets.token_urlsafe(24))
    except OSError as exc:
        raise UsageError(f"{field('control')} {control}: cannot listen there: "
                         f"{exc.strerror or exc}") from None
    token_file = token_path(server.port, place)
    runtime.remove(token_file)  # a killed job's: the port is ours now
    runtime.write_private(token_file, server.token + "\n")
    thread = threading.Thread(target=server.serve_forever, name="ffmotion-control", daemon=True)
    thread.start()
    try:
        yield steering, server
    finally:
        server.shutdown()
        server.server_close()
        runtime.remove(token_file)
        runtime.remove(address_path(steering.plan.steer))


def send(control: str, pairs: list[tuple[str, str]], token: Optional[str] = None,
         timeout: float = 10.0) -> dict[str, Any]:
    """Send ``pairs`` to the job listening at ``control``; its answer (an error: one line)."""
    import http.client

    host, port = parse_address(control)
    if token is None:
        path = token_path(port)
        try:
            token = runtime.read_private(path).strip()
        except FileNotFoundError:
            raise UsageError(f"no job of yours listens at {host}:{port} (no {path}): start "
                             f"one with ffmotion live ... --control {host}:{port}, or give "
                             f"{field('token')}") from None
    connection = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        body = urlencode(pairs)
        connection.request("POST" if pairs else "GET", "/control" if pairs else "/state",
                           body=body if pairs else None,
                           headers={"Authorization": f"Bearer {token}",
                                    "Content-Type": "application/x-www-form-urlencoded"})
        response = connection.getresponse()
        answer = json.loads(response.read(65536) or b"{}")
    except (OSError, ValueError) as exc:
        raise UsageError(f"no answer from {host}:{port}: {exc}") from None
    finally:
        connection.close()
    if response.status != HTTPStatus.OK:
        raise UsageError(f"{host}:{port}: {answer.get('error', response.reason)}")
    return dict(answer)


__all__ = ["ControlServer", "NeedsRestart", "Steering", "parse_address", "parse_changes",
           "send", "steered", "token_path"]
