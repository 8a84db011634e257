"""Stabilization before the motion graph: choosing the method, and the pass-1 transforms cache.

vid.stab analyses the clip once (``vidstabdetect``, pass 1) and writes a transforms file that
``vidstabtransform`` (pass 2, inside the motion graph) applies. Pass 1 does not depend on the
offset, so its result is cached: a rerun with another offset, or a sheet, or an energy
timeline of the same clip, does not analyse again.

Cache: ``$FFMOTION_CACHE``, else ``$XDG_CACHE_HOME/ffmotion``, else ``~/.cache/ffmotion``.
The key is a hash of the input's *content* (BLAKE2b over the whole file, read in 1 MiB
chunks) and of everything pass 1 depends on: the ffmpeg version (vid.stab's file format
changed between versions), the detect options, the pixel format and the frame range.

Trade-off: hashing the whole file costs a read of it (about 1 GB/s; seconds for a long
clip) on every run, where size + mtime + a partial hash would cost nothing. But pass 1 and
the motion pass both decode the whole range anyway, which is far slower than reading, and a
content key cannot go stale: a file re-exported under the same name and size (same second)
or copied to another place gets the right transforms, never another clip's.

The cache is not trusted: each ``vidstab-KEY.trf`` has a sidecar ``vidstab-KEY.trf.json``
with its size and BLAKE2b hash, both written to unique temporary names and renamed (the
sidecar last). An entry is used only when both are regular files (never a link: read with
``O_NOFOLLOW``) and the transforms match the sidecar; otherwise (truncated, garbage, a
planted link, no sidecar) the entry is removed, a warning says so, and pass 1 runs again.
Clearing the cache is always safe: ``rm -r ~/.cache/ffmotion`` (or ``$FFMOTION_CACHE``).
"""
from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
import json
import logging
import math
import os
import re
import shutil
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Optional, Sequence

from ffmotion.core import looks
from ffmotion.core.errors import FFmpegFailed, UsageError, field
from ffmotion.core.pixfmt import chroma_subsampling, working_pix_fmt
from ffmotion.graph import Plan, corrections
from ffmotion.graph import extras as graph_extras
from ffmotion.run import outputs, procs, runner
from ffmotion.run.facts import CACHE_ENV, cache_dir  # the one cache folder rule (FFMOTION_CACHE, XDG)

log = logging.getLogger("ffmotion")

KEY_VERSION = 1
_CHUNK = 1 << 20
SIDECAR_SUFFIX = ".json"
MOTIONS_S_PER_FRAME = 0.05  # far above what the motions step takes per frame
_SIDECAR_MAX = 4096  # a sidecar is a few dozen bytes: never read more


def content_hash(path: Path) -> str:
    """BLAKE2b of the file's bytes, read in chunks (never the whole file in memory)."""
    digest = hashlib.blake2b(digest_size=20)
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def input_hash(plan: Plan) -> str:
    """:func:`content_hash` of the input file; of an image sequence, of every image's name
    and bytes, in order."""
    if plan.input.sequence is None:
        return content_hash(plan.input.path)
    from ffmotion.media.sequence import resolve

    digest = hashlib.blake2b(digest_size=20)
    for image in resolve(plan.input.path, plan.input.sequence).files:
        digest.update(os.fsencode(image.name) + b"\0" + content_hash(image).encode())
    return digest.hexdigest()


def cache_key(content: str, ffmpeg_version: str, plan: Plan, stab: graph_extras.Stabilizer) -> str:
    """The transforms file's name: everything pass 1's result depends on, hashed."""
    span = plan.span
    fields = {
        "v": KEY_VERSION, "content": content, "ffmpeg": ffmpeg_version,
        "detect": graph_extras.detect_args(stab), "pix_fmt": stab.pix_fmt,
        "first": span.first, "count": span.count, "total": span.total,
    }
    if plan.picture is not None and not plan.picture.is_identity:
        fields["picture"] = [plan.picture.relabel, plan.picture.deinterlace]
    text = json.dumps(fields, sort_keys=True)
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def attach(plan: Plan, tools: runner.Tools) -> Plan:
    """``plan`` with its stabilizer resolved (method, format, transforms path), if asked for.

    Probes the build's filters once (cached per binary); warns when only deshake is there.
    Hashes the input for the cache key; runs nothing else.
    """
    options = plan.motion.stabilize
    if options is None:
        return plan
    method = graph_extras.choose_method(runner.filters(tools.ffmpeg))
    if method == "deshake":
        log.warning("this ffmpeg (%s) has no vidstab filters (built without libvidstab): "
                    "stabilizing with deshake, a weaker one-pass stabilizer", tools.ffmpeg)
    working = plan.working_pix_fmt
    stab = graph_extras.Stabilizer(method, options, graph_extras.stabilize_pix_fmt(working, method),
                                   plain_pix_fmt=working)
    if options.auto and method == "vidstab":
        stab = dataclasses.replace(stab, ascii=detect_has_fileformat(tools.ffmpeg))
    elif options.auto:  # deshake: no camera path to read, and no smoothing to choose
        stab = dataclasses.replace(stab, decided="smooth", options=dataclasses.replace(
            options, smoothing=AUTO_SMOOTHING), reason="the one stabilizer this ffmpeg has")
    if method == "vidstab":
        stab = dataclasses.replace(stab, content=input_hash(plan))
        stab = _with_paths(plan, stab, tools.version)
    plan = with_stabilizer(plan, stab)
    if options.auto and stab.decided is None and check_entry_quietly(stab.transforms):
        plan = decide(plan, tools.version)  # the analysis is cached: decide now
    return plan


