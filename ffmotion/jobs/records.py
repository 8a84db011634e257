"""What a batch is made of: jobs, and the record of what happened to each."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Literal, Optional

from ffmotion.core.magnify import MagnifySpec
from ffmotion.core.request import MotionRequest, OutputSpec
from ffmotion.graph import outputs as graph_outputs
from ffmotion.run import runner

Status = Literal["done", "skipped", "failed", "interrupted", "emitted"]
STATUSES: tuple[Status, ...] = ("done", "skipped", "failed", "interrupted", "emitted")
# an input and its output -> the input's request (see jobs.batch.BatchRequest)
RequestFactory = Callable[[Path, Path], MotionRequest]
Progress = Callable[[int, int, int], None]  # (job index, frames done, frames in total)


@dataclass(frozen=True)
class Job:
    """One input and its fully checked request (absolute paths)."""

    index: int
    request: MotionRequest
    magnify: Optional[MagnifySpec] = None  # magnify instead of extracting motion

    @property
    def src(self) -> Path:
        return self.request.input.path

    @property
    def output(self) -> OutputSpec:
        assert self.request.output is not None
        return self.request.output

    @property
    def dst(self) -> Path:
        return self.output.path


@dataclass(frozen=True)
class Record:
    """What happened to one input: a line of the report."""

    input: str
    output: str
    status: Status
    frames: Optional[int] = None  # frames written (done) or to be written (emitted)
    k: Optional[int] = None  # the offset in frames (freeze mode: the reference frame)
    seconds: Optional[float] = None  # wall time of the job
    argv: Optional[list[str]] = None  # the ffmpeg command, writing to the real output path
    error: Optional[str] = None  # one line, for failed jobs

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class Outcome:
    records: list[Record]
    interrupted: bool = False




def job_record(job: Job, status: Status, **details: Any) -> Record:
    """The record of ``job`` with ``status``."""
    return Record(str(job.src), str(job.dst), status, **details)


def output_done(dst: Path) -> bool:
    """A finished output: the file, or for an image sequence its first image (moved into
    place last, so a set stopped halfway is not taken as done)."""
    if graph_outputs.is_sequence(dst):
        return runner.sequence_done(dst)
    return dst.exists()
