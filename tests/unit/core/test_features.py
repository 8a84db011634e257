"""core/features: the listings ffmpeg prints, parsed (ffmpeg 5.1's and 9.0's shapes), and
what a build has or lacks. Pure: the texts are pasted here."""
from __future__ import annotations

from ffmotion.core import features
from ffmotion.graph import encode

DEVICES = """Devices:
 D. = Demuxing supported
 .E = Muxing supported
 ---
 DE alsa            ALSA audio output
  E caca            caca (color ASCII art) output device
 D  lavfi           Libavfilter virtual input device
 DE video4linux2,v4l2 Video4Linux2 output device
  E xv              XV (XVideo) output device
"""

PROTOCOLS = """Supported file protocols:
Input:
  file
  http
  srt
Output:
  file
  rtmp
"""

HWACCELS = """Hardware acceleration methods:
vaapi
opencl

"""

# ffmpeg 9.0 prints one flag per line; a line may hold two
BUILDCONF = """
  configuration:
    --prefix=/ffbuild/prefix
    --pkg-config=pkg-config --cross-prefix=x86_64-ffbuild-linux-gnu-
    --enable-gpl
    --extra-libs='-lgomp -ldl'
    --enable-libvidstab
"""

VERSION = """ffmpeg version 5.1.6-0+deb12u1 Copyright (c) 2000-2024 the FFmpeg developers
built with gcc 12 (Debian 12.2.0-14)
"""


def test_devices_rows_below_the_rule_each_alias_a_name() -> None:
    assert features.devices(DEVICES) == {"alsa", "caca", "lavfi", "video4linux2", "v4l2", "xv"}


def test_protocols_input_and_output() -> None:
    assert features.protocols(PROTOCOLS) == {"file", "http", "srt", "rtmp"}


def test_hwaccels_without_the_heading() -> None:
    assert features.hwaccels(HWACCELS) == {"vaapi", "opencl"}


def test_buildconf_one_flag_per_item() -> None:
    assert features.buildconf(BUILDCONF) == (
        "--prefix=/ffbuild/prefix", "--pkg-config=pkg-config",
        "--cross-prefix=x86_64-ffbuild-linux-gnu-", "--enable-gpl",
        "--extra-libs='-lgomp -ldl'", "--enable-libvidstab")


def test_version_line() -> None:
    assert features.version_line(VERSION) == VERSION.splitlines()[0]
    assert features.version_line("not an ffmpeg") is None
    assert features.version_line("") is None


def listings(**kw: frozenset[str]) -> features.Listings:
    empty: frozenset[str] = frozenset()
    base = dict(filters=empty, encoders=empty, protocols=empty, devices=empty, hwaccels=empty)
    base.update(kw)
    return features.Listings(buildconf=(), **base)


def by_key(statuses: list[features.Status]) -> dict[str, features.Status]:
    return {s.feature.key: s for s in statuses}


def test_an_empty_build_lacks_everything_and_the_motion_graph_is_essential() -> None:
    found = by_key(features.assess(listings()))
    assert len(found) == len(features.FEATURES) and not any(s.present for s in found.values())
    assert [k for k, s in found.items() if s.feature.essential] == ["motion graph"]
    for status in found.values():  # every missing piece says what to do
        assert status.to_json()["todo"] == status.feature.missing != ""


def test_all_of_needs_every_name_any_of_needs_one() -> None:
    half = by_key(features.assess(listings(filters=frozenset({"vidstabdetect", "yadif"}))))
    assert not half["vid.stab"].present and half["vid.stab"].found == ("vidstabdetect",)
    assert half["deinterlace"].present and half["deinterlace"].found == ("yadif",)
    both = by_key(features.assess(listings(
        filters=frozenset({"vidstabdetect", "vidstabtransform"}),
        devices=frozenset({"v4l2"}), hwaccels=frozenset({"vulkan"}),
        protocols=frozenset({"srt"}), encoders=frozenset({"libx264"}))))
    for key in ("vid.stab", "v4l2", "Vulkan", "SRT", "encoder libx264"):
        assert both[key].present, key
        assert both[key].to_json()["todo"] is None
    assert not both["OpenCL"].present and not both["encoder libx265"].present


def test_the_issue_s_features_are_all_there() -> None:
    keys = {f.key for f in features.FEATURES}
    assert {"vid.stab", "zmq", "OpenCL", "Vulkan", "libplacebo", "SRT", "v4l2"} <= keys


def test_every_encoder_the_planner_names_is_checked() -> None:
    """The default video encoder of each container, and its default audio encoder (PCM
    and raw formats aside: every build has them)."""
    checked = {name for f in features.FEATURES if f.kind == "encoder" for name in f.names}
    named = {c.video["c:v"] for c in encode.CONTAINERS.values() if "c:v" in c.video}
    named |= {c.audio_codec for c in encode.CONTAINERS.values()
              if c.audio_codec and not c.audio_codec.startswith("pcm_")}
    named |= {"ffv1", "png", "gif", "apng", "libwebp_anim"}  # --lossless, maps, animations
    assert named - checked == set()
