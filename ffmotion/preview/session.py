"""One previewed input: its settings, proxies, exact frames, energy timelines and renders.

Settings arrive as the page's query parameters and become a :class:`~ffmotion.core.request.MotionRequest`
through the same constructors the command line uses (:func:`ffmotion.pipeline.resolve.request` for a
render), so a setting the CLI refuses is refused here with the same message. No parameter
ever becomes a path: the render's file name is made here from the validated settings.
"""
from __future__ import annotations

import dataclasses
import hashlib
import logging
import os
import shlex
import shutil
import tempfile
import threading
import time
from collections import OrderedDict
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Generic, Hashable, Iterator, Mapping, Optional, TypeVar

from ffmotion import graph
from ffmotion.core import errors, looks
from ffmotion.core.errors import FfmotionError, UsageError
from ffmotion.core.looks import Look
from ffmotion.core.pixfmt import chroma_subsampling, plane_layout
from ffmotion.core.request import MotionRequest, SequenceRequest, StabilizeOptions
from ffmotion.core.units import FramesOrTime, format_fps
from ffmotion.graph import preview as preview_graph
from ffmotion.graph import proxy as frames
from ffmotion.media.info import MediaInfo
from ffmotion.pipeline import controller, explore, presets, resolve, stabilize
from ffmotion.preview import query as params
from ffmotion.run import runner

log = logging.getLogger("ffmotion")

DEFAULT_WIDTH = 1280
FRAME_CACHE = 64
FRAME_CACHE_BYTES = 256 * 2**20
# what one page can keep busy at once: a render, the energy pass, a proxy, a playback stream
# and two frames; past that a frame or a stream waits FFMPEG_WAIT seconds, then gets a 503
FFMPEG_LIMIT = 6
FFMPEG_WAIT = 30.0
RENDERS_RUNNING = 2
PLAN_CACHE = 128  # settings -> plan (one per slider position seen)
ATTACH_CACHE = 8  # stabilized ranges
ENERGY_CACHE = 16
STABILIZED_PROXIES = 4  # stabilized ranges' proxies on disk (the plain one is always kept)
# the preview's stabilize switch: tripod, as before. (The CLI's default, auto, decides after
# its analysis pass; the preview's plans are made before any pass runs.)
PREVIEW_STABILIZE = StabilizeOptions(smoothing=0)
ENERGY_QUIET_S = 1.0  # the energy pass starts after this long without frame requests
# the proxy holds every previewed frame raw: past this, a long input is previewed in part
PROXY_LIMIT = 4 * 2**30
LOOK_FIELDS = ("blend", "gain", "blur", "gray", "rgb_offsets", "trail", "overlay", "threshold",
               "threshold_edge", "threshold_width", "threshold_on", "glow", "glow_radius",
               "glow_mode", "denoise")


K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class Busy(FfmotionError):
    """Every ffmpeg slot of the session stayed taken: the server answers 503."""


