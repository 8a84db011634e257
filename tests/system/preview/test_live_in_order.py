"""The live page draws every frame in order when it is held up for a moment (a busy
machine), instead of only the newest: the frames that arrived meanwhile are caught up."""
from __future__ import annotations

import json
import urllib.request

from test_live_preview import live, live_page  # noqa: F401 (the fixture)


def relayed(url: str) -> int:
    base, token = url.split("/?t=")
    with urllib.request.urlopen(f"{base}/state?t={token}", timeout=10) as answer:
        return int(json.load(answer)["relayed"])


def test_a_page_held_up_catches_up_on_every_frame(live):  # noqa: F811
    _, url = live
    with live_page(url) as page:
        page.wait_for_function("window.framesShown > 10", timeout=20000)
        drawn, sent = page.evaluate("window.framesShown"), relayed(url)
        # the page's main thread busy for 200 ms (6 frames at 30 fps): the stream's parts
        # pile up and are taken together once it is free
        page.evaluate("() => { const t = performance.now(); while (performance.now() - t"
                      " < 200) {} }")
        page.wait_for_timeout(1000)
        drawn_after, sent_after = page.evaluate("window.framesShown"), relayed(url)
        # every frame relayed meanwhile drawn, within the one or two in flight at the ends
        assert drawn_after - drawn >= sent_after - sent - 2, (
            drawn_after - drawn, sent_after - sent)