def with_stabilizer(plan: Plan, stab: graph_extras.Stabilizer) -> Plan:
    """``plan`` stabilized by ``stab``, in the working format that goes with it: the 8-bit
    format stabilization runs in, or, where --stabilize auto decided on none, the plain
    plan's own (vid.stab's 8 bits are then only for the analysis)."""
    if not stab.active and stab.plain_pix_fmt:
        working = stab.plain_pix_fmt
    else:
        working = looks.working_format(working_pix_fmt(stab.pix_fmt), plan.motion.look)
    return dataclasses.replace(plan, stabilizer=stab, working_pix_fmt=working)


def _transforms_path(plan: Plan, stab: graph_extras.Stabilizer, ffmpeg_version: str) -> Path:
    path = cache_dir() / f"vidstab-{cache_key(stab.content, ffmpeg_version, plan, stab)}.trf"
    try:
        os.fspath(path).encode("utf-8")
    except UnicodeEncodeError:
        raise UsageError(f"the stabilization cache folder {_shown(path.parent)} is not a "
                         f"valid UTF-8 name: set {CACHE_ENV} to another folder") from None
    graph_extras.check_filter_path(path)
    return path


def _with_paths(plan: Plan, stab: graph_extras.Stabilizer,
                ffmpeg_version: str) -> graph_extras.Stabilizer:
    """``stab`` with its cache entries: pass 1's transforms, and the motions read from them
    (which also depend on the frame size vid.stab works on)."""
    transforms = _transforms_path(plan, stab, ffmpeg_version)
    width, height = plan.info.display_size
    motions = transforms.with_name(f"{transforms.stem}-{width}x{height}.motions")
    return dataclasses.replace(stab, transforms=transforms, motions=motions)


def analysis_commands(plan: Plan, ffmpeg_bin: str) -> list[list[str]]:
    """What runs before the motion graph, as commands that run as printed: pass 1, then the
    motions step (``sh -c``: ffmpeg in a private folder, its file moved into place)."""
    first = detect_command(plan, ffmpeg_bin)
    if first is None:
        return []
    stab = plan.stabilizer
    assert stab is not None and stab.motions is not None and stab.transforms is not None
    if not stab.transforms.is_absolute():  # the step runs one folder down
        plan = dataclasses.replace(plan, stabilizer=dataclasses.replace(
            stab, transforms=Path("..") / stab.transforms))
    return [first, graph_extras.motions_shell(stab.motions, motions_argv(plan, ffmpeg_bin))]


def motions_argv(plan: Plan, ffmpeg_bin: str) -> list[str]:
    """The motions step's ffmpeg argv (it writes :data:`graph_extras.MOTIONS_FILE` in its
    working folder)."""
    stab = plan.stabilizer
    assert stab is not None
    return graph_extras.motions_command(ffmpeg_bin, stab, plan.info.display_size)


def detect_command(plan: Plan, ffmpeg_bin: str, result: Optional[Path] = None) -> Optional[list[str]]:
    """Pass 1's argv (writing to the cache, or to ``result``); None when there is no pass 1."""
    stab = plan.stabilizer
    if stab is None or stab.method != "vidstab" or stab.decided == "none":
        return None
    assert stab.transforms is not None
    target = result or stab.transforms
    # a printed or emitted pass 1 runs later, by hand: its folder must be there already
    with contextlib.suppress(OSError):
        target.parent.mkdir(parents=True, exist_ok=True)
    return graph_extras.detect_command(ffmpeg_bin, plan.info.input.name, plan.input_args(), stab,
                                       target, plan.picture, plan.source_video)


def is_cached(plan: Plan) -> bool:
    """True when the plan needs no pass 1 (no vidstab, or valid transforms are cached).

    A damaged entry (see the module notes) is removed here, with a warning, so that pass 1
    runs again.
    """
    stab = plan.stabilizer
    if stab is None or stab.transforms is None or stab.decided == "none":
        return True
    return _entry_ok(stab.transforms)


def _entry_ok(path: Path) -> bool:
    """True when the cache entry at ``path`` can be used; a damaged one is removed (warning)."""
    problem = check_entry(path)
    if problem is None:
        return True
    if problem != "missing":
        log.warning("stabilization cache: %s is %s: removed, analysing again (clearing the "
                     "cache is always safe: rm -r %s)", path.name, problem, _shown(path.parent))
        remove_entry(path)
    return False


def sidecar(path: Path) -> Path:
    """The file beside a transforms file that holds its size and hash."""
    return path.with_name(path.name + SIDECAR_SUFFIX)


