"""``ffmotion looks``: the look presets, and ``--save`` of the look the flags give."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ffmotion.cli import options, report
from ffmotion.cli.console import out
from ffmotion.core.errors import UsageError
from ffmotion.run import outputs


def parser() -> argparse.ArgumentParser:
    made = options.Parser(prog="ffmotion looks",
                          description="List the look presets (use one with --look NAME; flags "
                                      "given beside it override it): name, what it shows, its "
                                      "flags, and where it comes from (built-in, the user's "
                                      "looks.toml, or the project's ffmotion.toml; project "
                                      "overrides user overrides built-in). With --save NAME, "
                                      "save the look given by the flags.")
    made.add_argument("-v", "--verbose", action="count", default=0, help=argparse.SUPPRESS)
    made.add_argument("--near", metavar="PATH", type=Path,
                      help="also list the ffmotion.toml in the folder of this input")
    saving = made.add_argument_group("saving")
    saving.add_argument("--save", metavar="NAME",
                        help="save the look given by --look and the look flags as NAME in the "
                             "user's looks.toml ($XDG_CONFIG_HOME/ffmotion, default ~/.config)")
    saving.add_argument("--project", metavar="FOLDER", type=Path,
                        help="save into FOLDER/ffmotion.toml instead (the inputs' folder)")
    saving.add_argument("--description", metavar="TEXT", default="",
                        help="a few words saying what the saved look shows")
    saving.add_argument("-y", "--overwrite", action="store_true",
                        help="replace a saved preset of the same name")
    options.look_args(made)
    options.json_arg(made)
    return made


def run(args: argparse.Namespace) -> int:
    from ffmotion.pipeline import presets

    near = args.near if args.near is not None else args.project
    if args.save:
        look = options.look(args, near)
        if args.project is not None and not args.project.is_dir():
            raise UsageError(f"--project must be an existing folder, not {args.project}")
        path = (args.project / presets.PROJECT_FILE if args.project is not None
                else presets.user_file())
        presets.save(path, args.save, look, args.description, args.overwrite)
        report.record(outputs=[report.output(path, "looks")],
                      look=report.look_json(look, args.save))
        print(f"saved look {args.save!r} ({look.describe()}) to {path}", file=sys.stderr)
        return 0
    found = presets.available(near)
    report.record(result={"looks": [{"name": p.name, "description": p.description,
                                     "flags": p.look.flags(), "source": p.source}
                                    for p in found.values()]})
    if report.active() is not None:
        return 0
    width = max(len(name) for name in found)
    for preset in found.values():
        flags = " ".join(preset.look.flags()) or "no flags"
        # descriptions come from users' files: no terminal escape reaches the terminal
        out(f"{preset.name:<{width}}  {outputs.shown(preset.description)} ({flags}) "
            f"[{outputs.shown(preset.source)}]")
    return 0
