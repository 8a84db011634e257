"""``ffmotion preview``: a local web page to choose the offset and the look by scrubbing.

:mod:`.frames` (pure: which proxy frames feed which graph, and the argv), :mod:`.session`
(one input: proxy, exact frames, energy, renders), :mod:`.server` (HTTP, token, routes) and
``static/`` (the page: plain HTML/JS/CSS, no build step).
"""