def _read_nofollow(path: Path, limit: Optional[int] = None) -> tuple[bytes, int]:
    """The bytes of a regular file (never through a link) and its size."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise ValueError("not a regular file")
        if limit is not None and info.st_size > limit:
            raise ValueError("too large")
        with os.fdopen(os.dup(fd), "rb") as handle:
            return handle.read(), info.st_size
    finally:
        os.close(fd)


def _file_digest(path: Path) -> tuple[str, int]:
    digest = hashlib.blake2b(digest_size=20)
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise ValueError("not a regular file")
        size = 0
        with os.fdopen(os.dup(fd), "rb") as handle:
            for chunk in iter(lambda: handle.read(_CHUNK), b""):
                digest.update(chunk)
                size += len(chunk)
    finally:
        os.close(fd)
    return digest.hexdigest(), size


def check_entry(path: Path) -> Optional[str]:
    """None if the cached transforms at ``path`` can be used, else what is wrong with them
    (``"missing"`` when there is no entry at all)."""
    meta = sidecar(path)
    if not os.path.lexists(path) and not os.path.lexists(meta):
        return "missing"
    for item in (path, meta):
        if not os.path.lexists(item):
            return "incomplete (no " + ("sidecar" if item == meta else "transforms") + ")"
        if stat.S_ISLNK(os.lstat(item).st_mode):
            return "a symbolic link (never followed out of the cache)"
        if not stat.S_ISREG(os.lstat(item).st_mode):
            return "not a regular file"
    try:
        raw, _ = _read_nofollow(meta, _SIDECAR_MAX)
        fields = json.loads(raw.decode("utf-8"))
        size, want = int(fields["size"]), str(fields["blake2b"])
        if fields.get("v") != KEY_VERSION:
            return "from another ffmotion version"
        got, actual = _file_digest(path)
    except (OSError, ValueError, KeyError, TypeError, UnicodeDecodeError):
        return "unreadable or damaged"
    if actual != size:
        return f"truncated or changed ({actual} bytes, {size} expected)"
    if got != want:
        return "damaged (its hash does not match)"
    return None


def remove_entry(path: Path) -> None:
    """Remove a cache entry (links themselves, never what they point to)."""
    for item in (path, sidecar(path)):
        with contextlib.suppress(FileNotFoundError, IsADirectoryError, PermissionError):
            os.unlink(item)


def _shown(path: Path) -> str:
    return outputs.shown(path)


def ensure_transforms(plan: Plan, tools: runner.Tools, progress: bool = False) -> None:
    """Run pass 1 unless its result is cached, then the motions step unless its result is
    cached; each file appears only when its step succeeded."""
    _ensure_pass1(plan, tools, progress)
    stab = plan.stabilizer
    undecided = stab is not None and stab.options.auto and stab.decided is None
    if stab is None or stab.motions is None or stab.decided == "none" or undecided:
        return  # no vid.stab, nothing to transform, or --stabilize auto still to decide
    if _entry_ok(stab.motions):
        return
    remove_entry(stab.motions)
    what = f"stabilization cache (set {CACHE_ENV} to another folder)"
    try:
        folder = Path(tempfile.mkdtemp(prefix=".motions-", dir=stab.motions.parent))
    except OSError as exc:
        raise UsageError(f"cannot write the stabilization cache {_shown(stab.motions.parent)}: "
                         f"{exc.strerror or exc} (set {CACHE_ENV} to another folder)") from None
    try:
        text = read_motions(plan, stab, tools, folder, plan.span.count)
        outputs.write_text(stab.motions, text, what=what, overwrite=True)
        digest, size = _file_digest(stab.motions)
        outputs.write_text(sidecar(stab.motions),
                           json.dumps({"v": KEY_VERSION, "size": size, "blake2b": digest}),
                           what=what, overwrite=True)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def read_motions(plan: Plan, stab: graph_extras.Stabilizer, tools: runner.Tools, folder: Path,
                 frames: int) -> str:
    """vid.stab's per-frame motions from ``stab.transforms`` (the motions step, run in
    ``folder``, which must be empty), zoom column zeroed; checked to hold ``frames`` lines."""
    # it reads every frame's motions (a gradient descent each) before its one blank
    # frame: the limit grows with the clip, as a guard against a hang only
    limit = procs.helper_timeout() + MOTIONS_S_PER_FRAME * frames
    argv = graph_extras.motions_command(tools.ffmpeg, stab, plan.info.display_size)
    done = runner.capture(argv, cwd=folder, timeout=limit,
                          what=f"reading vid.stab's motions for {plan.info.path.name}")
    if done.returncode != 0:
        tail = (done.stderr.strip().splitlines() or ["no message"])[-1]
        raise FFmpegFailed(f"reading vid.stab's motions for {plan.info.path.name} "
                           f"failed: {tail}")
    written = folder / graph_extras.MOTIONS_FILE
    try:
        raw, _ = _read_nofollow(written, 1 << 30)
        text = raw.decode("ascii")
        found = len(corrections.parse_motions(text))
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise FFmpegFailed(f"vid.stab's motions for {plan.info.path.name} are unreadable "
                           f"({exc})") from None
    if found != frames:
        raise FFmpegFailed(f"vid.stab gave motions for {found} of the {frames} "
                           f"frames of {plan.info.path.name}")
    return graph_extras.clean_motions(text)


def load_corrections(plan: Plan) -> list[corrections.Correction]:
    """The corrections pass 2 applies to each frame of the range (the motions must be in the
    cache: :func:`settle` first)."""
    stab = plan.stabilizer
    assert stab is not None and stab.motions is not None
    raw, _ = _read_nofollow(stab.motions, 1 << 30)
    motions = corrections.parse_motions(raw.decode("ascii"))
    width, height = plan.info.display_size
    return corrections.camera_path(motions, 0 if stab.tripod else stab.options.smoothing or 0,
                                   width, height, relative=not stab.tripod)


def geometry(plan: Plan) -> corrections.Geometry:
    """The frames vidstabtransform works on, for :func:`corrections.covered`."""
    stab = plan.stabilizer
    assert stab is not None
    width, height = plan.info.display_size
    if stab.pix_fmt.startswith("gray"):
        return corrections.Geometry(width, height, 1, (0, 0))
    return corrections.Geometry(width, height, 3, chroma_subsampling(stab.pix_fmt))


def _ensure_pass1(plan: Plan, tools: runner.Tools, progress: bool = False) -> None:
    """Run pass 1 unless its result is cached; the file appears only when pass 1 succeeded."""
    if is_cached(plan):
        if plan.stabilizer is not None and plan.stabilizer.transforms is not None:
            log.info("stabilization: using cached transforms %s", plan.stabilizer.transforms)
        return
    stab = plan.stabilizer
    assert stab is not None and stab.transforms is not None
    folder = stab.transforms.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot write the stabilization cache {_shown(folder)}: "
                         f"{exc.strerror or exc} (set {CACHE_ENV} to another folder)") from None
    remove_entry(stab.transforms)  # a damaged entry, or a link planted meanwhile
    what = f"stabilization cache (set {CACHE_ENV} to another folder)"
    # the transforms, then the sidecar that vouches for them, each under the safe-write rule
    with outputs.atomic_output(stab.transforms, True, what) as tmp:
        argv = detect_command(plan, tools.ffmpeg, tmp)
        assert argv is not None
        log.info("stabilization: analysing %s (pass 1 of 2)", plan.info.path.name)
        runner.run_ffmpeg(argv, total_frames=plan.span.count, progress=progress)
        if tmp.stat().st_size == 0:
            raise FFmpegFailed(f"vidstabdetect wrote no transforms for {plan.info.path.name}")
        digest, size = _file_digest(tmp)
    outputs.write_text(sidecar(stab.transforms),
                       json.dumps({"v": KEY_VERSION, "size": size, "blake2b": digest}),
                       what=what, overwrite=True)


# -- --stabilize auto: reading the camera path from pass 1 ---------------------------------------

# "Frame N (List M [(LM dx dy x y size contrast match),...])": vid.stab's ASCII transforms
# (ffmpeg 5.1's libvidstab writes only these; newer ones write binary unless fileformat=ascii)
_FRAME = re.compile(r"^Frame\s+(\d+)\s+\(List\s+\d+\s+\[(.*)\]\)\s*$")
_LM = re.compile(r"\(LM\s+(-?\d+)\s+(-?\d+)\s+-?\d+\s+-?\d+\s+\d+\s+([-\d.eE+]+)\s+([-\d.eE+]+)\)")


@dataclass(frozen=True)
class CameraPath:
    """The camera's frame-to-frame movement, from vid.stab's local motions (pass 1 without
    tripod): per frame the median of the fields' displacements (0 where none was found)."""

    steps: tuple[tuple[float, float], ...]
    measured: int = 0  # frames where vid.stab found fields to follow

    def _mean_step(self) -> tuple[float, float]:
        n = len(self.steps)
        return sum(s[0] for s in self.steps) / n, sum(s[1] for s in self.steps) / n

    @property
    def drift(self) -> float:
        """Mean movement per frame (px/frame): ~0 for a camera held in place, however shaky."""
        if not self.steps:
            return 0.0
        return math.hypot(*self._mean_step())

    @property
    def jitter(self) -> float:
        """RMS of the frame-to-frame movement around its mean (px/frame): the shake."""
        if not self.steps:
            return 0.0
        mx, my = self._mean_step()
        return math.sqrt(sum((x - mx) ** 2 + (y - my) ** 2 for x, y in self.steps)
                         / len(self.steps))


