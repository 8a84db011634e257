"""YUV4MPEG framing of the held output (run.held): how big a frame is, from its header."""
from __future__ import annotations

from fractions import Fraction

import pytest

from ffmotion.core.errors import FFmpegFailed
from ffmotion.run.held import frame_bytes


@pytest.mark.parametrize("header, size, rate", [
    (b"YUV4MPEG2 W1280 H720 F30:1 Ip A1:1 C420jpeg XYSCSS=420JPEG\n", 1280 * 720 * 3 // 2, 30),
    (b"YUV4MPEG2 W63 H47 F30000:1001 Ip A1:1 C420mpeg2\n", 63 * 47 + 2 * 32 * 24,
     Fraction(30000, 1001)),
    (b"YUV4MPEG2 W64 H48 F25:1 Ip A0:0 C422p10 XYSCSS=422P10\n", (64 * 48 + 2 * 32 * 48) * 2, 25),
    (b"YUV4MPEG2 W64 H48 F25:1 Ip A0:0 C444\n", 64 * 48 * 3, 25),
    (b"YUV4MPEG2 W64 H48 F25:1 Ip A0:0 Cmono\n", 64 * 48, 25),
    (b"YUV4MPEG2 W64 H48 F25:1 Ip A0:0 Cmono16\n", 64 * 48 * 2, 25),
])
def test_frame_size_and_rate_from_the_header(header, size, rate):
    assert frame_bytes(header) == (size, rate)


@pytest.mark.parametrize("header", [b"RIFF....", b"YUV4MPEG2 W0 H48 F25:1\n",
                                    b"YUV4MPEG2 W64 H48 F25:1 Cnv12\n"])
def test_what_is_not_a_readable_stream_is_an_error(header):
    with pytest.raises(FFmpegFailed):
        frame_bytes(header)
