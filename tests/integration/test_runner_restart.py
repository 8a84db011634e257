"""A steered live job's restart asks a running ffmpeg to make way (runner.Stopper): asked
before that ffmpeg has set its signal handlers (two restarts back to back), the SIGINT kills
it outright; that is still a restart, not an interruption of the whole job."""
from __future__ import annotations

from ffmotion.run import runner

from helpers import bundled_ffmpeg


def test_a_restart_asked_before_ffmpeg_started_is_a_restart() -> None:
    argv = [bundled_ffmpeg(), "-hide_banner", "-nostdin", "-re", "-f", "lavfi", "-i",
            "testsrc2=size=64x48:rate=30", "-f", "mpegts", "-y", "/dev/null"]
    for _ in range(5):  # the kill lands before or after the handlers: both are restarts
        stopper = runner.Stopper()
        stopper.stop()  # the next restart came while this run was being started
        ran = runner.run_ffmpeg(argv, stoppable=True, stopper=stopper)
        assert ran.stopped == "restart"
