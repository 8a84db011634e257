"""Chunked runs of stabilized clips: the corrections are computed once for the whole clip
and each chunk applies its slice; the frames equal the single pass bit for bit, on both
ffmpeg builds, in offset and freeze mode, in tripod and smoothing mode, also where vid.stab
fills uncovered borders from the previous frame (the chunk then starts earlier)."""
from __future__ import annotations

import hashlib
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ffmotion import api
from ffmotion.core.errors import UsageError
from ffmotion.core.request import StabilizeOptions
from ffmotion.graph import corrections
from ffmotion.graph import extras as graph_extras
from ffmotion.jobs import chunks as chunking
from ffmotion.pipeline import controller, stabilize
from ffmotion.run import runner

from helpers import run_ffmpeg

SCENE = ("color=c=0x808080:s=192x144:r=30:d=5,noise=alls=80:allf=u,gblur=sigma=2,"
         "drawbox=x=30:y=30:w=40:h=30:c=0x203040:t=fill,"
         "drawbox=x=140:y=10:w=30:h=40:c=0xe0d0a0:t=fill,"
         "drawgrid=w=24:h=24:t=1:c=white@0.4[bg];"
         "color=c=white:s=12x12:r=30:d=5[obj];"
         "[bg][obj]overlay=x='20+40*t':y=100,")


def _clip(folder: Path, ffmpeg: str, name: str, frames: int, x: str, y: str,
          turn: str = "") -> Path:
    path = folder / name
    run_ffmpeg(ffmpeg, "-filter_complex", SCENE + turn + f"crop=w=128:h=96:x='{x}':y='{y}',"
               "format=yuv420p", "-frames:v", str(frames), "-c:v", "ffv1", "-g", "1", str(path))
    return path


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory, gen_ffmpeg: str) -> dict[str, Path]:
    """``shaky``: a still scene through a jittering window, 72 frames (the static zoom covers
    every frame's borders); ``rolling``: 120 frames of a camera that also rolls by up to 20
    degrees. The static zoom knows only shifts, so with smoothing 30 a few frames' corners
    come from more than 10 px outside, where vid.stab keeps the frame before."""
    folder = tmp_path_factory.mktemp("stabchunks")
    return {
        "shaky": _clip(folder, gen_ffmpeg, "shaky.mkv", 72, "32+round(10*sin(n*1.9))",
                       "24+round(8*cos(n*2.7))"),
        "rolling": _clip(folder, gen_ffmpeg, "rolling.mkv", 120, "32+round(3*sin(n*1.9))",
                         "24+round(3*cos(n*2.7))", turn="rotate='0.35*sin(n*0.9)':c=gray,"),
    }


@pytest.fixture(autouse=True)
def private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    cache = tmp_path / "cache"
    monkeypatch.setenv("FFMOTION_CACHE", str(cache))
    return cache


def frames_md5(ffmpeg: str, path: Path) -> tuple[int, str]:
    out = subprocess.run([ffmpeg, "-v", "error", "-i", str(path), "-map", "0:v:0", "-f",
                          "framemd5", "-"], capture_output=True, text=True, check=True).stdout
    lines = [line.split(",")[-1].strip() for line in out.splitlines() if not line.startswith("#")]
    return len(lines), hashlib.md5("".join(lines).encode()).hexdigest()


def leftovers(folder: Path) -> list[str]:
    return sorted(n for n in os.listdir(folder) if n.startswith("."))


def settled(ffmpeg: str, src: Path, dst: Path, **kwargs):
    tools = runner.tools(ffmpeg)
    return stabilize.settle(controller.prepare(api.make_request(src, dst, lossless=True, **kwargs),
                                        tools), tools)


def uncovered(plan) -> list[int]:
    """Frames of the range (counted from its start) whose borders vid.stab fills from the
    frame before."""
    geometry = stabilize.geometry(plan)
    return [i for i, t in enumerate(stabilize.load_corrections(plan))
            if not corrections.covered(t, geometry)]


def single_and_chunked(ffmpeg: str, src: Path, folder: Path, cuts, client=None, **kwargs):
    """The single pass and a chunked run (local pool, or Dask through ``client``);
    ``cuts(out_frames, uncovered frames)``."""
    tools = runner.tools(ffmpeg)
    one, many = folder / "single.mkv", folder / "chunked.mkv"
    plan = settled(ffmpeg, src, one, **kwargs)
    controller.run(plan, tools)
    chunked = controller.prepare(api.make_request(src, many, lossless=True, **kwargs), tools)
    boundaries = sorted(set(cuts(plan.out_frames, uncovered(plan))))
    result = chunking.run_chunked(chunked, tools, 3, jobs=None if client else 2, cuts=boundaries,
                             client=client, worker_ffmpeg=ffmpeg)
    return one, many, result


