"""What the build runs beside setuptools' own steps (pyproject.toml, [tool.setuptools.cmdclass]):
the man page, ffmotion(1), generated from the command line's parsers by argparse-manpage
(:mod:`ffmotion.cli.manual`), so that ``ffmotion --help`` and the page never disagree.

It is written twice: into the package (``ffmotion/cli/ffmotion.1``, beside the code that
describes it) and to ``build/man/ffmotion.1``, which the wheel installs as
``share/man/man1/ffmotion.1`` (``man ffmotion`` finds it when the installation's ``bin`` is on
PATH; pipx links it into ``~/.local/share/man``). Not part of the installed package.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

from setuptools.command.build_py import build_py as _build_py

ROOT = Path(__file__).resolve().parent
MAN_BUILT = Path("build", "man", "ffmotion.1")  # relative to the project root, as data-files


def man_page() -> str:
    """The page, made by importing the command line from this source tree."""
    sys.path.insert(0, str(ROOT))
    try:
        from ffmotion.cli import manual

        return manual.page()
    finally:
        sys.path.remove(str(ROOT))


class BuildPy(_build_py):
    """build_py, then the man page into the built package and build/man."""

    def run(self) -> None:
        super().run()
        page = man_page()
        targets = [ROOT / MAN_BUILT]
        if not getattr(self, "editable_mode", False):
            targets.append(Path(self.build_lib, "ffmotion", "cli", "ffmotion.1"))
        for target in targets:
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
            tmp.write_text(page, encoding="utf-8")
            os.replace(tmp, target)
