"""Shell completion (argcomplete): ``ffmotion completion bash|zsh|fish`` prints the script;
:func:`complete` answers the shell when it asks.

The shell runs ``ffmotion`` with ``_ARGCOMPLETE`` set; the launcher sees that variable before
anything else and hands over to :func:`complete`, so a plain run pays one dictionary look-up
for completion and never imports argcomplete. The command line has one parser per form (not
argparse sub-parsers): the subcommand named first is found here, and its parser completes
the rest of the line as if it were the whole program. The first word completes to the
subcommands and to files (the default form's input); ``--look`` to the built-in looks and the
saved ones (the user's ``looks.toml``, and the ``ffmotion.toml`` beside the input already typed,
else in the current folder); options whose value is a file or a folder to files or folders;
choices to their choices.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any, Optional

from ffmotion.cli import SUBCOMMANDS, options
from ffmotion.cli.console import out

SHELLS = ("bash", "zsh", "fish")
PROGRAM = "ffmotion"

# argparse dests whose value is a file (completed to files and folders), or a folder
FILE_DESTS = frozenset({"input", "output", "inputs", "out", "places", "ffmpeg", "csv", "plot",
                        "input_list", "report", "emit_commands", "near"})
FOLDER_DESTS = frozenset({"output_dir", "project"})


def parser() -> argparse.ArgumentParser:
    made = options.Parser(
        prog="ffmotion completion",
        description="Print the shell code that completes ffmotion's subcommands, options, "
                    "choices, --look names (built-in and saved) and file arguments. "
                    "bash: add 'eval \"$(ffmotion completion bash)\"' to ~/.bashrc; "
                    "zsh: add 'eval \"$(ffmotion completion zsh)\"' to ~/.zshrc after "
                    "compinit; fish: 'ffmotion completion fish > "
                    "~/.config/fish/completions/ffmotion.fish'.")
    made.add_argument("shell", choices=SHELLS, help="the shell to complete in")
    return made


def run(args: argparse.Namespace) -> int:
    import argcomplete

    out(argcomplete.shellcode([PROGRAM], shell=args.shell).strip("\n"))
    return 0


# -- answering the shell ------------------------------------------------------------------------

def complete() -> None:
    """Write the completions the shell asked for (``COMP_LINE``/``COMP_POINT``, argcomplete's
    protocol) and leave the process (argcomplete exits with ``os._exit``)."""
    import argcomplete
    from argcomplete.completers import SuppressCompleter

    name = _subcommand(os.environ.get("COMP_LINE", ""), _point())
    made = _parser_for(name)
    _attach(made, first=name is None)
    argcomplete.autocomplete(made, default_completer=SuppressCompleter(),
                             always_complete_options=False)
    sys.exit(0)  # not reached: autocomplete exits; without _ARGCOMPLETE it returns


def _point() -> int:
    line = os.environ.get("COMP_LINE", "")
    try:
        return int(os.environ.get("COMP_POINT", len(line)))
    except ValueError:
        return len(line)


def _subcommand(line: str, point: int) -> Optional[str]:
    """The subcommand the line names before the word being completed (None: the default
    form); when there is one, the line the shell gave is rewritten without it, so that its
    parser completes what follows as if it were the program."""
    from argcomplete.lexers import split_line

    words = split_line(line, point)[3]
    if len(words) < 2 or words[1] not in SUBCOMMANDS:
        return None
    name = words[1]
    at = line.find(name, len(words[0]))
    if at < 0:
        return None
    end = at + len(name)
    os.environ["COMP_LINE"] = line[:at] + line[end:]
    os.environ["COMP_POINT"] = str(max(0, point - (end - at)))
    return name


def _parser_for(name: Optional[str]) -> argparse.ArgumentParser:
    if name is None:
        from ffmotion.cli import run as default_form

        return default_form.parser()
    if name == "ffmpeg":  # ffmpeg's own arguments: files
        made = options.Parser(prog="ffmotion ffmpeg", add_help=False)
        made.add_argument("input", nargs="*")
        return made
    from ffmotion.cli.main import subcommand

    return subcommand(name).parser()  # type: ignore[attr-defined]


def _attach(made: argparse.ArgumentParser, first: bool) -> None:
    """Completers by what an option's value is: files, folders, look names; the default
    form's first word also completes to the subcommands."""
    from argcomplete.completers import DirectoriesCompleter, FilesCompleter

    files, folders = FilesCompleter(), DirectoriesCompleter()
    for action in made._actions:
        if action.dest == "look":
            action.completer = look_names  # type: ignore[attr-defined]
        elif first and action.dest == "input":
            action.completer = _first_word(files)  # type: ignore[attr-defined]
        elif action.dest in FILE_DESTS:
            action.completer = files  # type: ignore[attr-defined]
        elif action.dest in FOLDER_DESTS:
            action.completer = folders  # type: ignore[attr-defined]


def _first_word(files: Any) -> Any:
    def completer(prefix: str, **kwargs: Any) -> list[str]:
        names = [name for name in SUBCOMMANDS if name.startswith(prefix)]
        return names + list(files(prefix, **kwargs))

    return completer


def look_names(prefix: str, parsed_args: Optional[argparse.Namespace] = None,
               **kwargs: Any) -> dict[str, str]:
    """The looks ``--look`` can name, with what each shows: built-in, the user's, and the
    project's (beside the input already typed, else in the current folder); a broken file
    is left out, never an error while completing."""
    from ffmotion.pipeline import presets

    near = Path.cwd()
    for dest in ("input", "near", "project"):
        given = getattr(parsed_args, dest, None)
        if given and Path(given).exists():
            near = Path(given)
            break
    found = presets.available(near, problems=[])
    return {name: saved.description for name, saved in found.items() if name.startswith(prefix)}
