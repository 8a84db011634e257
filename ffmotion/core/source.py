"""What ffmpeg opens as the input: a file, an image sequence, a stream or a live device.

Every graph opens its input as ``ffmpeg.input(source.name, **source.input_args())``. A plain
file name is always read literally (never an image2 pattern, never a protocol); the other
kinds exist only where the user asked for them (a sequence option, a URL, ``-``, ``live``).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Optional, Union

from ffmotion.core.names import literal_input_args

SourceKind = Literal["file", "sequence", "stream", "live"]


@dataclass(frozen=True)
class Source:
    """An input as ffmpeg is told to open it.

    ``name`` is the word after ``-i``; ``options`` the input options before it, in order;
    ``path`` the file on disk standing for the input where there is one (the file itself, an
    image folder or the first image), used for output names and the never-overwrite-an-input
    checks.
    """

    kind: SourceKind
    name: str
    options: tuple[tuple[str, Any], ...] = ()
    path: Optional[Path] = None

    @classmethod
    def file(cls, path: Union[str, Path]) -> "Source":
        """A regular file, read literally."""
        return cls("file", str(path), tuple(literal_input_args(path).items()), Path(path))

    def input_args(self) -> dict[str, Any]:
        """The input options as ffmpeg-python keyword arguments."""
        return dict(self.options)

    def input_argv(self) -> list[str]:
        """The input options and ``-i NAME`` as argv words."""
        argv: list[str] = []
        for key, value in self.options:
            argv += [f"-{key}"] if value is None else [f"-{key}", str(value)]
        return [*argv, "-i", self.name]

    @property
    def shown(self) -> str:
        """How messages name the input: the file, ``stdin``, the URL as typed, the device."""
        if self.path is not None:
            return str(self.path)
        if self.name == "pipe:0":
            return "stdin"
        if dict(self.options).get("f") == "lavfi":
            return f"lavfi:{self.name}"
        return self.name

    @property
    def seekable(self) -> bool:
        """Whether the input can be read twice and seeked (files and image sequences)."""
        return self.kind in ("file", "sequence")


__all__ = ["Source", "SourceKind"]
