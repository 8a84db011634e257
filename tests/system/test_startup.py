"""Start-up stays lean: what ``import ffmotion.cli`` and a ``--print-command`` run load.

No timing here (the measured figures are in docs/performance.md, "Start-up and probing", and come
from ``benchmarks/bench.py --sections startup``): these tests hold the property the figures
rest on, that what only other subcommands, options or outputs need is imported by the
functions that use it, never at start-up.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

# Never loaded by `import ffmotion.cli`, nor by a plain run's --print-command: the modules of
# other subcommands (preview, batch, chunks/Dask, explore/maps, the numpy reference), of live
# inputs and streamed outputs, of image sequences' headers, and the libraries they pull in.
NEVER_AT_START = (
    "numpy", "tqdm", "dask", "distributed", "concurrent.futures", "http.server", "uuid",
    "secrets", "statistics", "tomllib", "ctypes.util",
    "tests.reference", "ffmotion.pipeline.explore", "ffmotion.core.maps", "ffmotion.preview",
    "ffmotion.jobs", "ffmotion.graph.chunks", "ffmotion.graph.views", "ffmotion.graph.maps",
    "ffmotion.graph.preview", "ffmotion.media.live",
    "ffmotion.media.images", "ffmotion.pipeline.streams",
    # saved looks (only with --look), stabilization (only with --stabilize)
    "ffmotion.pipeline.presets", "ffmotion.pipeline.stabilize", "ffmotion.graph.corrections",
)
# loaded by a plain run (its encoder arguments), but not by the import
NOT_AT_IMPORT = ("ffmotion.graph.stream",)
# nor by a plain run that writes its output: the residual check is for stabilized runs, and
# the host name in temporary names comes from os.uname()
NOT_IN_A_RUN = ("ffmotion.graph.views", "socket")

# runs ffmotion's main() on the script's arguments, as the program would
_MAIN = "from ffmotion.cli import main\ncode = main(sys.argv[1:])\nassert code == 0, code"
_REPORT = "import sys\n{code}\nsys.stdout.flush()\nprint('\\nMODULES', ' '.join(sorted(sys.modules)))\n"


def _loaded(code: str, *argv: str) -> tuple[set[str], str]:
    """The modules a fresh interpreter has loaded after running ``code``, and its stdout."""
    done = subprocess.run([sys.executable, "-c", _REPORT.format(code=code), *argv],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    before, _, names = done.stdout.rpartition("\nMODULES ")
    return set(names.split()), before


def _offenders(loaded: set[str], names: tuple[str, ...]) -> list[str]:
    return sorted(m for m in loaded if any(m == n or m.startswith(n + ".") for n in names))


def test_import_cli_loads_only_what_a_run_needs() -> None:
    loaded, _ = _loaded("import ffmotion.cli")
    assert {"ffmotion.cli", "ffmotion.pipeline.controller", "ffmpeg"} <= loaded  # the check can see modules
    assert _offenders(loaded, NEVER_AT_START + NOT_AT_IMPORT) == []


def test_import_starts_no_process() -> None:
    """Importing ffmotion starts nothing: prctl comes from the libc already loaded, not
    through ctypes.util.find_library, which runs ldconfig (a process start, ~10 ms)."""
    code = ("import subprocess\n"
            "started = []\n"
            "real = subprocess.Popen.__init__\n"
            "def spy(self, args, *rest, **kwargs):\n"
            "    started.append(args)\n"
            "    real(self, args, *rest, **kwargs)\n"
            "subprocess.Popen.__init__ = spy\n"
            "import ffmotion.cli\n"
            "from ffmotion.run import procs\n"
            "print('started', started, 'prctl', procs._PRCTL is not None)")
    loaded, out = _loaded(code)
    assert "started [] " in out
    if sys.platform.startswith("linux"):
        assert "prctl True" in out
    assert "ctypes.util" not in loaded


def test_print_command_run_loads_only_what_it_uses(av_clip: Path, gen_ffmpeg: str,
                                                   tmp_path: Path) -> None:
    loaded, out = _loaded(_MAIN, str(av_clip), str(tmp_path / "out.mp4"), "-k", "2",
                          "--ffmpeg", gen_ffmpeg, "--print-command")
    assert gen_ffmpeg in out and "blend" in out  # the command was built and printed
    assert not (tmp_path / "out.mp4").exists()
    assert {"ffmotion.media.mp4index", "ffmotion.graph.motion"} <= loaded
    assert _offenders(loaded, NEVER_AT_START) == []


def test_plain_run_loads_only_what_it_uses(av_clip: Path, gen_ffmpeg: str,
                                            tmp_path: Path) -> None:
    out = tmp_path / "out.mp4"
    loaded, _ = _loaded(_MAIN, str(av_clip), str(out), "-k", "2", "--ffmpeg", gen_ffmpeg, "-q")
    assert out.stat().st_size > 0  # the run wrote its output
    assert {"ffmotion.run.outputs", "ffmotion.graph.stream"} <= loaded
    assert _offenders(loaded, NEVER_AT_START + NOT_IN_A_RUN) == []


def test_look_and_stabilize_load_their_modules(av_clip: Path, gen_ffmpeg: str,
                                                tmp_path: Path) -> None:
    """The modules kept off the plain path still load where they are needed."""
    loaded, out = _loaded(_MAIN, str(av_clip), str(tmp_path / "out.mp4"), "-k", "2",
                          "--ffmpeg", gen_ffmpeg, "--look", "classic", "--stabilize",
                          "--print-command")
    assert "blend" in out  # printed (--stabilize auto may decide that none is needed)
    assert {"ffmotion.pipeline.presets", "ffmotion.pipeline.stabilize"} <= loaded


def test_only_the_program_freezes_its_imports(tmp_path: Path) -> None:
    """``main()`` as the program moves the imports' objects out of the collector's way;
    ``main(argv)`` called from another program leaves its collector alone."""
    missing = str(tmp_path / "missing.mp4")
    code = ("import gc\n"
            "from ffmotion.cli import main\n"
            f"code = main([{missing!r}, 'out.mp4'])\n"
            "print('as a function', code, gc.get_freeze_count())\n"
            f"sys.argv = ['ffmotion', {missing!r}, 'out.mp4']\n"
            "code = main()\n"
            "print('as the program', code, gc.get_freeze_count() > 0)")
    _, out = _loaded(code)
    assert "as a function 2 0\n" in out
    assert "as the program 2 True" in out
