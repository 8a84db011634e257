"""The man page is made from the parsers ``--help`` prints (one source): it holds every flag
and every help text of every form, renders with ``man -l`` without a warning, and the wheel
ships it (in the package and as share/man/man1)."""
from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from ffmotion.cli import SUBCOMMANDS, manual
from ffmotion.cli import run as default_form
from ffmotion.cli.main import subcommand

ROOT = Path(__file__).resolve().parents[2]


def forms() -> dict[str, argparse.ArgumentParser]:
    made = {"ffmotion": default_form.parser()}
    made.update({name: subcommand(name).parser() for name in SUBCOMMANDS})  # type: ignore[attr-defined]
    return made


@pytest.fixture(scope="module")
def page() -> str:
    return manual.page()


def _plain(roff: str) -> str:
    """The page's text as words: escapes undone, fonts dropped, lines joined."""
    text = roff.replace("\\-", "-").replace("\\&", "").replace("\\(aq", "'")
    text = re.sub(r"\\f[BIRP]|\\/|\\,", "", text)
    return " ".join(text.split())


def _helps(parser: argparse.ArgumentParser) -> list[tuple[list[str], str]]:
    formatter = parser._get_formatter()
    shown = []
    for action in parser._actions:
        if action.help == argparse.SUPPRESS or isinstance(
                action, (argparse._SubParsersAction, argparse._HelpAction)):  # -h: not listed
            continue
        help_text = formatter._expand_help(action) if action.help else ""
        shown.append((list(action.option_strings), " ".join(help_text.split())))
    return shown


@pytest.mark.parametrize("name", ["ffmotion", *SUBCOMMANDS])
def test_page_holds_every_flag_and_help(page: str, name: str) -> None:
    text = _plain(page)
    parser = forms()[name]
    for flags, help_text in _helps(parser):
        for flag in flags:
            assert re.search(rf"(?<![\w-]){re.escape(flag)}(?![\w-])", text), (name, flag)
        assert help_text in text, (name, flags, help_text)
    if name != "ffmotion":
        assert f"ffmotion {name}" in text
    if parser.description:
        assert " ".join(parser.description.split()) in text


def test_hidden_flags_stay_hidden(page: str) -> None:
    assert "stabilize-auto" not in _plain(page)  # what '--stabilize auto' becomes


def test_page_sections(page: str) -> None:
    text = _plain(page)
    assert page.startswith(".TH FFMOTION \"1\"")
    for heading in ("NAME", "SYNOPSIS", "DESCRIPTION", "COMMANDS", "EXIT STATUS",
                    "ENVIRONMENT", "FILES"):
        assert re.search(rf"^\.SH\s+{heading}$", page, re.M), heading
    assert "130 interrupted" in text


def test_no_text_line_reads_as_a_request(page: str) -> None:
    for line in page.splitlines():
        if line.startswith((".", "'")):
            assert manual._REQUESTS.match(line), line


@pytest.mark.skipif(shutil.which("man") is None, reason="man is not installed")
def test_man_reads_it(page: str, tmp_path: Path) -> None:
    path = tmp_path / "ffmotion.1"
    path.write_text(page)
    done = subprocess.run(["man", "-l", str(path)], capture_output=True, text=True,
                          env={**os.environ, "MANWIDTH": "100", "MANPAGER": "cat",
                               "PAGER": "cat", "MAN_KEEP_FORMATTING": ""}, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""  # no troff warning
    shown = re.sub(".\b", "", done.stdout)  # overstrike bold, where man still uses it
    assert "ffmotion - motion extraction" in shown
    for flag in ("--offset", "--look", "--columns", "--output-dir", "--emit-commands"):
        assert flag in shown


def test_wheel_ships_the_page(tmp_path: Path) -> None:
    """``pip wheel .`` (the build ``pip install .`` runs) writes the page into the package
    and as share/man/man1, the same page :func:`manual.page` makes."""
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w",
                           str(tmp_path), str(ROOT)], capture_output=True, text=True,
                          timeout=600)
    if done.returncode != 0 and re.search(r"connection|resolve|No matching distribution",
                                          done.stderr, re.I):
        pytest.skip(f"no package index to build with: {done.stderr.strip()[-200:]}")
    assert done.returncode == 0, done.stderr
    wheel = next(tmp_path.glob("ffmotion-*.whl"))
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        shipped = archive.read("ffmotion/cli/ffmotion.1").decode()
        data = [n for n in names if n.endswith(".data/data/share/man/man1/ffmotion.1")]
        assert len(data) == 1
        assert archive.read(data[0]).decode() == shipped
    assert _strip_date(shipped) == _strip_date(manual.page())


def _strip_date(page: str) -> str:
    return re.sub(r'^(\.TH \S+ "1") "[^"]*"', r"\1", page, count=1)