class Bounded(Generic[K, V]):
    """A least-recently-used cache of at most ``limit`` entries (callers hold the lock)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.items: OrderedDict[K, V] = OrderedDict()

    def get(self, key: K) -> Optional[V]:
        value = self.items.get(key)
        if value is not None:
            self.items.move_to_end(key)
        return value

    def put(self, key: K, value: V, busy: Optional[Callable[[V], bool]] = None) -> list[V]:
        """Store ``value``; return what was evicted (the oldest entries, never one that
        ``busy`` says is in use: then the cache stays over its limit a while)."""
        self.items[key] = value
        self.items.move_to_end(key)
        evicted = []
        for old in list(self.items):
            if len(self.items) <= self.limit:
                break
            if old != key and (busy is None or not busy(self.items[old])):
                evicted.append(self.items.pop(old))
        return evicted

    def pop(self, key: K) -> Optional[V]:
        return self.items.pop(key, None)

    def __len__(self) -> int:
        return len(self.items)


@dataclass(frozen=True)
class Settings:
    """What the page asks for, validated."""

    mode: str  # "offset" | "freeze"
    offset: str  # as the user wrote it (frames or a duration)
    look: Look
    start: Optional[int]  # range in input frames (None: from the first / to the last)
    end: Optional[int]
    stabilize: bool

    @property
    def key(self) -> tuple[Any, ...]:
        return (self.mode, self.offset, self.look, self.start, self.end, self.stabilize)

    def option_args(self) -> dict[str, Any]:
        """Keyword arguments of :func:`ffmotion.pipeline.resolve.request`."""
        channels = self.look.rgb_offsets
        replaces = channels is not None and all(c.multiple is None for c in channels)
        given = None if replaces else self.offset  # rgb offsets in frames are the offsets
        return {
            "offset": given if self.mode == "offset" else None,
            "freeze": given if self.mode == "freeze" else None,
            "look": self.look,
            "start": f"{self.start}f" if self.start else None,
            "end": f"{self.end}f" if self.end is not None else None,
            # what the flags shown say (cli_flags): the preview's tripod, not auto
            "stabilize": PREVIEW_STABILIZE if self.stabilize else False,
        }

    def cli_flags(self) -> list[str]:
        """The ``ffmotion`` flags that give these settings."""
        args = self.option_args()
        out: list[str] = []
        if args["offset"] is not None:
            out += ["--offset", args["offset"]]
        if args["freeze"] is not None:
            out += ["--freeze", args["freeze"]]
        preset = next((p.name for p in looks.PRESETS.values()
                       if p.look == self.look and p.name != "classic"), None)
        out += ["--look", preset] if preset else self.look.flags()
        if args["start"]:
            out += ["--start", args["start"]]
        if args["end"]:
            out += ["--end", args["end"]]
        if self.stabilize:  # the preview's tripod (a bare --stabilize is auto)
            out += ["--stabilize", "--stabilize-smoothing", str(PREVIEW_STABILIZE.smoothing)]
        return out


def _flag(query: Mapping[str, str], name: str) -> bool:
    return query.get(name, "0") in ("1", "true", "on")


def look_values(query: Mapping[str, str]) -> dict[str, Any]:
    """The look fields the page's parameters give (by the look's field table): words and
    gains as text, whole numbers and strengths read by the page's rules, switches on or off
    (an empty or absent value: the field's default)."""
    values: dict[str, Any] = {}
    for spec in looks.FIELDS:
        if spec.kind == "switch":
            values[spec.name] = _flag(query, spec.query)
        elif params.look_kind(spec) == "text" and query.get(spec.query):
            values[spec.name] = query[spec.query]  # Look checks the word or the number
    for kind, read in (("number", params.decimal), ("frame", params.frame_number)):
        for spec in looks.FIELDS:
            if params.look_kind(spec) == kind:
                values[spec.name] = read(query, spec.query, errors.field(spec.name))
    return values


def parse_settings(given: Mapping[str, str]) -> Settings:
    """Settings from the page's parameters (read by :func:`ffmotion.preview.query.parse`);
    :class:`UsageError` with the CLI's message."""
    query = params.parse(given.items())
    mode = query.get("mode") or "offset"
    if mode not in ("offset", "freeze"):
        raise UsageError(f"mode must be offset or freeze, not {mode!r}")
    offset = query.get("offset") or "1"
    FramesOrTime.offset(offset)
    look = Look.parse(**look_values(query))
    return Settings(mode, offset, look, params.frame_number(query, "start", errors.field("start")),
                    params.frame_number(query, "end", errors.field("end")), _flag(query, "stab"))


# the plan the session's sizes come from: the output's size depends on the input and the
# output's kind only, and freeze on frame 0 is a plan any input with a frame has
SIZE_SETTINGS = parse_settings({"mode": "freeze", "offset": "0"})


@dataclass
class Render:
    """One render job of this session."""

    ident: int
    output: Path
    total: int
    state: str = "running"  # running | done | failed
    frames: int = 0
    error: str = ""
    seconds: float = 0.0


@dataclass
class _Building:
    proxy: frames.Proxy
    done: threading.Event = field(default_factory=threading.Event)
    error: str = ""


class Session:
    """The input being previewed, and everything derived from it (in a private temp folder)."""

    def __init__(self, src: Path, tools: runner.Tools, out_dir: Optional[Path] = None,
                 width: int = DEFAULT_WIDTH, start: Optional[str] = None,
                 end: Optional[str] = None, proxy_limit: int = PROXY_LIMIT,
                 sequence: Optional[SequenceRequest] = None) -> None:
        self.src = src.absolute()
        # an image sequence (a folder, or a pattern/glob the user asked for) or one file
        self.sequence = resolve.sequence_request(self.src, sequence)
        if self.sequence is None and not self.src.is_file():
            raise UsageError(f"input not found: {src}")
        self.tools = tools
        self.info: MediaInfo = controller.probe(resolve.request(self.src, None,
                                                                sequence=self.sequence), tools)
        self.out_dir = (out_dir or (self.src.parent if self.src.is_file() or self.sequence is None
                                    else self.info.path if self.src.is_dir()
                                    else self.src.parent)).absolute()
        if not self.out_dir.is_dir():
            raise UsageError(f"output folder does not exist: {self.out_dir}")
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(FFMPEG_LIMIT)
        self._proxies: dict[Any, _Building] = {}
        self._made = 0
        self._stabilized: Bounded[Any, _Building] = Bounded(STABILIZED_PROXIES)
        self._cache: OrderedDict[Any, bytes] = OrderedDict()
        self._cache_bytes = 0
        self._plans: Bounded[Any, graph.Plan] = Bounded(PLAN_CACHE)
        self._attached: Bounded[Any, graph.Plan] = Bounded(ATTACH_CACHE)
        self._energy: Bounded[Any, dict[str, Any]] = Bounded(ENERGY_CACHE)
        # the size of what the CLI writes for this input, from the plan it resolves (a
        # rotated input is portrait), scaled to the preview's width
        self.output_size = graph.output_size(self._make_plan(SIZE_SETTINGS))
        self.size = frames.preview_size(*self.output_size, width)
        self.bounds, self.bounds_note = self._bounds(start, end, proxy_limit)
        self.work = Path(tempfile.mkdtemp(prefix="ffmotion-preview-"))
        try:
            self._check_space(width)
        except UsageError:
            shutil.rmtree(self.work, ignore_errors=True)
            raise
        self._energy_wanted: Optional[tuple[Any, ...]] = None
        self._energy_busy = False
        self._active_at = 0.0
        self._streams = 0
        self._closing = threading.Event()
        self.renders: dict[int, Render] = {}
        self._threads: list[threading.Thread] = []

    def _bounds(self, start: Optional[str], end: Optional[str],
                limit: int) -> tuple[tuple[int, int], str]:
        """The input frames the preview covers (``--start/--end``, as the CLI reads them),
        and a line for the page when that is not the whole input. Without them, a long
        input is previewed from its start as far as ``limit`` bytes of proxy go."""
        total = self.info.frames
        if start is not None or end is not None:
            ranged = resolve.request(self.src, None, sequence=self.sequence, start=start,
                                     end=end, checked=False)
            span = controller.plan_for(ranged, self.info, self.tools).span
            first, last = span.first, span.first + span.count
        else:
            frame = plane_layout(frames.proxy_pix_fmt_of(self.info), *self.size).frame_bytes
            first, last = 0, min(total, max(2, limit // frame))
        if (first, last) == (0, total):
            return (0, total), ""
        note = (f"previewing frames {first} to {last - 1} of {total}; ffmotion preview "
                f"{errors.field('start')}/{errors.field('end')} previews another part")
        if start is None and end is None:
            need = total * plane_layout(frames.proxy_pix_fmt_of(self.info), *self.size).frame_bytes
            log.warning("preview: %s (the whole input would need %.1f GiB of raw frames)",
                        note, need / 2**30)
        return (first, last), note

    def settings(self, query: Mapping[str, str]) -> Settings:
        """The page's settings, their range kept inside the previewed frames (an open
        start or end is the previewed part's)."""
        settings = parse_settings(query)
        first, last = self.bounds
        start = settings.start if settings.start is not None else (first or None)
        end = settings.end if settings.end is not None else \
            (last if last < self.info.frames else None)
        if (start or 0) < first or (end if end is not None else self.info.frames) > last:
            raise UsageError(f"frames {start or 0} to {end if end is not None else 'the end'} "
                             f"are outside the previewed part ({self.bounds_note})")
        return dataclasses.replace(settings, start=start, end=end)

    def _check_space(self, width: int) -> None:
        """The proxy holds every previewed frame at preview size: refuse when the temp
        folder cannot."""
        frame = plane_layout(frames.proxy_pix_fmt_of(self.info), *self.size).frame_bytes
        need = frame * (self.bounds[1] - self.bounds[0])
        free = shutil.disk_usage(self.work).free
        if need > free * 0.9:
            smaller = max(16, width * 2 // 5)
            raise UsageError(
                f"the preview needs {need / 2**30:.1f} GiB of raw frames in {self.work.parent} "
                f"({free / 2**30:.1f} GiB free): try {errors.field('width')} {smaller}, or point "
                "TMPDIR at a larger disk")
        if need > 2 * 2**30:
            log.warning("preview: %.1f GiB of raw frames in %s (removed when it stops)",
                        need / 2**30, self.work)

    # -- plans ----------------------------------------------------------------------------

    def plan(self, settings: Settings) -> graph.Plan:
        """The plan the CLI would make for these settings (the output path does not matter)."""
        with self._lock:
            known = self._plans.get(settings.key)
        if known is not None:
            return known
        made = self._make_plan(settings)
        with self._lock:
            self._plans.put(settings.key, made)
        return made

    def request(self, settings: Settings, overwrite: bool = False,
                checked: bool = False) -> MotionRequest:
        """The render's request, made as the CLI makes it (:func:`resolve.request`): frames,
        sizes, commands and renders all come from plans of it."""
        return resolve.request(self.src, self.output_path(settings), overwrite=overwrite,
                               sequence=self.sequence, checked=checked,
                               **settings.option_args())

    def _make_plan(self, settings: Settings) -> graph.Plan:
        request = self.request(settings)
        plan = controller.plan_for(request, self.info, self.tools)
        if request.motion.stabilize is None:
            return plan
        # attach hashes the whole input (its cache key): once per range and format here, not
        # once per slider position. Its result depends on the range, the stabilize options
        # and the working format (which the look's rgb offsets / gray decide), nothing else.
        key = (plan.span.first, plan.span.count, request.motion.stabilize, plan.working_pix_fmt,
               settings.look.rgb_offsets is not None, settings.look.gray)
        with self._lock:
            known = self._attached.get(key)
        if known is None:
            known = stabilize.attach(plan, self.tools)
            with self._lock:
                self._attached.put(key, known)
        return dataclasses.replace(plan, stabilizer=known.stabilizer,
                                   working_pix_fmt=known.working_pix_fmt)

    def output_path(self, settings: Settings) -> Path:
        """The render's file: made from the settings, in the output folder."""
        what = f"freeze{settings.offset}" if settings.mode == "freeze" else f"k{settings.offset}"
        preset = next((p.name for p in looks.PRESETS.values() if p.look == settings.look), None)
        if preset is None:  # a custom look: its flags, hashed, keep different looks apart
            flags = " ".join(settings.look.flags()).encode()
            preset = "look" + hashlib.blake2b(flags, digest_size=3).hexdigest()
        stem = self.src.stem if self.sequence is None else self.info.path.name
        parts = [stem, what, preset]
        if settings.start or settings.end is not None:
            parts.append(f"f{settings.start or 0}-{settings.end if settings.end is not None else 'end'}")
        if settings.stabilize:
            parts.append("stab")
        name = "-".join(parts).replace(".", "_").replace("/", "_").replace(os.sep, "_")
        return self.out_dir / f"{name}.mp4"

    def describe(self, settings: Settings, overwrite: bool = False) -> dict[str, Any]:
        """What the page shows beside the picture: the plan in words and both commands."""
        plan = self.plan(settings)
        dst = self.output_path(settings)
        cli = ["ffmotion", str(self.src), str(dst), *settings.cli_flags()]
        if self.sequence is not None:
            cli += ["--framerate", str(self.sequence.framerate)]
        if overwrite:
            cli.append("--overwrite")
            plan = dataclasses.replace(plan, request=plan.request.with_output(overwrite=True))
        return {
            "describe": graph.describe(plan), "k": plan.k, "out_frames": plan.out_frames,
            "first": plan.span.first, "count": plan.span.count,
            "cli": shlex.join(cli),
            "ffmpeg": [shlex.join(argv) for argv in controller.commands(plan, self.tools.ffmpeg)],
            "output": str(dst), "exists": dst.exists(), "pix_fmt": plan.working_pix_fmt,
            "size": list(graph.output_size(plan)),
        }

    # -- proxies --------------------------------------------------------------------------

    def proxy_for(self, plan: graph.Plan, wait: float = 120.0) -> tuple[frames.Proxy, int]:
        """The proxy for ``plan`` (built on first use) and the proxy index of its range's
        first frame. Waits until it is complete."""
        span = plan.span
        if plan.stabilizer is None:
            key: Any = "plain"
        else:
            key = ("stab", span.first, span.count, plan.stabilizer.options)
        with self._lock:
            building = self._proxies.get(key)
            if key != "plain":
                self._stabilized.get(key)  # the most recently used
            if building is None:
                self._made += 1
                path = self.work / f"proxy-{self._made}.raw"
                first, last = self.bounds
                proxy = frames.Proxy(path, self.size[0], self.size[1],
                                     preview_graph.proxy_pix_fmt(plan), self.info.fps,
                                     first if key == "plain" else span.first,
                                     last - first if key == "plain" else span.count)
                building = _Building(proxy)
                self._proxies[key] = building
                if key != "plain":  # each range stabilized has its own: keep a few on disk
                    for old in self._stabilized.put(key, building,
                                                    busy=lambda b: not b.done.is_set()):
                        self._proxies = {k: b for k, b in self._proxies.items() if b is not old}
                        old.proxy.path.unlink(missing_ok=True)
                self._start(self._build, plan, building)
        if not building.done.wait(wait):
            raise FfmotionError("the preview frames are still being prepared")
        if building.error:
            raise FfmotionError(building.error)
        base = span.first - self.bounds[0] if key == "plain" else 0
        return building.proxy, base

    def _start(self, target: Any, *args: Any) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        self._threads.append(thread)
        thread.start()

    @contextmanager
    def ffmpeg_slot(self, interactive: bool = False) -> Iterator[None]:
        """Hold one of the session's :data:`FFMPEG_LIMIT` ffmpeg slots while running ffmpeg:
        a page's request waits :data:`FFMPEG_WAIT` seconds at most (then :class:`Busy`), the
        background jobs as long as it takes."""
        if not self._slots.acquire(timeout=FFMPEG_WAIT if interactive else -1):
            raise Busy(f"the preview is busy ({FFMPEG_LIMIT} ffmpeg processes running): "
                       "try again in a moment")
        try:
            yield
        finally:
            self._slots.release()

    def _build(self, plan: graph.Plan, building: _Building) -> None:
        try:
            with self.ffmpeg_slot():
                self._build_proxy(plan, building)
        except FfmotionError as exc:
            building.error = str(exc)
        except Exception as exc:  # a thread must report, not die silently
            building.error = f"preparing the preview failed: {exc}"
        finally:
            building.done.set()

    def _build_proxy(self, plan: graph.Plan, building: _Building) -> None:
        """Decode (and stabilize) the range at preview size into the proxy's file."""
        stabilize.ensure_transforms(plan, self.tools)
        if plan.stabilizer is None and self.bounds != (0, self.info.frames):
            first, last = self.bounds  # the previewed part, selected as the CLI would
            ranged = plan.request.with_input(start=FramesOrTime.time(f"{first}f"),
                                             end=FramesOrTime.time(f"{last}f"))
            plan = controller.plan_for(ranged, self.info, self.tools)
            argv = preview_graph.proxy_command(self.tools.ffmpeg, plan, self.size,
                                               building.proxy.path, ranged=True)
        else:
            argv = preview_graph.proxy_command(self.tools.ffmpeg, plan, self.size,
                                               building.proxy.path)
        runner.run_ffmpeg(argv)
        size = building.proxy.path.stat().st_size
        count = size // building.proxy.frame_bytes
        if count != building.proxy.count:
            log.warning("preview: %d frames decoded, %d expected", count, building.proxy.count)
            building.proxy = dataclasses.replace(building.proxy, count=count)

    def start_plain_proxy(self, settings: Settings) -> None:
        """Begin decoding the input at preview size (the page's first frame needs it)."""
        self._start(self._quiet_proxy, settings)

    def _quiet_proxy(self, settings: Settings) -> None:
        try:
            self.proxy_for(self.plan(settings))
        except FfmotionError as exc:
            log.warning("preview: %s", exc)

    def proxy_status(self) -> dict[str, Any]:
        with self._lock:
            items = list(self._proxies.values())
        return {"ready": all(b.done.is_set() for b in items) if items else False,
                "errors": [b.error for b in items if b.error]}

    # -- frames ---------------------------------------------------------------------------

    def frame_format(self, pix_fmt: str) -> dict[str, Any]:
        layout = plane_layout(pix_fmt, *self.size)
        sx, sy = chroma_subsampling(pix_fmt) if pix_fmt.startswith("yuv") else (0, 0)
        return {"pix_fmt": pix_fmt, "width": self.size[0], "height": self.size[1],
                "planes": len(layout.planes), "bytes_per_sample": layout.bytes_per_sample,
                "depth": layout.depth, "chroma_shift": [sx, sy],
                "full_range": pix_fmt.startswith("yuvj"),
                "frame_bytes": layout.frame_bytes}

    def frame(self, settings: Settings, i: int) -> tuple[bytes, dict[str, Any]]:
        """Output frame ``i`` (counted from the range's start) exactly, as raw planes."""
        self.touch()
        plan = self.plan(settings)
        if not 0 <= i < plan.out_frames:
            raise UsageError(f"frame {i} is outside 0..{plan.out_frames - 1}")
        fmt = self.frame_format(plan.working_pix_fmt)
        key = (settings.key, i)
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key], fmt
        proxy, base = self.proxy_for(plan)
        win = frames.window(plan, base, i, 1)
        argv = preview_graph.window_command(self.tools.ffmpeg, plan, proxy, win)
        with self.ffmpeg_slot(interactive=True):
            done = runner.capture(argv, timeout=120)
        size = fmt["frame_bytes"]
        if done.returncode != 0 or len(done.stdout) < (win.skip + 1) * size:
            raise FfmotionError(f"ffmpeg gave no frame {i}: {done.stderr.strip()[-300:]}")
        data = done.stdout[win.skip * size:(win.skip + 1) * size]
        with self._lock:
            if key not in self._cache:
                self._cache[key] = data
                self._cache_bytes += len(data)
            while len(self._cache) > FRAME_CACHE or self._cache_bytes > FRAME_CACHE_BYTES:
                self._cache_bytes -= len(self._cache.popitem(last=False)[1])
        return data, fmt

    def original(self, settings: Settings, i: int) -> tuple[bytes, dict[str, Any]]:
        """Input frame ``i`` of the range at preview size (the proxy's own pixels)."""
        plan = self.plan(settings)
        if not 0 <= i < plan.span.count:
            raise UsageError(f"frame {i} is outside 0..{plan.span.count - 1}")
        proxy, base = self.proxy_for(plan)
        size = proxy.frame_bytes
        with open(proxy.path, "rb") as f:
            f.seek((base + i) * size)
            data = f.read(size)
        return data, self.frame_format(proxy.pix_fmt)

    def stream(self, settings: Settings, i: int) -> tuple[list[str], int, dict[str, Any]]:
        """argv streaming exact output frames from ``i`` to the end, and warm-up to drop."""
        plan = self.plan(settings)
        i = max(0, min(i, plan.out_frames - 1))
        proxy, base = self.proxy_for(plan)
        win = frames.window(plan, base, i, plan.out_frames - i)
        return (preview_graph.window_command(self.tools.ffmpeg, plan, proxy, win), win.skip,
                self.frame_format(plan.working_pix_fmt))

    # -- energy ---------------------------------------------------------------------------

    def energy(self, settings: Settings) -> dict[str, Any]:
        """The motion-energy timeline of the offset(s) (``explore.energy``, full resolution);
        computed in the background, ``state`` says when it is there."""
        plan = self.plan(settings)
        ks = sorted(set(plan.channel_ks)) if plan.channel_ks is not None else [plan.k]
        if plan.mode == "freeze":
            return {"state": "none", "reason": "freeze mode has no offset"}
        key = (tuple(ks), plan.span.first, plan.span.count, settings.stabilize)
        with self._lock:
            entry = self._energy.get(key)
            if entry is None:
                # one energy run at a time, for the latest settings asked: a dragged slider
                # must not start one full-resolution pass per position
                entry = {"state": "running", "ks": ks}
                self._energy.put(key, entry)
                if self._energy_wanted is not None:
                    self._energy.pop(self._energy_wanted[0])
                self._energy_wanted = (key, settings, ks, entry)
                if not self._energy_busy:
                    self._energy_busy = True
                    self._start(self._energy_loop)
        return entry

    def touch(self, streaming: int = 0) -> None:
        """A frame was asked for (``streaming`` +1/-1: playback began/ended)."""
        with self._lock:
            self._active_at = time.monotonic()
            self._streams += streaming

    def _wait_quiet(self) -> None:
        """Energy is a full-resolution decode: it waits until nobody is scrubbing or playing,
        so it never competes with the frames on screen."""
        while True:
            with self._lock:
                idle = time.monotonic() - self._active_at
                quiet = idle >= ENERGY_QUIET_S and self._streams == 0
            if quiet or self._closing.is_set():
                return
            self._closing.wait(max(0.05, ENERGY_QUIET_S - idle))

    def _energy_loop(self) -> None:
        while True:
            self._wait_quiet()
            with self._lock:
                job, self._energy_wanted = self._energy_wanted, None
                if job is None:
                    self._energy_busy = False
                    return
            self._run_energy(*job[1:])

    def _run_energy(self, settings: Settings, ks: list[int], entry: dict[str, Any]) -> None:
        args = settings.option_args()
        try:
            with self.ffmpeg_slot():
                table = explore.energy(self.src, [str(k) for k in ks], start=args["start"],
                                       end=args["end"],
                                       stabilize_options=args["stabilize"] or None,
                                       tools=self.tools, sequence=self.sequence)
            entry.update(values=[[round(v, 3) for v in row] for row in table.values],
                         labels=table.labels, first=table.first, state="done")
        except FfmotionError as exc:
            entry.update(state="failed", error=str(exc))
        except Exception as exc:  # a thread must report, not die silently
            entry.update(state="failed", error=f"energy failed: {exc}")

    # -- renders --------------------------------------------------------------------------

    def render(self, settings: Settings, overwrite: bool) -> Render:
        """Start the full-resolution job the CLI would run for these settings."""
        dst = self.output_path(settings)
        plan = controller.prepare(self.request(settings, overwrite, checked=True), self.tools,
                                  self.info)
        with self._lock:
            running = [r for r in self.renders.values() if r.state == "running"]
            if any(r.output == dst for r in running):
                raise UsageError(f"{dst.name} is being rendered already")
            if len(running) >= RENDERS_RUNNING:
                raise UsageError(f"{len(running)} renders are running: wait for one to finish")
            job = Render(len(self.renders) + 1, dst, plan.out_frames)
            self.renders[job.ident] = job
        self._start(self._run_render, plan, job)
        return job

    def _run_render(self, plan: graph.Plan, job: Render) -> None:
        started = time.monotonic()

        def seen(count: int) -> None:
            job.frames = count

        try:
            with self.ffmpeg_slot():
                result = controller.run(plan, self.tools, on_frames=seen)
            job.frames = result.frames
            job.state = "done"
        except FfmotionError as exc:
            job.error, job.state = str(exc), "failed"
        except Exception as exc:
            job.error, job.state = f"render failed: {exc}", "failed"
        job.seconds = time.monotonic() - started

    # -- end ------------------------------------------------------------------------------

    def close(self) -> None:
        """Kill every ffmpeg this session started, let the threads clean up, remove the temp
        folder."""
        self._closing.set()
        runner.stop_children()
        try:
            for thread in self._threads:
                thread.join(timeout=5)
            shutil.rmtree(self.work, ignore_errors=True)
        finally:
            runner.allow_children()  # in-process callers (tests, the API) may run ffmpeg again

    def presets(self) -> tuple[dict[str, presets.Saved], list[str]]:
        """The presets the page offers, and a line for each preset file that could not be
        read (a bad ``ffmotion.toml`` beside the input must not stop the page): its presets
        are left out, the others stay."""
        problems: list[str] = []
        found = presets.available(self.src, problems)
        for problem in problems:
            log.warning("preview: presets left out: %s", problem)
        return found, problems

    def info_json(self) -> dict[str, Any]:
        info = self.info
        found, problems = self.presets()
        return {
            # the size the CLI writes (a rotated input is portrait); the stream's own below
            "name": self.src.name, "width": self.output_size[0], "height": self.output_size[1],
            "coded": [info.width, info.height], "rotation": info.rotation,
            "fps": float(info.fps), "fps_text": format_fps(info.fps),
            "fps_num": info.fps.numerator, "fps_den": info.fps.denominator,
            "frames": info.frames, "preview": list(self.size),
            "bounds": list(self.bounds), "bounds_note": self.bounds_note,
            "output_dir": str(self.out_dir),
            "presets": {name: _look_json(p.look) | {"description": p.description,
                                                     "source": p.source}
                        for name, p in found.items()},
            "presets_errors": problems,
            # the look's controls, drawn by the page (ids = query parameters = the keys of a
            # preset above), from the look's field table
            "look_controls": [spec.control_json() for spec in looks.FIELDS],
        }


def _look_json(look: Look) -> dict[str, Any]:
    """A look as the page's controls show it (by query parameter)."""
    return {spec.query: spec.page_value(look) for spec in looks.FIELDS}