def at_uncovered(n: int, frames: list[int]) -> list[int]:
    """Chunks that start right at frames with borders from the frame before (and one in the
    middle)."""
    return [0, *(u for u in frames if 0 < u < n), n // 2, n]


SMOOTH = StabilizeOptions(smoothing=10)
TRIPOD = StabilizeOptions(smoothing=0)
WIDE = StabilizeOptions(smoothing=30)
CASES = {
    "offset-smooth": ({"offset": 3, "stabilize": SMOOTH}, lambda n, u: [0, 20, 21, n - 3, n]),
    "offset-tripod": ({"offset": 2, "stabilize": TRIPOD}, lambda n, u: [0, 33, n]),
    "freeze-smooth": ({"freeze": 30, "stabilize": SMOOTH}, lambda n, u: [0, 25, 31, n]),
    "range-smooth": ({"offset": 4, "start": "10f", "duration": "50f", "stabilize": SMOOTH},
                     lambda n, u: [0, 17, n]),
}


@pytest.mark.parametrize("clip", ["shaky", "rolling"])
@pytest.mark.parametrize("name", list(CASES))
def test_stabilized_chunks_equal_the_single_pass(ffmpeg_bin, clips, tmp_path, clip, name):
    kwargs, cuts = CASES[name]
    if clip == "rolling":  # chunks start where the borders come from the frame before
        cuts = at_uncovered
        if kwargs["stabilize"] == SMOOTH:
            kwargs = {**kwargs, "stabilize": WIDE}
    one, many, result = single_and_chunked(ffmpeg_bin, clips[clip], tmp_path, cuts, **kwargs)
    assert result.chunks >= 2
    assert frames_md5(ffmpeg_bin, many) == frames_md5(ffmpeg_bin, one)
    assert leftovers(tmp_path) == []  # no segment, listing or corrections slice left


@pytest.fixture(scope="module")
def interlaced_rolling(tmp_path_factory: pytest.TempPathFactory, gen_ffmpeg: str) -> Path:
    """The rolling camera as interlaced MPEG-2 in MPEG-TS (two fields of a 60 fps render per
    frame, top field first): 120 frames, with runs of frames whose borders come from the frame
    before once deinterlaced and stabilized with smoothing 30."""
    path = tmp_path_factory.mktemp("stabchunks-i") / "interlaced.ts"
    scene = SCENE.replace("r=30", "r=60").replace("x='20+40*t'", "x='20+20*t'")
    run_ffmpeg(gen_ffmpeg, "-filter_complex", scene + "rotate='0.35*sin(n*0.45)':c=gray,"
               "crop=w=128:h=96:x='32+round(3*sin(n*0.95))':y='24+round(3*cos(n*1.35))',"
               "tinterlace=mode=interleave_top,setfield=tff,format=yuv420p", "-frames:v", "120",
               "-c:v", "mpeg2video", "-q:v", "2", "-g", "12", "-flags", "+ilme+ildct",
               "-f", "mpegts", str(path))
    return path


@pytest.mark.parametrize("mode", [{"offset": 3}, {"freeze": 79}], ids=["offset", "freeze"])
def test_deinterlaced_stabilized_chunks_equal_the_single_pass(gen_ffmpeg, interlaced_rolling,
                                                              tmp_path, mode):
    """Deinterlacing before stabilization: a chunk whose borders come from frames before it
    reads from the last covered frame and the deinterlacer's 2 frames before that. Chunks
    start on the second frame of each run of uncovered frames. (On this clip the borrowed
    corners are the rotation's flat fill, so starting 2 frames too late would not show: this
    checks the combination, not the order of the two reaches.)"""
    kwargs = {**mode, "deinterlace": True, "stabilize": WIDE}
    plan = settled(gen_ffmpeg, interlaced_rolling, tmp_path / "x.mkv", **kwargs)
    frames = uncovered(plan)
    runs = [u for u in frames if u - 1 in frames]
    assert runs

    def in_runs(n: int, frames: list[int]) -> list[int]:
        return [0, *(u for u in frames if u - 1 in frames and 0 < u < n), n // 2, n]

    one, many, result = single_and_chunked(gen_ffmpeg, interlaced_rolling, tmp_path, in_runs,
                                           **kwargs)
    assert result.chunks >= 3
    assert frames_md5(gen_ffmpeg, many) == frames_md5(gen_ffmpeg, one)


def test_uncovered_borders_need_the_warmup(ffmpeg_bin, clips, tmp_path, monkeypatch):
    """The guard: ``rolling`` has frames whose corners depend on the frame before, and chunks
    starting right at them without the border warm-up would differ from the single pass."""
    plan = settled(ffmpeg_bin, clips["rolling"], tmp_path / "x.mkv", offset=3, stabilize=WIDE)
    frames = uncovered(plan)
    values, geometry = stabilize.load_corrections(plan), stabilize.geometry(plan)
    assert len(values) == 120 and len(frames) >= 2
    assert all(corrections.warmup_start(values, u, geometry) < u for u in frames if u > 0)
    monkeypatch.setattr("ffmotion.graph.chunks.warmup_start", lambda values, first, g: first)
    one, many, _ = single_and_chunked(ffmpeg_bin, clips["rolling"], tmp_path, at_uncovered,
                                      offset=3, stabilize=WIDE)
    assert frames_md5(ffmpeg_bin, many)[0] == frames_md5(ffmpeg_bin, one)[0]
    assert frames_md5(ffmpeg_bin, many) != frames_md5(ffmpeg_bin, one)


def test_stabilized_chunks_on_a_dask_local_cluster(gen_ffmpeg, clips, tmp_path):
    """Real worker processes read the slices beside the output, as remote workers would on
    shared storage."""
    distributed = pytest.importorskip("distributed")
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       dashboard_address=None)
    client = distributed.Client(cluster)
    try:
        one, many, result = single_and_chunked(gen_ffmpeg, clips["rolling"], tmp_path,
                                               at_uncovered, client=client, offset=3,
                                               stabilize=WIDE)
    finally:
        client.close()
        cluster.close()
    assert result.chunks >= 3
    assert frames_md5(gen_ffmpeg, many) == frames_md5(gen_ffmpeg, one)
    assert leftovers(tmp_path) == []


def test_corrections_match_what_vidstab_applies_to_the_single_pass(ffmpeg_bin, clips,
                                                                   tmp_path):
    """ffmotion's camera path (gaussian smoothing, static zoom), applied as absolute
    corrections, gives the frames vidstabtransform gives from the motions on its own."""
    tools = runner.tools(ffmpeg_bin)
    for stab_options in (SMOOTH, TRIPOD):
        plan = stabilize.settle(controller.prepare(api.make_request(
            clips["shaky"], tmp_path / "x.mkv", offset=3, stabilize=stab_options), tools), tools)
        stab = plan.stabilizer
        assert stab is not None and stab.motions is not None and stab.motions.is_file()
        mine = tmp_path / "mine.trf"
        mine.write_text(corrections.text(stabilize.load_corrections(plan)))
        outs = []
        for name, args in (("native", f"input={stab.motions}:" + (
                "tripod=1" if stab.tripod else f"smoothing={stab.options.smoothing}")),
                           ("mine", f"input={mine}:relative=0:smoothing=0:optzoom=0")):
            out = tmp_path / f"{name}.mkv"
            run_ffmpeg(ffmpeg_bin, "-i", str(clips["shaky"]), "-vf",
                       f"vidstabtransform={args}:optalgo=gauss", "-c:v", "ffv1", str(out))
            outs.append(frames_md5(ffmpeg_bin, out))
        assert outs[0] == outs[1] and outs[0][0] == 72


def test_camera_path_by_hand():
    """Three motions, smoothing 1: kernel exp(-(i-1)^2 / 0.25) = (e^-4, 1, e^-4)."""
    motions = [(0.0, 0.0, 0.0, 0.0), (2.0, 0.0, 0.0, 0.0), (2.0, 4.0, 0.0, 0.0)]
    w = math.exp(-4.0)
    path = corrections.camera_path(motions, 1, 100, 100)
    absolute = [(0.0, 0.0), (2.0, 0.0), (4.0, 4.0)]
    for i, (x, y) in enumerate(absolute):
        window = [(j, 1.0 if j == i else w) for j in (i - 1, i, i + 1) if 0 <= j < 3]
        total = sum(weight for _, weight in window)
        ax = sum(absolute[j][0] * weight for j, weight in window) / total
        ay = sum(absolute[j][1] * weight for j, weight in window) / total
        assert path[i][0] == pytest.approx(x - ax) and path[i][1] == pytest.approx(y - ay)
    # static zoom: the largest |x| or |y| (no 1 % cut below 100 frames) over half the size
    biggest = max(max(abs(t[0]) for t in path) / 100, max(abs(t[1]) for t in path) / 100)
    assert all(t[3] == pytest.approx(100 * 2 * biggest) for t in path)
    assert corrections.parse_motions("# c\n0 1.5 -2 0.25 0.5 0\n\n1 1 2 3 0\n") == [
        (1.5, -2.0, 0.25, 0.0), (1.0, 2.0, 3.0, 0.0)]
    with pytest.raises(ValueError):
        corrections.parse_motions("0 nan 1 2 0 0\n")


def test_coverage_by_hand():
    g = corrections.Geometry(100, 80, 3, (1, 1))
    assert corrections.covered((0.0, 0.0, 0.0, 0.0), g)
    # shifted by 9.5 px: the border pixels are repeated outwards (up to 10 px), nothing kept
    assert corrections.covered((9.5, 0.0, 0.0, 0.0), g)
    assert not corrections.covered((10.5, 0.0, 0.0, 0.0), g)  # past it: the previous frame
    assert not corrections.covered((0.0, -11.0, 0.0, 0.0), g)  # the far edge: 1 px more
    assert corrections.covered((14.0, 0.0, 0.0, 10.0), g)  # zoomed in 10 %: 5 px more
    assert not corrections.covered((16.0, 0.0, 0.0, 10.0), g)
    values = [(0.0, 0.0, 0.0, 0.0), (19.0, 0, 0, 0), (11.0, 0, 0, 20.0), (19.0, 0, 0, 0),
              (19.0, 0, 0, 0)]
    assert corrections.warmup_start(values, 4, g) == 2
    assert corrections.warmup_start(values, 1, g) == 0


def test_print_command_writes_the_slices_and_runs_as_printed(ffmpeg_bin, clips, tmp_path):
    out = tmp_path / "printed.mkv"
    argv = [sys.executable, "-m", "ffmotion", str(clips["rolling"]), str(out), "-k", "3",
            "--lossless", "--stabilize", "--stabilize-smoothing", "30", "--chunks", "3", "-j",
            "2", "--ffmpeg", ffmpeg_bin]
    done = subprocess.run([*argv, "--print-command"], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    line = done.stdout.strip()
    assert line.count(".trf") >= 6 and "relative=0" in line and "-f concat" in line
    assert not out.exists()
    subprocess.run(["bash", "-c", line], check=True, capture_output=True, timeout=300)
    single = tmp_path / "single.mkv"
    argv[4] = str(single)
    done = subprocess.run(argv[:11] + ["--ffmpeg", ffmpeg_bin], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    assert frames_md5(ffmpeg_bin, out) == frames_md5(ffmpeg_bin, single)
    assert leftovers(tmp_path) == []


def test_deshake_chunks_are_refused_in_one_line(clips, tmp_path, monkeypatch, gen_ffmpeg):
    real = runner.filters
    monkeypatch.setattr(runner, "filters",
                        lambda ffmpeg: real(ffmpeg) - graph_extras.VIDSTAB_FILTERS)
    tools = runner.tools(gen_ffmpeg)
    plan = controller.prepare(api.make_request(clips["shaky"], tmp_path / "o.mkv", offset=3,
                                        stabilize=SMOOTH), tools)
    with pytest.raises(UsageError, match="chunks with deshake"):  # the field (the CLI: --chunks)
        chunking.run_chunked(plan, tools, 3, jobs=2)
    assert not (tmp_path / "o.mkv").exists()


def test_odd_output_names_and_folders(gen_ffmpeg, clips, tmp_path, private_cache):
    """A newline in the output's name: the slices and segments have safe names of their own.
    A folder ffmpeg filters cannot name (',' '[' ']'): one line, before any analysis runs."""
    odd = tmp_path / "new\nline.mkv"
    argv = [sys.executable, "-m", "ffmotion", str(clips["shaky"]), str(odd), "-k", "3",
            "--lossless", "--stabilize", "--stabilize-smoothing", "10", "--chunks", "3", "-j",
            "2", "--ffmpeg", gen_ffmpeg, "-q"]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    single = tmp_path / "single.mkv"
    one = settled(gen_ffmpeg, clips["shaky"], single, offset=3, stabilize=SMOOTH)
    controller.run(one, runner.tools(gen_ffmpeg))
    assert frames_md5(gen_ffmpeg, odd) == frames_md5(gen_ffmpeg, single)
    assert leftovers(tmp_path) == []
    folder = tmp_path / "takes,1[a]"
    folder.mkdir()
    fresh = tmp_path / "fresh cache"
    done = subprocess.run([*argv[:4], str(folder / "o.mkv"), *argv[5:]], capture_output=True,
                          text=True, timeout=300, env={**os.environ, "FFMOTION_CACHE": str(fresh)})
    assert done.returncode == 2 and "for the output" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr
    assert os.listdir(folder) == [] and not fresh.exists()