def camera_path(text: str) -> CameraPath:
    """Parse an ASCII transforms file (``VID.STAB 1``) into the camera's frame steps."""
    if not text.startswith("VID.STAB"):
        raise ValueError("not an ASCII vid.stab transforms file")
    import statistics  # here: only stabilized runs need it (start-up)

    steps, measured = [], 0
    for line in text.splitlines():
        match = _FRAME.match(line)
        if not match:
            continue
        moves = [(int(m.group(1)), int(m.group(2))) for m in _LM.finditer(match.group(2))]
        if moves:
            steps.append((statistics.median(x for x, _ in moves),
                          statistics.median(y for _, y in moves)))
            measured += int(match.group(1)) > 1
        else:
            steps.append((0.0, 0.0))
    return CameraPath(tuple(steps[1:]), measured)  # frame 1 has no previous frame


@dataclass(frozen=True)
class AutoChoice:
    smoothing: int  # the concrete --stabilize-smoothing (0: tripod)
    transform: Literal["tripod", "smooth", "none"]
    reason: str
    # the camera stays near one place frame to frame (it may still drift over the clip):
    # locking it (tripod, static camera) is worth measuring
    held: bool = False

    @property
    def label(self) -> str:
        if self.transform == "none":
            return "no stabilization"
        if self.transform == "tripod":
            return "tripod"
        return f"smoothing {self.smoothing}"


