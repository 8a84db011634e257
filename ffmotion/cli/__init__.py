"""The command line: argv -> one typed request per subcommand -> the pipeline. The only
place argparse exists.

:mod:`.main` dispatches and handles errors (exit codes: 0 ok, 1 processing failed, 2 usage,
130 interrupted); :mod:`.options` defines the option groups once and turns a parsed command
line into a request; one module per form: :mod:`.run` (``ffmotion IN OUT``), ``demo``,
``batch``, ``looks``, ``sheet``, ``energy``, ``map``, ``measure``, ``magnify``, ``spectrum``,
``preview``, ``live``, ``control`` (steer a running live job), ``completion`` (shell
completion), ``doctor`` and ``passthrough`` (``ffmotion ffmpeg ARGS``).
"""

# The subcommands: name -> the module (under ffmotion.cli) holding its parser() and run(args).
# ``ffmotion IN OUT`` is the form used when the first argument is none of these names (a file
# named like one can be given as ./demo). The launcher (ffmotion.launch) reads this table too.
SUBCOMMANDS: dict[str, str] = {
    "demo": "demo", "batch": "batch", "looks": "looks", "sheet": "sheet", "energy": "energy",
    "preview": "preview", "map": "map", "live": "live", "control": "control",
    "measure": "measure", "magnify": "magnify", "spectrum": "spectrum",
    "completion": "completion", "doctor": "doctor",
    "ffmpeg": "passthrough",  # dispatched before argparse: its arguments are ffmpeg's
}
# the subcommands that probe one input file, named first like the default form's
PROBING: tuple[str, ...] = ("sheet", "energy", "preview", "map", "magnify", "spectrum")

from ffmotion.cli.main import main  # noqa: E402 - the dispatcher, with the default form's path

__all__ = ["PROBING", "SUBCOMMANDS", "main"]
