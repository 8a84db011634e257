"""The man page, ffmotion(1), generated from the parsers ``--help`` prints (argparse-manpage):
one source, so the two never disagree.

The build (``build_hooks.py``, run by ``pip install .``) writes it into the package as
``ffmotion/cli/ffmotion.1`` and into the installation's ``share/man/man1`` (where ``man
ffmotion`` finds it when the installation's ``bin`` is on PATH). :func:`parser` is the tree
the page is made from: the default form's parser with every subcommand's parser as a
command of it, used for nothing else (the command line parses with each form's own parser).
"""
from __future__ import annotations

import argparse
import re
from pathlib import Path

from ffmotion import __version__
from ffmotion.cli import SUBCOMMANDS

PAGE = "ffmotion.1"
SHIPPED = Path(__file__).with_name(PAGE)  # written by the build

# one line per command in the page's list of commands
SUMMARIES = {
    "demo": "a sample clip and its motion extraction",
    "batch": "many inputs into one folder, in parallel, resumably, or as commands",
    "looks": "list the look presets, save one",
    "sheet": "a contact sheet of offsets, to choose one by looking",
    "energy": "a motion-energy timeline (CSV, PNG)",
    "preview": "a web page to choose the offset and the look by scrubbing",
    "map": "where motion happened, one picture (or a motiogram)",
    "live": "a camera's motion, as it records",
    "completion": "print the shell completion script (bash, zsh, fish)",
    "doctor": "what the ffmpeg in use and this machine can serve",
    "ffmpeg": "run the ffmpeg ffmotion uses with ARGS (its arguments are ffmpeg's own)",
}

SYNOPSIS = (".B ffmotion\n[options] INPUT OUTPUT\n.br\n.B ffmotion\nCOMMAND [options] ...\n.br\n"
            ".B ffmotion\nffmpeg ARGS...")


def _items(*pairs: tuple[str, str]) -> str:
    return "\n".join(f".TP\n\\fB{term}\\fR\n{text}" for term, text in pairs)


EXTRA_SECTIONS = {
    "exit status": _items(("0", "done"),
                          ("1", "processing failed (ffmpeg failed, a batch input failed)"),
                          ("2", "usage: a bad option or value, a missing input"),
                          ("130", "interrupted (Ctrl-C, SIGTERM)")),
    "environment": _items(("FFMOTION_FFMPEG", "the ffmpeg binary to use (--ffmpeg wins)"),
                          ("XDG_CONFIG_HOME", "where the user's looks.toml is (default "
                                              "~/.config)"),
                          ("NO_COLOR, TERM=dumb", "no escape sequences on the terminal (no "
                                                  "progress bar)")),
    "files": _items(("$XDG_CONFIG_HOME/ffmotion/looks.toml", "the user's saved looks"),
                    ("ffmotion.toml", "beside an input: the project's saved looks")),
    "see also": "ffmpeg(1); ffmotion's manual (docs/ in its source tree)",
}


def parser() -> argparse.ArgumentParser:
    """The default form's parser, with each subcommand's parser as one of its commands."""
    from ffmotion.cli import run as default_form
    from ffmotion.cli.main import subcommand

    made = default_form.parser()
    made.usage = "%(prog)s [options] INPUT OUTPUT\n       %(prog)s COMMAND [options] ..."
    made.epilog = None  # the commands are listed below, each with its options
    commands = made.add_subparsers(title="commands", dest="command", metavar="COMMAND")
    for name in SUBCOMMANDS:
        commands.add_parser(name, help=SUMMARIES.get(name, ""))
        real = subcommand(name).parser()  # type: ignore[attr-defined]
        if name == "ffmpeg":
            real.usage = "%(prog)s ARGS..."
        commands.choices[name] = real
    return made


def page() -> str:
    """The man page (roff)."""
    from argparse_manpage.manpage import Manpage

    made = parser()
    made._manpage = [{"heading": "synopsis", "content": SYNOPSIS}]  # type: ignore[attr-defined]
    made._manpage += [{"heading": heading, "content": text}  # type: ignore[attr-defined]
                      for heading, text in EXTRA_SECTIONS.items()]
    manpage = Manpage(made, {"project_name": "ffmotion", "version": __version__,
                             "manual_title": "ffmotion manual",
                             "description": "motion extraction as one ffmpeg filter graph"},
                      format="single-commands-section")
    return roff_safe(str(manpage))


# the requests argparse-manpage writes; any other line starting with . or ' is text that the
# wrapping put first on its line (".mkv", "'-'"), which roff would take for a request
_REQUESTS = re.compile(r"^\.(TH|SH|SS|TP|B|I|BR|IR|BI|br|PP|IP|RS|RE|nf|fi|sp|UR|UE)(\s|$)")


def roff_safe(text: str) -> str:
    """Text lines that begin with ``.`` or ``'`` escaped with ``\\&``."""
    return "\n".join(line if not line.startswith((".", "'")) or _REQUESTS.match(line)
                     else "\\&" + line for line in text.split("\n"))