def still_limit(path: CameraPath) -> float:
    """The mean drift (px/frame) under which the camera counts as held in place: DRIFT_MIN,
    or a share of the shake (the estimation errors of a strong shake add up to some drift)."""
    return max(DRIFT_MIN, DRIFT_SHARE * path.jitter)


def auto_choice(path: CameraPath, width: int) -> AutoChoice:
    """By the measurements of ``benchmarks/bench_stabilize.py`` (docs/decisions.md): no
    stabilization when the camera neither shakes nor moves (every method raised the residual
    there); tripod when it shakes around one place (best or within 10% on every such clip);
    else the path smoothed over AUTO_SMOOTHING frames each side (tripod raised the residual
    above no stabilization on most moving shots).

    "One place" also holds over the whole clip: tripod keeps the first frame's view, so a
    small drift that adds up to more than 10 % of the width (``width``: the analysed
    frames') and more than the shake's own range turns into a border that grows through the
    clip (a real 10 s clip drifting 0.42 px/frame: 106 px of its 640, and tripod raised its
    residual by 75 % where smoothing 30 lowered it).

    This is auto's first choice; the measurement on a sample then decides (:func:`choose`):
    a camera held in place frame to frame (``held``, also one that drifts away) is measured
    with every candidate, one that moves only against no stabilization."""
    said = f"mean drift {path.drift:.2f} px/frame, shake {path.jitter:.2f} px/frame"
    if path.measured * 2 < len(path.steps):
        return AutoChoice(AUTO_SMOOTHING, "smooth", f"vid.stab found detail to follow in only "
                          f"{path.measured} of {len(path.steps)} frames: no path to judge")
    if path.jitter < JITTER_MIN and path.drift < DRIFT_MIN:
        return AutoChoice(0, "none", f"the camera neither shakes nor moves ({said})")
    limit = still_limit(path)
    if path.drift >= limit:
        return AutoChoice(AUTO_SMOOTHING, "smooth",
                          f"the camera moves ({said}; drift >= {limit:.2f})")
    # how far the camera ends from where it started; a shake alone ends anywhere within its
    # own range (about twice the shake's RMS step), which tripod handles
    reach = path.drift * len(path.steps)
    allowed = max(TRIPOD_REACH * width, 2 * path.jitter)
    if reach > allowed:
        return AutoChoice(AUTO_SMOOTHING, "smooth", held=True, reason=(
                          f"the camera drifts away ({said}: {reach:.0f} px over the clip, more "
                          f"than {allowed:.0f} px: {TRIPOD_REACH:.0%} of the {width} px width, "
                          "or twice the shake)"))
    return AutoChoice(0, "tripod", f"the camera stays in place ({said}; drift < {limit:.2f})",
                      held=True)


JITTER_MIN = 0.5
DRIFT_MIN = 0.5
DRIFT_SHARE = 0.15
AUTO_SMOOTHING = 30
TRIPOD_REACH = 0.10  # the share of the width a camera may drift over the clip for tripod


@functools.lru_cache(maxsize=None)
def detect_has_fileformat(ffmpeg_bin: str) -> bool:
    """Whether this build's vidstabdetect takes ``fileformat`` (and would write binary
    without ``fileformat=ascii``)."""
    try:
        done = runner.capture([ffmpeg_bin, "-hide_banner", "-nostdin", "-h",
                               "filter=vidstabdetect"])
    except Exception:  # noqa: BLE001 - an old or odd build: it writes ASCII
        return False
    return "fileformat" in done.stdout.decode("utf-8", "replace")


def check_entry_quietly(path: Optional[Path]) -> bool:
    """True when ``path`` is a usable cache entry (nothing is removed or said here)."""
    return path is not None and check_entry(path) is None


def decide(plan: Plan, ffmpeg_version: str) -> Plan:
    """``--stabilize auto``, first step: read the analysis (pass 1, cached) and choose by the
    camera path (:func:`auto_choice`).

    A camera that neither shakes nor moves gets no stabilization, said on stderr, final. Any
    other choice is provisional: :func:`settle` measures it against the other candidates
    (:func:`choose`) before anything runs with it.
    """
    stab = plan.stabilizer
    assert stab is not None and stab.transforms is not None
    try:
        raw, _ = _read_nofollow(stab.transforms)
        path = camera_path(raw.decode("utf-8", "replace"))
    except (OSError, ValueError) as exc:
        choice = AutoChoice(AUTO_SMOOTHING, "smooth", f"cannot read the camera path ({exc})")
    else:
        choice = auto_choice(path, plan.info.display_size[0])
    if choice.transform == "none":
        log.warning("%s: %s auto: %s: %s", plan.info.path.name, field("stabilize"),
                    choice.label, choice.reason)
    chosen = variant(plan, stab, choice.transform, ffmpeg_version, stab.ascii)
    return with_stabilizer(plan, dataclasses.replace(chosen, reason=choice.reason,
                                                     shortlist=candidates(choice)))


