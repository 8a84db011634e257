"""The live page's feed (``Plan.beside``): input frame i left of output frame i, in one graph,
exact against the independent reference on both sides."""
from __future__ import annotations

import subprocess
from dataclasses import replace

from ffmotion.graph.command import command
from ffmotion.pipeline import resolve
from ffmotion.pipeline.controller import prepare
from ffmotion.run import runner

import reference
from helpers import SIZE, assert_frames_equal, bundled_ffmpeg, decode

K = 2


def test_original_left_of_the_motion_frame_for_frame(tmp_path):
    ffmpeg = bundled_ffmpeg()
    src = tmp_path / "camera.mkv"
    subprocess.run([ffmpeg, "-v", "error", "-f", "lavfi", "-i",
                    f"testsrc2=size={SIZE[0]}x{SIZE[1]}:rate=30,format=yuv420p", "-frames:v",
                    "30", "-c:v", "ffv1", str(src)], check=True, timeout=60)
    dst = tmp_path / "pair.y4m"
    tools = runner.Tools(ffmpeg=ffmpeg, source="test", version="", ffprobe=None)
    plan = prepare(resolve.request(str(src), str(dst), str(K)), tools)
    subprocess.run(command(replace(plan, beside=True), ffmpeg), check=True, timeout=60)
    pairs = decode(ffmpeg, dst, "yuv420p", (2 * SIZE[0], SIZE[1]))
    left = [tuple(p[:, : p.shape[1] // 2] for p in frame) for frame in pairs]
    right = [tuple(p[:, p.shape[1] // 2:] for p in frame) for frame in pairs]
    camera = decode(ffmpeg, src, "yuv420p", SIZE)
    assert_frames_equal(left, camera[: 30 - K])
    assert_frames_equal(right, list(reference.reference(ffmpeg, src, K, "offset", "yuv420p",
                                                        *SIZE)))
    # without it, the motion alone (the option is not ignored)
    plain = tmp_path / "plain.y4m"
    subprocess.run(command(plan, ffmpeg, plain), check=True, timeout=60)
    assert_frames_equal(decode(ffmpeg, plain, "yuv420p", SIZE), right)
