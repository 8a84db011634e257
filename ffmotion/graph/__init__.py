"""The graph: every filter name and argument lives here (pure: no I/O, no subprocess).

:mod:`.motion` holds the motion graph and the plan; the package re-exports it, so ``graph.plan(...)`` reads as before."""
from ffmotion.graph.motion import *  # noqa: F401,F403