Transform = graph_extras.Transform


def variant(plan: Plan, stab: graph_extras.Stabilizer, transform: Transform,
            ffmpeg_version: str, ascii: bool) -> graph_extras.Stabilizer:
    """``stab`` (auto's) made concrete: ``transform`` with its smoothing and its cache
    entries. Smoothing and the static camera read the analysis itself (``ascii``: as it was
    written), tripod its own pass 1; none transforms nothing."""
    smoothing = AUTO_SMOOTHING if transform == "smooth" else 0
    chosen = dataclasses.replace(stab, decided=transform, residual=None, options=(
        dataclasses.replace(stab.options, smoothing=smoothing)))
    if transform == "none" or stab.method != "vidstab":
        return chosen
    chosen = dataclasses.replace(chosen, ascii=ascii and transform != "tripod")
    return _with_paths(plan, chosen, ffmpeg_version)


def settle(plan: Plan, tools: runner.Tools, progress: bool = False, run: bool = True) -> Plan:
    """The plan pass 2 runs: ``--stabilize auto`` analysed (pass 1, cached), decided by the
    camera path and then by measuring the candidates on a sample (:func:`choose`); then
    (``run``) the chosen stabilizer's own pass 1 if it needs one and it is not cached.
    ``run=False`` (printing commands) leaves that pass to the printed line."""
    stab = plan.stabilizer
    if stab is not None and stab.options.auto and stab.decided is None:
        ensure_transforms(plan, tools, progress=progress)
        plan = decide(plan, tools.version)
    stab = plan.stabilizer
    if stab is not None and stab.decided is not None and stab.residual is None:  # auto's choice
        plan = choose(plan, tools, progress=progress)
    if run:
        ensure_transforms(plan, tools, progress=progress)
    return plan


# the candidates measured where the camera path shows a camera held in place; one that moves
# frame to frame (or no path to judge) is only measured against no stabilization: locking it
# (tripod, static camera) freezes a view that slides out of the frame
HELD_CANDIDATES: tuple[Transform, ...] = ("tripod", "static", "smooth")
SAMPLE_WINDOWS = 3  # the sample: this many windows, at the start, middle and end
SAMPLE_SECONDS = 1.0  # each this long (at least 4 K frames)
# a candidate whose corrections leave more than this share of the sampled picture to be
# filled from earlier output frames (stale borders, which read as no motion) is not eligible
MAX_STALE = 0.01
LABELS = {"none": "none", "tripod": "tripod", "static": "static camera",
          "smooth": f"smoothing {AUTO_SMOOTHING}"}


def candidates(choice: AutoChoice) -> tuple[Transform, ...]:
    """What auto measures: the camera path's own choice first, then no stabilization, then
    (a camera held in place) the other ways to hold it."""
    others = HELD_CANDIDATES if choice.held else ()
    return (choice.transform, "none", *(t for t in others if t != choice.transform))


def pick(residuals: dict[Transform, float], order: Sequence[Transform]) -> Transform:
    """The candidate with the lowest of ``residuals`` (the eligible ones); candidates within
    RESIDUAL_TOLERANCE (or RESIDUAL_SLACK levels) of it count as equal, and of those the
    first in ``order`` wins (:func:`choose`: the camera path's choice, then no stabilization,
    then the smallest zoom)."""
    tie = min(residuals.values()) * (1 + RESIDUAL_TOLERANCE) + RESIDUAL_SLACK
    return next(t for t in order if t in residuals and residuals[t] <= tie)


def sample_windows(count: int, k: int, fps: float) -> list[tuple[int, int]]:
    """The frames auto measures on (``[first, end)`` in the range): the whole range when
    it is short, else SAMPLE_WINDOWS windows spread over it (the first at frame 0)."""
    length = max(round(fps * SAMPLE_SECONDS), 4 * k)
    if SAMPLE_WINDOWS * length >= count:
        return [(0, count)]
    starts = [round(i * (count - length) / (SAMPLE_WINDOWS - 1)) for i in range(SAMPLE_WINDOWS)]
    return [(a, a + length) for a in starts]


@dataclass(frozen=True)
class Measured:
    """Auto's candidates measured on a sample: residual motion energy (8-bit levels) and the
    share of the picture filled from earlier output frames, per candidate."""

    residuals: dict[Transform, float]
    stale: dict[Transform, float]
    zoom: dict[Transform, float]  # vid.stab's static zoom (percent), none: 0
    frames: int  # sampled
    labels: dict[Transform, str]

    def eligible(self, transform: Transform) -> bool:
        """Whether the candidate shows (nearly) only its own frames (see MAX_STALE)."""
        return self.stale.get(transform, 0.0) <= MAX_STALE

    def said(self, transform: Transform) -> str:
        said = f"{self.labels[transform]} {self.residuals[transform]:.2f}"
        if self.zoom.get(transform):
            said += f" (zoom {self.zoom[transform]:.0f}%)"
        if not self.eligible(transform):
            said += (f" ({self.stale[transform]:.0%} of the picture from earlier frames: "
                     "not eligible)")
        return said


