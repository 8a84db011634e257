"""Stop signals: SIGTERM, SIGHUP (a closed terminal, a dropped ssh session), SIGQUIT and
SIGINT all stop ffmotion the same way.

The first one raises ``KeyboardInterrupt`` in the main thread, which kills the running
ffmpeg and removes the temporary files on its way out (exit 130). Signals arriving after
it are ignored: raising again in the middle of that clean-up would print a traceback and
could leave a temporary file behind. (Children are killed with SIGKILL, so they need no
signal of their own.)
"""
from __future__ import annotations

import signal
from typing import Optional

_NAMES = ("SIGTERM", "SIGHUP", "SIGQUIT", "SIGINT")
_received: list[int] = []


def install() -> None:
    """Handle the stop signals (call from the main thread, once per command)."""
    _received.clear()
    for name in _NAMES:
        number = getattr(signal, name, None)
        if number is not None:
            signal.signal(number, _handler)


def _handler(signum: int, frame: object) -> None:
    first = not _received
    _received.append(signum)
    if first:
        # ignored from now on, also during interpreter shutdown (which would restore the
        # default action and let a second SIGTERM kill us with -15 instead of exit 130)
        for name in _NAMES:
            number = getattr(signal, name, None)
            if number is not None:
                signal.signal(number, signal.SIG_IGN)
        raise KeyboardInterrupt


def received() -> Optional[str]:
    """The name of the first stop signal received (``SIGTERM``...), or None."""
    if not _received:
        return None
    try:
        return signal.Signals(_received[0]).name
    except ValueError:
        return str(_received[0])
