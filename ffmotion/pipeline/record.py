"""Recording a live page's output while it runs (``POST /record``, the page's button).

:class:`Recorder` writes the frames it is given (:meth:`Recorder.put`, the live feed's JPEG
frames, every one of them, queued) through an ffmpeg that keeps the motion half
(:func:`ffmotion.graph.record.recording_command`), under the safe-write rule
(:mod:`ffmotion.run.outputs`): a temporary name beside the file, never over an existing
file, the file appearing under its name only when :meth:`Recorder.stop` has finalized it.
One recording at a time: a second start while one runs is refused.
"""
from __future__ import annotations

import queue
import threading
import time
from fractions import Fraction
from pathlib import Path
from typing import Any, Optional

from ffmotion.core.errors import FfmotionError, UsageError
from ffmotion.graph.record import RECORD_SUFFIX, recording_command
from ffmotion.run import outputs, runner

QUEUE_FRAMES = 256  # frames waiting for the recording's ffmpeg (about 8 s at 30 fps)


class Busy(UsageError):
    """A recording is already running."""


def fresh_name(folder: Path, stamp: Optional[str] = None) -> Path:
    """``ffmotion-live-YYYYmmdd-HHMMSS.mkv`` in ``folder``, with ``-2``, ``-3``... when taken."""
    stamp = stamp or time.strftime("%Y%m%d-%H%M%S")
    for n in range(1, 1000):
        path = folder / f"ffmotion-live-{stamp}{'' if n == 1 else f'-{n}'}{RECORD_SUFFIX}"
        if not path.exists():
            return path
    raise UsageError(f"no free recording name in {outputs.shown(folder)}")


class Recorder:
    """One recording into ``folder`` at a time (see the module docstring)."""

    def __init__(self, ffmpeg: str, fps: Fraction, folder: Path,
                 inputs: tuple[Path, ...] = ()) -> None:
        self.ffmpeg, self.fps, self.folder, self.inputs = ffmpeg, fps, folder, inputs
        self.lock = threading.Lock()
        self.frames: "Optional[queue.Queue[Optional[bytes]]]" = None
        self.thread: Optional[threading.Thread] = None
        self.path: Optional[Path] = None
        self.written = 0
        self.dropped = 0
        self.error: Optional[str] = None

    @property
    def recording(self) -> bool:
        return self.frames is not None

    def start(self) -> Path:
        """Start recording into a fresh file name; :class:`Busy` while one runs."""
        with self.lock:
            if self.frames is not None:
                raise Busy(f"already recording to {self.path.name if self.path else '?'}: "
                           "stop it first")
            dst = fresh_name(self.folder)
            checked = outputs.check_target(dst, what="recording", inputs=self.inputs)
            assert checked is not None
            self.path, self.written, self.dropped, self.error = checked, 0, 0, None
            frames: "queue.Queue[Optional[bytes]]" = queue.Queue(QUEUE_FRAMES)
            self.frames = frames
            self.thread = threading.Thread(target=self._write, args=(checked, frames),
                                           name="ffmotion-record", daemon=True)
            self.thread.start()
            return checked

    def put(self, frame: bytes) -> None:
        """Queue one JPEG frame (from the feed's thread: never blocks; a full queue drops
        it, counted)."""
        frames = self.frames
        if frames is None:
            return
        try:
            frames.put_nowait(frame)
        except queue.Full:
            self.dropped += 1

    def stop(self) -> dict[str, Any]:
        """Finish the recording (the file finalized under its name); what was written."""
        with self.lock:
            frames, thread, path = self.frames, self.thread, self.path
            if frames is None or thread is None or path is None:
                raise UsageError("not recording")
            frames.put(None)  # after every frame already queued
            thread.join()
            self.frames = self.thread = None
            if self.error is not None:
                raise UsageError(f"the recording {path.name} failed: {self.error}")
            return {"saved": str(path), "name": path.name, "frames": self.written,
                    "dropped": self.dropped}

    def _write(self, dst: Path, frames: "queue.Queue[Optional[bytes]]") -> None:
        try:
            with outputs.atomic_output(dst, overwrite=False, what="recording") as tmp:
                with runner.writing(recording_command(self.ffmpeg, self.fps, tmp)) as stdin:
                    while (frame := frames.get()) is not None:
                        stdin.write(frame)
                        self.written += 1
        except (FfmotionError, OSError) as exc:
            self.error = str(exc)
            while frames.get() is not None:  # let stop() find its end marker
                pass


__all__ = ["Busy", "Recorder", "fresh_name"]