def choose(plan: Plan, tools: runner.Tools, progress: bool = False) -> Plan:
    """``--stabilize auto``'s provisional choice measured against the other candidates
    (:func:`candidates`) on a sample of the clip: the lowest residual motion of the eligible
    ones wins (:func:`pick`), said on one line with every number. The run,
    ``--print-command`` and every subcommand all see the result."""
    stab = plan.stabilizer
    assert stab is not None and stab.decided is not None
    if stab.decided == "none":
        return plan
    order = tuple(stab.shortlist) or (stab.decided, "none")
    measured = measure_candidates(plan, tools, order, progress)
    if measured is None:
        return plan
    residuals = measured.residuals
    # near-ties: the camera path's choice, then none, then the one that keeps the most of
    # the picture (the smallest zoom)
    ranked = (*order[:2], *sorted(order[2:], key=lambda t: measured.zoom.get(t, 0.0)))
    winner = pick({t: v for t, v in residuals.items() if measured.eligible(t)}, ranked)
    first = order[0]
    label = measured.labels
    said = (f"(K={_residual_k(plan)}, mean |Y - 127|) on {measured.frames} of "
            f"{plan.span.count} frames: {', '.join(measured.said(t) for t in order)}")
    name = plan.info.path.name
    if winner == "none":
        log.warning("%s: %s auto: no stabilization after all: %s raised the "
                    "residual motion energy from %.2f to %.2f (%s); measured %s", name,
                    field("stabilize"), label[first], residuals["none"], residuals[first],
                    _rise(residuals["none"], residuals[first]), said)
    elif winner == first:
        log.warning("%s: %s auto: %s: %s; residual motion energy %s", name,
                    field("stabilize"), label[winner], stab.reason, said)
    else:
        log.warning("%s: %s auto: %s, the lowest residual motion energy %s (the "
                    "camera path alone chose %s: %s)", name, field("stabilize"), label[winner],
                    said, label[first], stab.reason)
    chosen = variant(plan, stab, winner, tools.version, detect_has_fileformat(tools.ffmpeg))
    shown = residuals[first] if winner == "none" else residuals[winner]
    return with_stabilizer(plan, dataclasses.replace(chosen,
                                                     residual=(residuals["none"], shown)))


def measure_candidates(plan: Plan, tools: runner.Tools, order: Sequence[Transform],
                       progress: bool = False) -> Optional[Measured]:
    """Each candidate in ``order`` measured on a sample of the clip (:func:`sample_windows`);
    None when there is nothing to compare.

    One pass decodes the sample once and stabilizes it each way, by the corrections of the
    sampled frames (applied as a chunked run applies them): smoothing's and the static
    camera's from the whole range's analysis (its motions, cached), tripod's from a tripod
    pass 1 on the sample alone, the range's first frame first (its reference), as its own
    pass 1 would find them. Deshake runs on the whole range (it follows the camera frame by
    frame).
    """
    stab = plan.stabilizer
    assert stab is not None
    k = _residual_k(plan)
    if k < 1:
        return None
    from ffmotion.graph import views

    vidstab = stab.method == "vidstab"
    count = plan.span.count
    windows = sample_windows(count, k, float(plan.info.fps)) if vidstab else [(0, count)]
    sample = None if windows == [(0, count)] else windows
    ascii = detect_has_fileformat(tools.ffmpeg)
    small = min(plan.info.display_size[0], views.RESIDUAL_WIDTH) // 2 * 2
    shape = geometry(plan)
    stale: dict[Transform, float] = {}
    zoom: dict[Transform, float] = {}
    with tempfile.TemporaryDirectory(prefix="ffmotion-residual-") as name:
        folder = Path(name)
        by: list[Optional[graph_extras.Stabilizer]] = []
        for transform in order:
            if transform == "none" or not vidstab:
                by.append(None if transform == "none" else stab)
                continue
            chosen = variant(plan, stab, transform, tools.version, ascii)
            if transform == "tripod":
                values = _sampled_tripod(plan, tools, chosen, sample, folder)
            else:
                here = with_stabilizer(plan, chosen)
                ensure_transforms(here, tools, progress=progress)
                whole = load_corrections(here)
                values = [whole[i] for first, end in windows for i in range(first, end)]
            shares = [corrections.stale_share(t, shape) for t in values]
            stale[transform] = sum(shares) / len(shares)
            zoom[transform] = values[0][3]
            path = folder / f"{transform}.corrections"
            outputs.write_text(path, corrections.text(values), what="stabilization sample",
                               overwrite=True)
            by.append(dataclasses.replace(chosen, corrections=path))
        files = [folder / f"{t}.txt" for t in order]
        runner.run_ffmpeg(views.residual_command(plan, k, files, tools.ffmpeg, by, sample))
        values_by = [views.parse_energy(f.read_text(), "gray", small) for f in files]
    # the motion frames whose pair lies in one window (the sample joins them end to end)
    kept: list[int] = []
    at = 0
    for first, end in windows:
        kept.extend(range(at, at + end - first - k))
        at += end - first
    residuals: dict[Transform, float] = {}
    for transform, energies in zip(order, values_by):
        picked = [energies[i] for i in kept if i < len(energies)]
        if not picked:
            return None
        residuals[transform] = sum(picked) / len(picked)
    labels = {t: LABELS[t] if vidstab or t == "none" else stab.method for t in order}
    return Measured(residuals, stale, zoom, at, labels)


