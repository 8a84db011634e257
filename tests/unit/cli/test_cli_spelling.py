"""The command line's own rules: argparse lives in ffmotion/cli only; library messages name
fields and only the command line spells them as flags, with a flag for every field a message
can name; the look flags, preset keys and preview parameters come from the look's table."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

import ffmotion
import ffmotion.cli  # noqa: F401 - loads ffmotion.cli.main
from ffmotion.core import looks
from ffmotion.core.errors import UsageError

PACKAGE = Path(ffmotion.__file__).parent
_MAIN = sys.modules["ffmotion.cli.main"]  # the module (ffmotion.cli.main is the function)


def _below_cli() -> list[Path]:
    return [p for p in PACKAGE.rglob("*.py") if "cli" not in p.relative_to(PACKAGE).parts]


def test_argparse_lives_in_the_cli_only() -> None:
    users = [str(p.relative_to(PACKAGE)) for p in _below_cli()
             if re.search(r"^\s*(import argparse|from argparse )|argparse\.", p.read_text(), re.M)]
    assert users == []


def _fields_named() -> set[str]:
    """Every field name a message below ffmotion/cli can name: field("x") literals, the names
    FramesOrTime and the request parsers are given (and their defaults), the look's fields."""
    names: set[str] = set()
    for path in _below_cli():
        text = path.read_text()
        names |= set(re.findall(r"\bfield\(\s*[\"']([a-z_]+)[\"']\s*\)", text))
        names |= set(re.findall(r"FramesOrTime\.(?:offset|time)\([^()]*?,\s*[\"']([a-z_]+)[\"']\)",
                                text))
        if path.name in ("units.py", "request.py"):
            names |= set(re.findall(r"name: str = [\"']([a-z_]+)[\"']", text))
    names |= {spec.name for spec in looks.FIELDS}
    names.discard("time")  # FramesOrTime.time's default: only given valid internal values
    return names


def test_every_field_a_message_names_has_a_flag() -> None:
    table = _MAIN.flag_table()
    named = _fields_named()
    assert {"threads", "blend", "encoder_opts", "overwrite", "chunks", "report"} <= named
    missing = sorted(name for name in named if name not in table)
    assert missing == []
    assert table["blend"] == "--mode" and table["audio"] == "--no-audio"
    assert table["encoder_opts"] == "--encoder-opt" and table["subtitles"] == "--no-subtitles"


def test_the_running_parser_spells_first_then_any_form() -> None:
    preview = _MAIN.subcommand("preview").parser()
    spell = _MAIN.spelling(preview)
    assert spell("width") == "--width" and spell("trail") == "--trail"
    assert spell("rgb_offsets") == "--rgb-offsets" and spell("--start") == "--start"


def test_threads_zero_names_the_field_in_the_library_and_the_flag_on_the_command_line(
        av_clip: Path, tmp_path: Path) -> None:
    with pytest.raises(UsageError) as caught:
        ffmotion.extract(av_clip, tmp_path / "o.mp4", threads=0)
    assert str(caught.value) == "threads must be 1 to 1024, not 0"
    done = subprocess.run([sys.executable, "-m", "ffmotion", str(av_clip),
                           str(tmp_path / "o.mp4"), "--threads", "0"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert done.stderr == "ffmotion: error: --threads must be 1 to 1024, not 0\n"
    assert not (tmp_path / "o.mp4").exists()


def test_the_look_flags_keys_and_parameters_come_from_the_table() -> None:
    from ffmotion.cli import run as cli_run
    from ffmotion.pipeline import presets
    from ffmotion.preview import query

    flags = _MAIN.flags_of(cli_run.parser())
    for spec in looks.FIELDS:
        assert flags[spec.name] == spec.flag
        assert presets._BY_KEY[spec.key] is spec
        assert spec.query in query.PARAMETERS
    assert {spec.key for spec in looks.FIELDS} == {
        "mode", "gain", "blur", "gray", "rgb-offsets", "trail", "overlay", "threshold", "glow",
        "glow-radius", "denoise", "threshold-edge", "threshold-width", "threshold-on",
        "glow-mode"}
    assert looks.Look.parse(gain="2.5", rgb_offsets="1,2,3", trail="0.9", blur="2") == \
        looks.Look(gain=looks.parse_gain("2.5"), rgb_offsets=looks.parse_rgb_offsets("1,2,3"),
                   trail=0.9, blur=2)
    with pytest.raises(UsageError, match="Look.parse reads"):
        looks.Look(gain="2.5")  # type: ignore[arg-type]