def _sampled_tripod(plan: Plan, tools: runner.Tools, tripod: graph_extras.Stabilizer,
                    sample: Optional[list[tuple[int, int]]],
                    folder: Path) -> list[corrections.Correction]:
    """Tripod's corrections for the sampled frames: its pass 1 on them alone (each frame
    against the range's first, as on the whole range), read into motions, the static zoom
    from the sample."""
    result = folder / "tripod.trf"
    argv = graph_extras.detect_command(tools.ffmpeg, plan.info.input.name, plan.input_args(),
                                       tripod, result, plan.picture, plan.source_video, sample)
    runner.run_ffmpeg(argv)
    frames = plan.span.count if sample is None else sum(b - a for a, b in sample)
    step = folder / "motions"
    step.mkdir()
    text = read_motions(plan, dataclasses.replace(tripod, transforms=result), tools, step,
                        frames)
    width, height = plan.info.display_size
    return corrections.camera_path(corrections.parse_motions(text), 0, width, height)


RESIDUAL_TOLERANCE = 0.05  # a stabilized residual this much above the unstabilized one warns
RESIDUAL_SLACK = 0.1  # 8-bit levels: auto's candidates closer than this are equally good


def raised(before: float, after: float) -> bool:
    """Whether a stabilized residual ``after`` is worse than ``before`` beyond the tolerance."""
    return after > before * (1 + RESIDUAL_TOLERANCE)


def _residual_k(plan: Plan) -> int:
    k = plan.k if plan.mode == "offset" else 2
    return min(k, plan.span.count - 1)


def _residual_text(plan: Plan, before: float, after: float) -> str:
    said = (f"residual motion energy (K={_residual_k(plan)}, mean |Y - 127|) {before:.2f} "
            f"without, {after:.2f} with")
    if raised(before, after):
        said += f" ({_rise(before, after)})"
    return said


def _rise(before: float, after: float) -> str:
    return f"+{100 * (after / before - 1) if before else 100:.0f}%"


def measure_residual(plan: Plan, tools: runner.Tools) -> Optional[tuple[float, float]]:
    """The residual motion energy without and with the plan's stabilization, in 8-bit levels
    (one cheap pass, :func:`ffmotion.graph.views.residual_command`); None when there is
    nothing to compare."""
    stab = plan.stabilizer
    if stab is None or stab.decided == "none":
        return None
    k = _residual_k(plan)
    if k < 1:
        return None
    from ffmotion.graph import views

    small = min(plan.info.display_size[0], views.RESIDUAL_WIDTH) // 2 * 2
    with tempfile.TemporaryDirectory(prefix="ffmotion-residual-") as folder:
        files = (Path(folder) / "plain.txt", Path(folder) / "stabilized.txt")
        runner.run_ffmpeg(views.residual_command(plan, k, files, tools.ffmpeg))
        plain, steady = (views.parse_energy(f.read_text(), "gray", small) for f in files)
    if not plain or not steady:
        return None
    return sum(plain) / len(plain), sum(steady) / len(steady)


def check_residual(plan: Plan, tools: runner.Tools) -> Optional[tuple[float, float]]:
    """Measure the residual motion without and with the stabilization (unless ``--stabilize
    auto`` already did, :func:`verify`) and warn when stabilizing raised it.

    Returns (without, with) in 8-bit levels, or None when there is nothing to compare.
    """
    stab = plan.stabilizer
    if stab is None or stab.decided == "none":
        return None
    if stab.residual is not None:  # auto measured its choice (and said so if it fell back)
        before, after = stab.residual
        log.info("%s: stabilization (%s): %s", plan.info.path.name, _described(stab),
                 _residual_text(plan, before, after))
        return stab.residual
    measured = measure_residual(plan, tools)
    if measured is None:
        return None
    before, after = measured
    said = _residual_text(plan, before, after)
    if raised(before, after):
        smoothing = field("stabilize_smoothing")
        other = (f"another {smoothing} (0: tripod)" if stab.decided is not None
                 else f"{field('stabilize')} auto or another {smoothing}")
        log.warning("%s: stabilization (%s) made it worse: %s; try %s, or leave it out",
                    plan.info.path.name, _described(stab), said, other)
    else:
        log.info("%s: stabilization (%s): %s", plan.info.path.name, _described(stab), said)
    return before, after


def _described(stab: graph_extras.Stabilizer) -> str:
    if stab.method == "deshake":
        return "deshake"
    auto = "auto: " if stab.decided is not None else ""
    if stab.tripod:
        return auto + "tripod"
    if stab.decided == "static":
        return auto + LABELS["static"]
    return auto + f"smoothing {stab.options.smoothing}"
